// `kubectl ai status`: what a user wants to see at a glance of their namespace (or, with -A, of every namespace
// they may list): jobs with phase, replicas, where they stand in Kueue and how far training is; notebooks with
// their state and how long they have been idle.
import { humanDuration } from '../../api/meta/printers.js';
import type { Condition, Job, Notebook } from '../../api/v1alpha1/types.js';
import { Transport } from '../../kube/transport.js';
import type { UserKubeConfig } from '../kubeconfig.js';
import { collectionPath } from '../paths.js';
import { table } from '../table.js';

interface List<T> {
  items: T[];
}

const condition = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((c) => c.type === type);
const age = (timestamp: string | undefined, now: number): string => (timestamp ? humanDuration(now - Date.parse(timestamp)) : '<unknown>');

/** Ready/requested workers, and the elastic bounds when there are some: `2/4 (2-8)`. */
export function replicasCell(job: Job): string {
  const cell = `${job.status?.replicas ?? 0}/${job.spec?.replicas ?? 0}`;
  const elastic = job.spec?.elastic;
  return elastic ? `${cell} (${elastic.minReplicas}-${elastic.maxReplicas})` : cell;
}

/** Where the job stands in Kueue, from the controller's Queued and Admitted conditions; `-` for a job in no queue. */
export function queueCell(job: Job): string {
  const conditions = job.status?.conditions;
  const admitted = condition(conditions, 'Admitted');
  const queued = condition(conditions, 'Queued');
  if (admitted?.status === 'True') return 'Admitted';
  if (queued?.status === 'True') {
    // Taken back by Kueue (preempted, evicted) and waiting again: both reasons matter.
    return admitted && admitted.reason !== queued.reason ? `Queued: ${queued.reason} (${admitted.reason})` : `Queued: ${queued.reason}`;
  }
  return queued?.reason ?? '-';
}

/** status.progress: `120/1000 12%`, with the epoch when the trainer reports one. */
export function progressCell(job: Job): string {
  const progress = job.status?.progress;
  if (progress?.step === undefined) return '-';
  let cell = progress.totalSteps ? `${progress.step}/${progress.totalSteps} ${Math.floor((100 * progress.step) / progress.totalSteps)}%` : String(progress.step);
  if (progress.epoch !== undefined) cell += progress.totalEpochs ? ` epoch ${progress.epoch}/${progress.totalEpochs}` : ` epoch ${progress.epoch}`;
  return cell;
}

/** Time left as the server's ETA column counts it: the trainer's estimate, less the time since it was reported. */
export function etaCell(job: Job, now: number): string {
  const progress = job.status?.progress;
  const phase = job.status?.phase;
  if (progress?.estimatedRemainingSeconds === undefined || phase === 'Succeeded' || phase === 'Failed') return '-';
  const since = progress.lastUpdateTime ? Math.max(0, now - Date.parse(progress.lastUpdateTime)) : 0;
  return humanDuration(Math.max(0, progress.estimatedRemainingSeconds * 1000 - (Number.isNaN(since) ? 0 : since)));
}

/** The notebook's phase, and why it stopped when idle culling stopped it. */
export function stateCell(notebook: Notebook): string {
  const phase = notebook.status?.phase ?? 'Unknown';
  return condition(notebook.status?.conditions, 'Culled')?.status === 'True' ? `${phase} (culled)` : phase;
}

/** How long since the notebook's last activity, and after how long idle culling stops it: `12m of 1h`. */
export function idleCell(notebook: Notebook, now: number): string {
  const last = notebook.status?.lastActivityTime;
  if (!last || notebook.status?.phase !== 'Running') return '-';
  const idle = humanDuration(now - Date.parse(last));
  const timeout = notebook.spec?.idle?.timeoutSeconds;
  return timeout === undefined ? idle : `${idle} of ${humanDuration(timeout * 1000)}`;
}

export async function status({ kubeConfig, namespace }: UserKubeConfig, allNamespaces: boolean): Promise<string> {
  const transport = new Transport(kubeConfig);
  const scope = allNamespaces ? undefined : namespace;
  // One after the other: a refusal is then always the first list's, as `kubectl get aijob,nb` reports it.
  const jobs = await transport.json<List<Job>>({ method: 'GET', path: collectionPath('jobs', scope) });
  const notebooks = await transport.json<List<Notebook>>({ method: 'GET', path: collectionPath('notebooks', scope) });
  const now = Date.now();
  const where = (cells: string[], object: Job | Notebook): string[] => (allNamespaces ? [object.metadata?.namespace ?? '', ...cells] : cells);
  const headers = (cells: string[]): string[] => (allNamespaces ? ['NAMESPACE', ...cells] : cells);
  const none = (kind: string): string => (allNamespaces ? `No ${kind} found.\n` : `No ${kind} found in ${namespace} namespace.\n`);
  const sections = [
    jobs.items.length === 0
      ? none('jobs')
      : table(
          headers(['JOB', 'PHASE', 'REPLICAS', 'QUEUE', 'PROGRESS', 'ETA', 'AGE']),
          jobs.items.map((job) => where([job.metadata?.name ?? '', job.status?.phase ?? 'Pending', replicasCell(job), queueCell(job), progressCell(job), etaCell(job, now), age(job.metadata?.creationTimestamp, now)], job)),
        ),
    notebooks.items.length === 0
      ? none('notebooks')
      : table(
          headers(['NOTEBOOK', 'STATE', 'IDLE', 'AGE']),
          notebooks.items.map((nb) => where([nb.metadata?.name ?? '', stateCell(nb), idleCell(nb, now), age(nb.metadata?.creationTimestamp, now)], nb)),
        ),
  ];
  return sections.join('\n');
}
