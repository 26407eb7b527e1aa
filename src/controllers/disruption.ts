// Disruptions: a job that lost ranks through no fault of its own. Either kube took a pod (the pod's DisruptionTarget
// condition: preemption by the scheduler, the Eviction API, a node's taint, the kubelet) and the batch Job starts it
// again, or Kueue evicted the whole Workload (preempted by a higher priority one, for instance) and the job waits in its
// queue to be admitted again. The job's Disrupted condition says which, and stays True until every worker runs again.
import type { V1Pod } from '@kubernetes/client-node';
import type { Condition } from '../api/v1alpha1/types.js';
import type { WorkloadCondition } from './runtime/kueue-workloads.js';

export interface Disruption {
  reason: string;
  message: string;
}

const indexAnnotation = 'batch.kubernetes.io/job-completion-index';

function disruptionTarget(pod: V1Pod): { reason?: string; message?: string } | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
}

/**
 * What disrupts the job now: Kueue's eviction of its Workload (not a deactivation the user asked for with
 * spec.suspend), or a rank of the current batch Job taken by kube whose index has no running pod yet.
 */
export function currentDisruption(ranks: V1Pod[], evicted: WorkloadCondition | undefined, suspended: boolean, gang: boolean): Disruption | undefined {
  if (evicted?.status === 'True' && !(suspended && evicted.reason === 'Deactivated')) {
    return {
      reason: evicted.reason ?? 'Evicted',
      message: `Kueue evicted the job: ${evicted.message ?? evicted.reason ?? 'no reason given'}; it runs again once its queue admits it`,
    };
  }
  const running = new Set(ranks.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp).map((p) => p.metadata?.annotations?.[indexAnnotation]));
  const victim = ranks.find((p) => disruptionTarget(p) !== undefined && !running.has(p.metadata?.annotations?.[indexAnnotation]));
  if (!victim) return undefined;
  const target = disruptionTarget(victim)!;
  const rank = victim.metadata?.annotations?.[indexAnnotation] ?? '?';
  const reason = target.reason ?? 'DisruptionTarget';
  const counted = gang ? 'without counting against failurePolicy.maxRestarts' : 'counted against runPolicy.backoffLimit';
  return {
    reason,
    message: `rank ${rank} (pod ${victim.metadata?.name ?? ''}) was disrupted: ${reason}${target.message ? `: ${target.message}` : ''}; the batch Job starts it again, ${counted}`,
  };
}

/**
 * The Disrupted condition to write: True with the disruption while there is one; once there is none, True still
 * (the ranks are restarting) until every worker runs, then False with reason Recovered. Undefined: nothing to write.
 */
export function disruptedCondition(previous: Condition | undefined, now: Disruption | undefined, allRunning: boolean): { status: 'True' | 'False'; reason: string; message: string } | undefined {
  if (now) return { status: 'True', ...now };
  if (previous?.status !== 'True' || !allRunning) return undefined;
  return { status: 'False', reason: 'Recovered', message: `every worker runs again after: ${previous.message}` };
}
