// Gang failure policy: a Job's spec.failurePolicy mapped onto its batch Job, and what to do when a generation fails.
// One batch Job is one generation of the gang. Its backoffLimit is 0, so the first counted rank failure fails the
// whole generation (kube's Job controller then terminates the other ranks) and the controller replaces the batch Job
// under the same name: torchrun's elastic agent needs every rank to rejoin, and the same name keeps the pods'
// hostnames (<job>-<index>.<job>) and so MASTER_ADDR. Disruptions are the batch Job's own business: its
// podFailurePolicy ignores a pod with DisruptionTarget, so kube replaces that one pod without counting it.
import type { V1Job, V1Pod, V1PodFailurePolicy } from '@kubernetes/client-node';
import type { GangFailurePolicy } from '../api/v1alpha1/types.js';

/** The restart count a batch Job was created at: a batch Job older than status.restarts is being replaced. */
export const gangGenerationAnnotation = 'ai.example.io/gang-generation';

/** kube's batch/v1 podFailurePolicy for the gang's batch Job. */
export function podFailurePolicy(policy: GangFailurePolicy): V1PodFailurePolicy {
  // kube requires onExitCodes values ordered and without repeats.
  const permanent = [...new Set(policy.permanentExitCodes ?? [])].sort((a, b) => a - b);
  return {
    rules: [
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ...(permanent.length > 0 ? [{ action: 'FailJob', onExitCodes: { operator: 'In', values: permanent } }] : []),
    ],
  };
}

export function gangGeneration(batch: V1Job): number {
  const value = Number(batch.metadata?.annotations?.[gangGenerationAnnotation] ?? '0');
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/** The failed rank of a generation, from its pods: "rank 1 (pod train-1-x7k2p) exited with code 3". */
export function failedRank(pods: V1Pod[]): string | undefined {
  const failed = pods.find((p) => p.status?.phase === 'Failed' && !p.status.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True'));
  if (!failed) return undefined;
  const rank = failed.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] ?? '?';
  const exited = failed.status?.containerStatuses?.find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0)?.state?.terminated;
  return `rank ${rank} (pod ${failed.metadata?.name ?? ''}) ${exited ? `exited with code ${exited.exitCode}` : `failed: ${failed.status?.reason ?? failed.status?.message ?? 'no exit code'}`}`;
}

export type GangOutcome = { action: 'restart'; reason: string; message: string } | { action: 'fail'; reason: string; message: string };

/**
 * What a failed generation leads to. A counted rank failure (the batch Job's BackoffLimitExceeded) restarts the gang
 * while restarts are left; a permanent exit code (PodFailurePolicy, from the FailJob rule), the deadline and anything
 * else fail the job with the batch Job's own reason and message.
 */
export function gangOutcome(policy: GangFailurePolicy, restarts: number, failed: { reason?: string; message?: string }, rank: string | undefined): GangOutcome {
  const why = rank ?? failed.message ?? 'a rank failed';
  if (failed.reason !== 'BackoffLimitExceeded') return { action: 'fail', reason: failed.reason ?? 'Failed', message: failed.message ?? 'the job failed' };
  const max = policy.maxRestarts ?? 0;
  if (restarts < max) return { action: 'restart', reason: 'RankFailed', message: `gang restart ${restarts + 1} of ${max}: ${why}` };
  return { action: 'fail', reason: 'MaxRestartsReached', message: `${why}; no gang restart left (maxRestarts ${max})` };
}
