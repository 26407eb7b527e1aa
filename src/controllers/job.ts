// Job → headless Service <name> and an Indexed batch Job <name> (completions = parallelism = replicas, pods with
// subdomain <name>, so rank 0 is <name>-0.<name>), with the env torchrun and PyTorch expect. Elastic jobs move
// replicas within min..max by changing parallelism and completions together. Status says what runs and, when
// nothing does, why. A job labelled with a Kueue queue name queues through its batch Job, as Kueue's own wrapper
// kinds do: the batch Job is created suspended with the label, and from then on Kueue owns its suspend, size and pod
// template (admission unsuspends it, resizes it for a partial admission and adds the flavor's node selector and
// tolerations; eviction reverses that), so the controller writes it only to create it and reads the rest from the
// Workload.
import type { V1EnvVar, V1Job, V1Pod } from '@kubernetes/client-node';
import { ApiError } from '../api/meta/errors.js';
import { toMetaTime } from '../api/meta/time.js';
import type { Job, JobSpec, JobStatus } from '../api/v1alpha1/types.js';
import type { Informer } from '../registry/informer.js';
import type { Store } from '../registry/store.js';
import type { ReconcileResult, Reconciler } from './runtime/controller.js';
import type { KubeChildren } from './runtime/kube-children.js';
import { completionsEqualParallelismAnnotation, minParallelismAnnotation, priorityClassLabel, queueNameLabel, workloadCondition, type KueueWorkloads } from './runtime/kueue-workloads.js';
import { asStored, childLabels, quotaRecheckMs, datasetsNotReady, datasetVolumes, ownerReference, removeCondition, reportChildFailure, setCondition, splitKey, withoutChildFailure, writeStatus } from './common.js';
import { podProblem } from './pod-problems.js';
import { ensureProgressAccess } from './progress-rbac.js';
import { currentDisruption, disruptedCondition } from './disruption.js';
import { failedRank, gangGeneration, gangGenerationAnnotation, gangOutcome, podFailurePolicy } from './gang.js';

export const masterPort = 23456;
const completionIndex = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

/** The env every worker gets: rank from the completion index, rendezvous at rank 0 through the headless Service. */
export function workerEnv(name: string, spec: JobSpec, replicas: number): V1EnvVar[] {
  const rank: V1EnvVar['valueFrom'] = { fieldRef: { fieldPath: completionIndex } };
  const master = `${name}-0.${name}`;
  const env: V1EnvVar[] = [
    { name: 'MASTER_ADDR', value: master },
    { name: 'MASTER_PORT', value: String(masterPort) },
    { name: 'WORLD_SIZE', value: String(replicas) },
    { name: 'RANK', valueFrom: rank },
  ];
  if ((spec.framework ?? 'pytorch') === 'pytorch') {
    env.push(
      { name: 'PET_NNODES', value: spec.elastic ? `${spec.elastic.minReplicas}:${spec.elastic.maxReplicas}` : String(replicas) },
      { name: 'PET_NPROC_PER_NODE', value: String(spec.nprocPerNode ?? 1) },
      { name: 'PET_NODE_RANK', valueFrom: rank },
      { name: 'PET_MASTER_ADDR', value: master },
      { name: 'PET_MASTER_PORT', value: String(masterPort) },
      { name: 'PET_RDZV_ENDPOINT', value: `${master}:${masterPort}` },
      { name: 'PET_RDZV_BACKEND', value: 'c10d' },
      { name: 'PET_RDZV_ID', value: name },
    );
  }
  return env;
}

export class JobReconciler implements Reconciler {
  readonly name = 'job';

  constructor(
    private readonly jobs: Store,
    private readonly cached: Informer,
    private readonly datasets: Informer,
    private readonly children: KubeChildren,
    private readonly workloads: KueueWorkloads,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = splitKey(key);
    const job = asStored<Job>(this.cached.get(namespace, name));
    if (!job || job.metadata.deletionTimestamp) return;
    const spec = job.spec;
    const generation = job.metadata.generation;
    const ttl = spec.runPolicy?.ttlSecondsAfterFinished;
    const expiresInMs = ttl === undefined ? undefined : ttlLeftMs(job.status, ttl);
    if (expiresInMs !== undefined && expiresInMs <= 0) {
      // As Kubeflow's training operator does: the job goes with its batch Job, which kube's ttl-after-finished
      // controller deletes at the same moment (its pods with it); the Service and RBAC follow by garbage collection.
      await this.jobs.delete(namespace, name, { preconditions: { uid: job.metadata.uid }, propagationPolicy: 'Background' }).catch((error: unknown) => {
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
      });
      return;
    }
    const status: JobStatus = withoutChildFailure(job.status);
    const replicas = spec.replicas ?? spec.elastic?.maxReplicas ?? 1;
    status.replicas = replicas;
    status.selector = `ai.example.io/job=${name}`;
    status.observedGeneration = generation;

    const waiting = datasetsNotReady(this.datasets, namespace, spec.datasets ?? []);
    if (waiting.length > 0) {
      status.phase = 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'WaitingForDataset', status: 'True', reason: 'DatasetNotReady', message: `waiting for dataset(s) ${waiting.join(', ')} to be Ready` }, generation);
      await writeStatus(this.jobs, job, status);
      return;
    }
    status.conditions = removeCondition(status.conditions, 'WaitingForDataset');

    const labels = childLabels(job);
    const owner = [ownerReference(job)];
    await this.children.apply('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels, ownerReferences: owner },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: { 'ai.example.io/job': name },
        ports: [{ name: 'rendezvous', port: masterPort, targetPort: masterPort }],
      },
    });
    // Before any pod runs, so rank 0's first progress report is authorized.
    await ensureProgressAccess(this.children, job);

    const template = spec.template;
    const env = workerEnv(name, spec, replicas);
    const data = datasetVolumes(this.datasets, namespace, spec.datasets ?? []);
    const existing = this.children.get<V1Job>('Job', namespace, name);
    // A finished job whose TTL runs has history only: its batch Job may already be gone, and is not created again.
    if (expiresInMs !== undefined && !existing) return { requeueAfterMs: expiresInMs };
    const gang = spec.failurePolicy;
    const restarts = job.status?.restarts ?? 0;
    if (gang) status.restarts = restarts;
    if (gang && existing) {
      const failedGeneration = existing.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
      let replacing = existing.metadata?.deletionTimestamp !== undefined || gangGeneration(existing) < restarts;
      let restarted: string | undefined;
      if (!replacing && failedGeneration) {
        const ranks = this.children.list<V1Pod>('Pod', namespace, { 'batch.kubernetes.io/controller-uid': existing.metadata?.uid ?? '' });
        const outcome = gangOutcome(gang, restarts, failedGeneration, failedRank(ranks));
        if (outcome.action === 'restart') {
          status.restarts = restarts + 1;
          status.conditions = setCondition(status.conditions, { type: 'GangRestarted', status: 'True', reason: outcome.reason, message: outcome.message }, generation);
          restarted = outcome.message;
          replacing = true;
        }
      }
      if (replacing) {
        status.phase = 'Pending';
        status.active = 0;
        status.conditions = removeCondition(status.conditions, 'Running');
        status.conditions = setCondition(status.conditions, { type: 'Pending', status: 'True', reason: 'GangRestarting', message: `batch Job ${name} is replaced by generation ${status.restarts}: every rank restarts` }, generation);
        // The restart is recorded before the batch Job goes, so a failure in between cannot count it twice or lose it.
        await writeStatus(this.jobs, job, status);
        if (restarted) this.children.event(job, 'Warning', 'GangRestarted', restarted);
        if (existing.metadata?.deletionTimestamp === undefined) await this.children.deleteForeground(existing);
        return;
      }
    }
    // A batch Job's queue is the one it was created with: Kueue refuses to change the label while it runs.
    const queue = existing ? existing.metadata?.labels?.[queueNameLabel] : job.metadata.labels?.[queueNameLabel];
    const podSpec = {
      ...(template.spec ?? { containers: [] }),
      restartPolicy: template.spec?.restartPolicy ?? 'Never',
      subdomain: name,
      containers: (template.spec?.containers ?? []).map((c) => ({
        ...c,
        env: [...(c.env ?? []).filter((e) => !env.some((x) => x.name === e.name)), ...env],
        volumeMounts: [...(c.volumeMounts ?? []), ...data.mounts],
      })),
      volumes: [
        ...(template.spec?.volumes ?? []),
        ...data.volumes,
      ],
    };
    // A finished batch Job is history: its spec can no longer change, so only its status is read.
    const finishedBefore = existing?.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const partial = queue !== undefined && spec.elastic !== undefined && spec.elastic.minReplicas < replicas;
    const wrote = !finishedBefore && !(queue !== undefined && existing) && await this.children.apply('Job', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace,
        labels: queue !== undefined ? { ...labels, ...queueLabels(job.metadata.labels, queue) } : labels,
        ...(partial || gang
          ? {
              annotations: {
                ...(partial ? { [minParallelismAnnotation]: String(spec.elastic!.minReplicas), [completionsEqualParallelismAnnotation]: 'true' } : {}),
                ...(gang ? { [gangGenerationAnnotation]: String(restarts) } : {}),
              },
            }
          : {}),
        ownerReferences: owner,
      },
      spec: {
        completionMode: 'Indexed',
        completions: replicas,
        parallelism: replicas,
        // Kueue's webhook suspends a queued batch Job as it is created; saying so here keeps it true either way.
        suspend: queue !== undefined || (spec.suspend ?? false),
        // Under a gang policy the first counted rank failure ends the generation; restarts are maxRestarts' budget.
        ...(gang ? { backoffLimit: 0, podFailurePolicy: podFailurePolicy(gang) } : spec.runPolicy?.backoffLimit !== undefined ? { backoffLimit: spec.runPolicy.backoffLimit } : {}),
        ...(spec.runPolicy?.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: spec.runPolicy.activeDeadlineSeconds } : {}),
        ...(spec.runPolicy?.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: spec.runPolicy.ttlSecondsAfterFinished } : {}),
        // The pod template of a batch Job is immutable once created, and server-side apply removes fields an
        // apply leaves out: re-apply the template the Job already has.
        template: existing?.spec?.template ?? { metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), ...labels } }, spec: podSpec },
      },
    });
    if (wrote) this.children.event(job, 'Normal', 'Reconciled', `batch Job ${name}: ${replicas} worker(s)${spec.suspend ? ', suspended' : ''}`);

    const batch = this.children.get<V1Job>('Job', namespace, name);
    // A finished batch Job's Workload is history too: it neither waits nor holds quota.
    const done = batch?.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ?? false;
    const workload = queue !== undefined && !done && batch?.metadata?.uid ? this.workloads.forJob(namespace, batch.metadata.uid) : undefined;
    // Kueue unsuspends an admitted batch Job: a queued job is suspended by deactivating its Workload instead.
    if (workload && (workload.spec?.active ?? true) === (spec.suspend ?? false)) await this.workloads.setActive(workload, !spec.suspend);
    const admitted = workloadCondition(workload, 'Admitted')?.status === 'True';
    const admittedCount = admitted ? workload?.status?.admission?.podSetAssignments?.[0]?.count : undefined;
    // What runs: what Kueue admitted, which is fewer than asked for after a partial admission.
    const workers = admittedCount ?? (queue !== undefined && done ? (batch?.spec?.parallelism ?? replicas) : replicas);
    status.replicas = workers;
    if (queue !== undefined && !done) this.queueConditions(status, workload, admitted, replicas, spec.suspend ?? false, generation);
    const bs = batch?.status ?? {};
    status.active = bs.active ?? 0;
    status.succeeded = bs.succeeded ?? 0;
    status.failed = bs.failed ?? 0;
    if (bs.startTime) status.startTime = toMetaTime(bs.startTime);
    if (bs.completionTime) status.completionTime = toMetaTime(bs.completionTime);
    const finished = bs.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const pods = this.children.list<V1Pod>('Pod', namespace, { 'ai.example.io/job': name });
    // A terminating pod is on its way out (a suspended or failed batch Job's): as for kube's active count, not a worker.
    const running = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp).length;
    // A pod kube-apiserver refused for quota never exists: the batch Job's FailedCreate events say why, and are
    // looked at again while pods are missing (nothing else wakes this job when the quota changes).
    const missing = !finished && !spec.suspend && batch !== undefined && (queue === undefined || admitted) && pods.length < workers;
    const refusal = missing ? await this.children.quotaRefusal('Job', namespace, name) : undefined;
    const problem = refusal
      ? { reason: 'QuotaExceeded', message: `${workers - pods.length} of ${workers} worker pod(s) not created: ${refusal}` }
      : pods.map(podProblem).find((p) => p !== undefined);
    const ranks = pods.filter((p) => batch?.metadata?.uid !== undefined && p.metadata?.labels?.['batch.kubernetes.io/controller-uid'] === batch.metadata.uid);
    const disruption = currentDisruption(ranks, workloadCondition(workload, 'Evicted'), spec.suspend ?? false, gang !== undefined);
    const wasDisrupted = status.conditions?.find((c) => c.type === 'Disrupted');
    const disrupted = finished ? undefined : disruptedCondition(wasDisrupted, disruption, running >= workers);
    if (disrupted) status.conditions = setCondition(status.conditions, { type: 'Disrupted', ...disrupted }, generation);
    const newlyDisrupted = disrupted?.status === 'True' && (wasDisrupted?.status !== 'True' || wasDisrupted.reason !== disrupted.reason);
    if (finished?.type === 'Complete') {
      status.phase = 'Succeeded';
      status.conditions = setCondition(status.conditions, { type: 'Succeeded', status: 'True', reason: 'Completed', message: `${status.succeeded} worker(s) completed` }, generation);
    } else if (finished?.type === 'Failed') {
      status.phase = 'Failed';
      const ranks = gang ? this.children.list<V1Pod>('Pod', namespace, { 'batch.kubernetes.io/controller-uid': batch?.metadata?.uid ?? '' }) : [];
      const failure = gang ? gangOutcome(gang, restarts, finished, failedRank(ranks)) : { reason: finished.reason ?? 'Failed', message: finished.message ?? 'the job failed' };
      status.conditions = setCondition(status.conditions, { type: 'Failed', status: 'True', reason: failure.reason, message: failure.message }, generation);
    } else if (spec.suspend) {
      status.phase = 'Suspended';
      status.conditions = setCondition(status.conditions, { type: 'Suspended', status: 'True', reason: 'Suspended', message: 'spec.suspend is true: no workers run' }, generation);
    } else if (running > 0 && !problem && (queue === undefined || admitted)) {
      status.phase = 'Running';
      status.conditions = setCondition(status.conditions, { type: 'Suspended', status: 'False', reason: 'Resumed', message: 'the job is not suspended' }, generation);
      status.conditions = setCondition(status.conditions, { type: 'Running', status: 'True', reason: 'WorkersRunning', message: `${running} of ${workers} worker(s) running` }, generation);
      status.conditions = removeCondition(status.conditions, 'Pending');
    } else {
      status.phase = 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'Suspended', status: 'False', reason: 'Resumed', message: 'the job is not suspended' }, generation);
      const queued = queue !== undefined && !admitted ? workloadCondition(workload, 'QuotaReserved') : undefined;
      const waiting = queue !== undefined && !admitted
        ? { reason: 'Queued', message: queued?.message ?? `waiting in queue ${queue}` }
        : { reason: problem?.reason ?? 'WaitingForWorkers', message: problem?.message ?? 'waiting for worker pods to start' };
      status.conditions = setCondition(status.conditions, { type: 'Pending', status: 'True', ...waiting }, generation);
    }
    if (status.phase !== 'Pending') status.conditions = removeCondition(status.conditions, 'Pending');
    await writeStatus(this.jobs, job, status);
    if (newlyDisrupted) this.children.event(job, 'Warning', disrupted.reason, disrupted.message);
    const expiry = ttl === undefined ? undefined : ttlLeftMs(status, ttl);
    if (expiry !== undefined) return { requeueAfterMs: Math.max(expiry, 0) + 1000 };
    return missing ? { requeueAfterMs: quotaRecheckMs } : undefined;
  }

  /**
   * Queued: True while Kueue has not admitted the job, with the reason and message of the Workload's QuotaReserved
   * (Pending: "couldn't assign flavors …: insufficient unused quota …"). Admitted: True with the ClusterQueue and the
   * workers it admitted; False with the Workload's eviction reason once it is taken back (Deactivated when the job is
   * suspended, Preempted, …).
   */
  private queueConditions(status: JobStatus, workload: ReturnType<KueueWorkloads['forJob']>, admitted: boolean, replicas: number, suspended: boolean, generation: number | undefined): void {
    const reserved = workloadCondition(workload, 'QuotaReserved');
    if (admitted) {
      const admission = workload!.status!.admission;
      const count = admission?.podSetAssignments?.[0]?.count ?? replicas;
      status.conditions = setCondition(status.conditions, { type: 'Queued', status: 'False', reason: 'Admitted', message: `admitted by ClusterQueue ${admission?.clusterQueue ?? ''}` }, generation);
      status.conditions = setCondition(
        status.conditions,
        { type: 'Admitted', status: 'True', reason: 'Admitted', message: `ClusterQueue ${admission?.clusterQueue ?? ''} admitted ${count} of ${replicas} worker(s)` },
        generation,
      );
      return;
    }
    if (suspended) {
      status.conditions = setCondition(status.conditions, { type: 'Queued', status: 'False', reason: 'Deactivated', message: 'spec.suspend is true: the Workload is deactivated and holds no quota' }, generation);
    } else {
      status.conditions = setCondition(
        status.conditions,
        {
          type: 'Queued',
          status: 'True',
          reason: reserved?.reason ?? 'WorkloadPending',
          message: reserved?.message ?? (workload ? 'waiting for Kueue to reserve quota' : 'waiting for Kueue to create the Workload of the batch Job'),
        },
        generation,
      );
    }
    const evicted = workloadCondition(workload, 'Evicted');
    if (status.conditions?.some((c) => c.type === 'Admitted') || evicted?.status === 'True') {
      status.conditions = setCondition(
        status.conditions,
        evicted?.status === 'True'
          ? { type: 'Admitted', status: 'False', reason: evicted.reason ?? 'Evicted', message: evicted.message ?? 'the Workload was evicted' }
          : { type: 'Admitted', status: 'False', reason: reserved?.reason ?? 'Pending', message: reserved?.message ?? 'waiting for Kueue to admit the job' },
        generation,
      );
    }
  }

  failed(key: string, error: unknown): Promise<void> {
    return reportChildFailure(this.jobs, this.cached, key, error);
  }
}

/** The Kueue labels a queued job passes to its batch Job: the queue, and the WorkloadPriorityClass if it names one. */
function queueLabels(labels: Record<string, string> | undefined, queue: string): Record<string, string> {
  const priority = labels?.[priorityClassLabel];
  return { [queueNameLabel]: queue, ...(priority !== undefined ? { [priorityClassLabel]: priority } : {}) };
}

/**
 * Milliseconds until a finished job's ttlSecondsAfterFinished runs out, counted as kube's ttl-after-finished
 * controller counts it: from the completion time, or from when the job failed. Undefined while the job runs.
 */
export function ttlLeftMs(status: JobStatus | undefined, ttl: number, now = Date.now()): number | undefined {
  if (status?.phase !== 'Succeeded' && status?.phase !== 'Failed') return undefined;
  const finished = status.phase === 'Succeeded' ? (status.completionTime ?? status.conditions?.find((c) => c.type === 'Succeeded')?.lastTransitionTime) : status.conditions?.find((c) => c.type === 'Failed')?.lastTransitionTime;
  if (finished === undefined) return undefined;
  return new Date(finished).getTime() + ttl * 1000 - now;
}
