// Server flags whose rules come from Kubernetes: the leader-election timings are checked as client-go's
// leaderelection package checks its LeaseDuration, RenewDeadline and RetryPeriod.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config.js';

describe('leader-election flags', () => {
  it('default to kube-controller-manager\'s 15s, 10s and 2s', () => {
    assert.deepEqual(parseConfig([]).leaderElection, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });

  it('take Go durations', () => {
    const config = parseConfig(['--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3000ms', '--leader-elect-retry-period=1s']);
    assert.deepEqual(config.leaderElection, { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 });
  });

  for (const [flags, message] of [
    [['--leader-elect-lease-duration=10s'], /lease-duration must be greater than --leader-elect-renew-deadline/],
    [['--leader-elect-renew-deadline=2400ms'], /renew-deadline must be greater than 1.2 × --leader-elect-retry-period/],
    [['--leader-elect-lease-duration=500ms', '--leader-elect-renew-deadline=400ms', '--leader-elect-retry-period=100ms'], /at least 1s/],
  ] as const) {
    it(`refuse ${flags.join(' ')}`, () => {
      assert.throws(() => parseConfig([...flags]), message);
    });
  }
});
