// Job → headless Service <name> and an Indexed batch Job <name> (completions = parallelism = replicas, pods with
// subdomain <name>, so rank 0 is <name>-0.<name>), with the env torchrun and PyTorch expect. Elastic jobs move
// replicas within min..max by changing parallelism and completions together. Status says what runs and, when
// nothing does, why.
import type { V1EnvVar, V1Job, V1Pod } from '@kubernetes/client-node';
import { toMetaTime } from '../api/meta/time.js';
import type { Job, JobSpec, JobStatus } from '../api/v1alpha1/types.js';
import type { Informer } from '../registry/informer.js';
import type { Store } from '../registry/store.js';
import type { ReconcileResult, Reconciler } from './runtime/controller.js';
import type { KubeChildren } from './runtime/kube-children.js';
import { asStored, childLabels, quotaRecheckMs, datasetsNotReady, datasetVolumes, ownerReference, removeCondition, reportChildFailure, setCondition, splitKey, withoutChildFailure, writeStatus } from './common.js';
import { podProblem } from './pod-problems.js';

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
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = splitKey(key);
    const job = asStored<Job>(this.cached.get(namespace, name));
    if (!job || job.metadata.deletionTimestamp) return;
    const spec = job.spec;
    const generation = job.metadata.generation;
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

    const template = spec.template;
    const env = workerEnv(name, spec, replicas);
    const data = datasetVolumes(this.datasets, namespace, spec.datasets ?? []);
    const existing = this.children.get<V1Job>('Job', namespace, name);
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
    const wrote = !finishedBefore && await this.children.apply('Job', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace, labels, ownerReferences: owner },
      spec: {
        completionMode: 'Indexed',
        completions: replicas,
        parallelism: replicas,
        suspend: spec.suspend ?? false,
        ...(spec.runPolicy?.backoffLimit !== undefined ? { backoffLimit: spec.runPolicy.backoffLimit } : {}),
        ...(spec.runPolicy?.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: spec.runPolicy.activeDeadlineSeconds } : {}),
        ...(spec.runPolicy?.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: spec.runPolicy.ttlSecondsAfterFinished } : {}),
        // The pod template of a batch Job is immutable once created, and server-side apply removes fields an
        // apply leaves out: re-apply the template the Job already has.
        template: existing?.spec?.template ?? { metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), ...labels } }, spec: podSpec },
      },
    });
    if (wrote) this.children.event(job, 'Normal', 'Reconciled', `batch Job ${name}: ${replicas} worker(s)${spec.suspend ? ', suspended' : ''}`);

    const batch = this.children.get<V1Job>('Job', namespace, name);
    const bs = batch?.status ?? {};
    status.active = bs.active ?? 0;
    status.succeeded = bs.succeeded ?? 0;
    status.failed = bs.failed ?? 0;
    if (bs.startTime) status.startTime = toMetaTime(bs.startTime);
    if (bs.completionTime) status.completionTime = toMetaTime(bs.completionTime);
    const finished = bs.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const pods = this.children.list<V1Pod>('Pod', namespace, { 'ai.example.io/job': name });
    const running = pods.filter((p) => p.status?.phase === 'Running').length;
    // A pod kube-apiserver refused for quota never exists: the batch Job's FailedCreate events say why, and are
    // looked at again while pods are missing (nothing else wakes this job when the quota changes).
    const missing = !finished && !spec.suspend && batch !== undefined && pods.length < replicas;
    const refusal = missing ? await this.children.quotaRefusal('Job', namespace, name) : undefined;
    const problem = refusal
      ? { reason: 'QuotaExceeded', message: `${replicas - pods.length} of ${replicas} worker pod(s) not created: ${refusal}` }
      : pods.map(podProblem).find((p) => p !== undefined);
    if (finished?.type === 'Complete') {
      status.phase = 'Succeeded';
      status.conditions = setCondition(status.conditions, { type: 'Succeeded', status: 'True', reason: 'Completed', message: `${status.succeeded} worker(s) completed` }, generation);
    } else if (finished?.type === 'Failed') {
      status.phase = 'Failed';
      status.conditions = setCondition(status.conditions, { type: 'Failed', status: 'True', reason: finished.reason ?? 'Failed', message: finished.message ?? 'the job failed' }, generation);
    } else if (spec.suspend) {
      status.phase = 'Suspended';
      status.conditions = setCondition(status.conditions, { type: 'Suspended', status: 'True', reason: 'Suspended', message: 'spec.suspend is true: no workers run' }, generation);
    } else if (running > 0 && !problem) {
      status.phase = 'Running';
      status.conditions = setCondition(status.conditions, { type: 'Suspended', status: 'False', reason: 'Resumed', message: 'the job is not suspended' }, generation);
      status.conditions = setCondition(status.conditions, { type: 'Running', status: 'True', reason: 'WorkersRunning', message: `${running} of ${replicas} worker(s) running` }, generation);
      status.conditions = removeCondition(status.conditions, 'Pending');
    } else {
      status.phase = 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'Suspended', status: 'False', reason: 'Resumed', message: 'the job is not suspended' }, generation);
      status.conditions = setCondition(
        status.conditions,
        { type: 'Pending', status: 'True', reason: problem?.reason ?? 'WaitingForWorkers', message: problem?.message ?? 'waiting for worker pods to start' },
        generation,
      );
    }
    if (status.phase !== 'Pending') status.conditions = removeCondition(status.conditions, 'Pending');
    await writeStatus(this.jobs, job, status);
    return missing ? { requeueAfterMs: quotaRecheckMs } : undefined;
  }

  failed(key: string, error: unknown): Promise<void> {
    return reportChildFailure(this.jobs, this.cached, key, error);
  }
}
