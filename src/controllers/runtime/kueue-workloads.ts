// Kueue's Workloads, for the jobs that queue through their batch Job: Kueue makes one Workload per queued batch Job
// and says there why it waits and what it admitted. Seen through an informer on workloads.kueue.x-k8s.io; in a
// cluster without Kueue the list answers 404 and the informer keeps looking, slowly, so Kueue installed later is
// picked up, and a job without a queue never asks for a Workload.
import {
  ApiException,
  CustomObjectsApi,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { StatusError, statusFromResponse } from '../../kube/status-error.js';
import { fieldManager } from './kube-children.js';

/** The label that puts a batch Job in a LocalQueue (Kueue reads it on the batch Job, not on its owner). */
export const queueNameLabel = 'kueue.x-k8s.io/queue-name';
/** The WorkloadPriorityClass of a batch Job's Workload: its priority in the queue, and which Workloads it may preempt. */
export const priorityClassLabel = 'kueue.x-k8s.io/priority-class';
/** Partial admission: the fewest pods Kueue may admit a batch Job with. */
export const minParallelismAnnotation = 'kueue.x-k8s.io/job-min-parallelism';
/** Partial admission of an Indexed Job: Kueue lowers completions with parallelism. */
export const completionsEqualParallelismAnnotation = 'kueue.x-k8s.io/job-completions-equal-parallelism';
const jobUidLabel = 'kueue.x-k8s.io/job-uid';
const group = 'kueue.x-k8s.io';
const version = 'v1beta1';

export interface WorkloadCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Workload extends KubernetesObject {
  spec?: { active?: boolean; queueName?: string; podSets?: { name: string; count: number; minCount?: number }[] };
  status?: {
    conditions?: WorkloadCondition[];
    admission?: { clusterQueue: string; podSetAssignments?: { name: string; count?: number }[] };
  };
}

export function workloadCondition(workload: Workload | undefined, type: string): WorkloadCondition | undefined {
  return workload?.status?.conditions?.find((c) => c.type === type);
}

export class KueueWorkloads {
  private informer: (Informer<KubernetesObject> & ObjectCache<KubernetesObject>) | undefined;
  private readonly objects: KubernetesObjectApi;
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    logger: Logger,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.log = logger.child({ component: 'kueue-workloads' });
  }

  /** Starts watching; `onChange` gets every Workload added, changed or deleted. Does not wait for Kueue to exist. */
  start(onChange: (workload: Workload) => void): void {
    const custom = this.kc.makeApiClient(CustomObjectsApi);
    const list = (): Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }> =>
      custom.listClusterCustomObject({ group, version, plural: 'workloads' }) as Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>;
    const informer = makeInformer(this.kc, `/apis/${group}/${version}/workloads`, list);
    for (const event of ['add', 'update', 'delete'] as const) informer.on(event, (object) => onChange(object as Workload));
    // Reset only once Workloads are seen: "connect" comes before the list, so it would also follow every 404.
    let backoff = 500;
    informer.on('add', () => (backoff = 500));
    informer.on('error', (error: unknown) => {
      if (this.stopped) return;
      const absent = error instanceof ApiException && error.code === 404;
      if (absent) this.log.debug('workloads.kueue.x-k8s.io not served; looking again later');
      else this.log.warn({ err: error }, 'workload informer failed; restarting');
      setTimeout(() => {
        if (!this.stopped) informer.start().catch((e: unknown) => this.log.warn({ err: e }, 'workload informer restart failed'));
      }, backoff).unref();
      backoff = Math.min(backoff * 2, 30_000);
    });
    this.informer = informer;
    informer.start().catch((error: unknown) => this.log.warn({ err: error }, 'workload informer start failed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
  }

  /** The Workload Kueue made for the batch Job with this UID (Kueue labels it with the UID). */
  forJob(namespace: string, batchJobUid: string): Workload | undefined {
    return (this.informer?.list(namespace) ?? []).find((w) => w.metadata?.labels?.[jobUidLabel] === batchJobUid) as Workload | undefined;
  }

  /**
   * Sets the Workload's spec.active: false makes Kueue evict it (the batch Job suspended, its quota freed) and keep it
   * out of the queue; true puts it back. Kueue unsuspends an admitted batch Job, so this is how a queued job is
   * suspended.
   */
  async setActive(workload: Workload, active: boolean): Promise<void> {
    const patch = { apiVersion: `${group}/${version}`, kind: 'Workload', metadata: { name: workload.metadata!.name, namespace: workload.metadata!.namespace }, spec: { active } };
    try {
      await this.objects.patch(patch, undefined, undefined, fieldManager, undefined, PatchStrategy.MergePatch);
    } catch (error) {
      if (error instanceof ApiException) {
        const body = error.body as unknown;
        throw new StatusError(statusFromResponse(error.code, typeof body === 'string' ? body : JSON.stringify(body ?? '')));
      }
      throw error;
    }
  }
}
