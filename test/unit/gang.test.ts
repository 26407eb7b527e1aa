// The gang failure policy as the batch Job gets it (kube's podFailurePolicy), what a failed generation leads to, and
// when a finished job's TTL runs out. The behaviour of kube's Job controller itself is in test/e2e/gang-restarts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { failedRank, gangGeneration, gangOutcome, podFailurePolicy } from '../../src/controllers/gang.js';
import { ttlLeftMs } from '../../src/controllers/job.js';

const pod = (index: string, phase: string, exitCode: number, disrupted = false): V1Pod => ({
  metadata: { name: `train-${index}-abcde`, annotations: { 'batch.kubernetes.io/job-completion-index': index } },
  status: {
    phase,
    conditions: disrupted ? [{ type: 'DisruptionTarget', status: 'True' }] : [],
    containerStatuses: [{ name: 'trainer', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode } } }],
  },
});

describe('podFailurePolicy', () => {
  it('ignores disruptions, and fails the batch Job on permanent exit codes, ordered and without repeats as kube requires', () => {
    assert.deepEqual(podFailurePolicy({ maxRestarts: 2, permanentExitCodes: [42, 3, 42] }), {
      rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        { action: 'FailJob', onExitCodes: { operator: 'In', values: [3, 42] } },
      ],
    });
  });

  it('has no FailJob rule without permanent exit codes (kube refuses an empty values list)', () => {
    assert.deepEqual(podFailurePolicy({ maxRestarts: 1 }).rules.map((r) => r.action), ['Ignore']);
    assert.deepEqual(podFailurePolicy({ permanentExitCodes: [] }).rules.map((r) => r.action), ['Ignore']);
  });
});

describe('a failed generation', () => {
  it('restarts the gang on a counted rank failure while restarts are left', () => {
    assert.deepEqual(gangOutcome({ maxRestarts: 2 }, 1, { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }, 'rank 1 (pod p) exited with code 1'), {
      action: 'restart',
      reason: 'RankFailed',
      message: 'gang restart 2 of 2: rank 1 (pod p) exited with code 1',
    });
  });

  it('fails the job once restarts are spent, and with maxRestarts 0 at the first failure', () => {
    assert.deepEqual(gangOutcome({ maxRestarts: 2 }, 2, { reason: 'BackoffLimitExceeded' }, 'rank 0 (pod p) exited with code 1'), {
      action: 'fail',
      reason: 'MaxRestartsReached',
      message: 'rank 0 (pod p) exited with code 1; no gang restart left (maxRestarts 2)',
    });
    assert.equal(gangOutcome({}, 0, { reason: 'BackoffLimitExceeded' }, undefined).action, 'fail');
  });

  it('fails at once, with the batch Job\'s reason and message, on a permanent exit code or the deadline', () => {
    for (const failed of [
      { reason: 'PodFailurePolicy', message: 'Container trainer for pod gang/p failed with exit code 42 matching FailJob rule at index 1' },
      { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
    ]) {
      assert.deepEqual(gangOutcome({ maxRestarts: 5 }, 0, failed, 'rank 0'), { action: 'fail', ...failed });
    }
  });

  it('names the failed rank and its exit code, not a disrupted one', () => {
    assert.equal(failedRank([pod('0', 'Failed', 137, true), pod('1', 'Failed', 3), pod('2', 'Running', 0)]), 'rank 1 (pod train-1-abcde) exited with code 3');
    assert.equal(failedRank([pod('0', 'Failed', 137, true)]), undefined);
  });

  it('reads the generation a batch Job was created at', () => {
    assert.equal(gangGeneration({ metadata: { annotations: { 'ai.example.io/gang-generation': '2' } } }), 2);
    assert.equal(gangGeneration({ metadata: {} }), 0);
    assert.equal(gangGeneration({ metadata: { annotations: { 'ai.example.io/gang-generation': 'x' } } }), 0);
  });
});

describe('ttlSecondsAfterFinished', () => {
  const at = Date.parse('2026-01-01T00:00:00Z');
  it('counts from the completion time, or from when the job failed, as kube\'s ttl-after-finished controller does', () => {
    assert.equal(ttlLeftMs({ phase: 'Succeeded', completionTime: '2026-01-01T00:00:00Z' }, 10, at + 4_000), 6_000);
    assert.equal(ttlLeftMs({ phase: 'Failed', conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] }, 10, at + 12_000), -2_000);
  });

  it('does not run while the job runs or is being restarted', () => {
    assert.equal(ttlLeftMs({ phase: 'Running' }, 10, at), undefined);
    assert.equal(ttlLeftMs({ phase: 'Pending' }, 10, at), undefined);
    assert.equal(ttlLeftMs(undefined, 10, at), undefined);
  });
});
