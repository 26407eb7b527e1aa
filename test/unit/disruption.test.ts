// When a job counts as disrupted, and when it has recovered. The pods and Workload conditions are written here as
// kube's Job controller and Kueue write them; test/e2e/gang-restarts and test/e2e/kueue-jobs produce the real ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { Condition } from '../../src/api/v1alpha1/types.js';
import { currentDisruption, disruptedCondition } from '../../src/controllers/disruption.js';

const pod = (index: string, phase: string, disruption?: string): V1Pod => ({
  metadata: { name: `train-${index}-${phase.toLowerCase()}`, annotations: { 'batch.kubernetes.io/job-completion-index': index } },
  status: { phase, conditions: disruption ? [{ type: 'DisruptionTarget', status: 'True', reason: disruption, message: 'Eviction API: evicting' }] : [] },
});

const preempted = { type: 'Evicted', status: 'True', reason: 'Preempted', message: 'Preempted to accommodate a workload (UID: u) due to prioritization in the ClusterQueue' };

describe('currentDisruption', () => {
  it('is an evicted rank whose index has no running pod yet, worded by whether the gang counts it', () => {
    const ranks = [pod('0', 'Running'), pod('1', 'Failed', 'EvictionByEvictionAPI')];
    assert.deepEqual(currentDisruption(ranks, undefined, false, true), {
      reason: 'EvictionByEvictionAPI',
      message: 'rank 1 (pod train-1-failed) was disrupted: EvictionByEvictionAPI: Eviction API: evicting; the batch Job starts it again, without counting against failurePolicy.maxRestarts',
    });
    assert.match(currentDisruption(ranks, undefined, false, false)!.message, /counted against runPolicy\.backoffLimit$/);
  });

  it('is over for a rank once its replacement runs', () => {
    assert.equal(currentDisruption([pod('0', 'Running'), pod('1', 'Failed', 'PreemptionByScheduler'), pod('1', 'Running')], undefined, false, true), undefined);
  });

  it('ignores a rank that failed on its own: that is the gang policy\'s business', () => {
    assert.equal(currentDisruption([pod('0', 'Running'), pod('1', 'Failed')], undefined, false, true), undefined);
  });

  it('is Kueue\'s eviction of the Workload, with Kueue\'s reason and message, before any pod', () => {
    assert.deepEqual(currentDisruption([pod('1', 'Failed', 'EvictionByEvictionAPI')], preempted, false, true), {
      reason: 'Preempted',
      message: `Kueue evicted the job: ${preempted.message}; it runs again once its queue admits it`,
    });
  });

  it('is not the deactivation the user asked for with spec.suspend, but is one the user did not ask for', () => {
    const deactivated = { type: 'Evicted', status: 'True', reason: 'Deactivated', message: 'The workload is deactivated' };
    assert.equal(currentDisruption([], deactivated, true, false), undefined);
    assert.equal(currentDisruption([], deactivated, false, false)?.reason, 'Deactivated');
    assert.equal(currentDisruption([], { ...preempted, status: 'False', reason: 'QuotaReserved' }, false, false), undefined);
  });
});

describe('disruptedCondition', () => {
  const now = { reason: 'Preempted', message: 'Kueue evicted the job: x' };
  const previous = (status: 'True' | 'False'): Condition => ({ type: 'Disrupted', status, reason: 'Preempted', message: 'Kueue evicted the job: x', lastTransitionTime: '2026-11-30T00:00:00Z' });

  it('is True while disrupted, whatever runs', () => {
    assert.deepEqual(disruptedCondition(undefined, now, true), { status: 'True', ...now });
  });

  it('stays True while the ranks restart, and turns False once every worker runs', () => {
    assert.equal(disruptedCondition(previous('True'), undefined, false), undefined);
    assert.deepEqual(disruptedCondition(previous('True'), undefined, true), { status: 'False', reason: 'Recovered', message: 'every worker runs again after: Kueue evicted the job: x' });
  });

  it('is not written for a job never disrupted, nor again once recovered', () => {
    assert.equal(disruptedCondition(undefined, undefined, true), undefined);
    assert.equal(disruptedCondition(previous('False'), undefined, true), undefined);
  });
});
