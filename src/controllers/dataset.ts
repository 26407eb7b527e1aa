// Dataset → PVC <name> (or a bound existing claim for pvc:// sources) and, when prefetching, a batch Job
// <name>-prefetch that fills it from the source; the loader reports bytes and files in its termination message.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Dataset, DatasetStatus } from '../api/v1alpha1/types.js';
import type { Informer } from '../registry/informer.js';
import type { Store } from '../registry/store.js';
import type { ReconcileResult, Reconciler } from './runtime/controller.js';
import type { KubeChildren } from './runtime/kube-children.js';
import { asStored, childLabels, ownerReference, setCondition, splitKey, writeStatus } from './common.js';

export interface DatasetOptions {
  /** The image that copies the source into the claim; it reads SOURCE_URI and writes to /data. */
  loaderImage: string;
}

export class DatasetReconciler implements Reconciler {
  readonly name = 'dataset';

  constructor(
    private readonly datasets: Store,
    private readonly cached: Informer,
    private readonly children: KubeChildren,
    private readonly options: DatasetOptions,
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = splitKey(key);
    const dataset = asStored<Dataset>(this.cached.get(namespace, name));
    if (!dataset || dataset.metadata.deletionTimestamp) return;
    const spec = dataset.spec;
    const generation = dataset.metadata.generation;
    const status: DatasetStatus = { ...dataset.status };
    const labels = childLabels(dataset);
    const owner = [ownerReference(dataset)];
    const before = status.phase;
    status.observedGeneration = generation;

    const existingClaim = /^pvc:\/\/([^/]+)/.exec(spec.source.uri)?.[1];
    const claimName = existingClaim ?? name;
    if (!existingClaim) {
      await this.children.apply('PersistentVolumeClaim', {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace, labels, ownerReferences: owner },
        spec: {
          accessModes: ['ReadWriteMany'],
          resources: { requests: { storage: String(spec.size ?? '10Gi') } },
          ...(spec.storageClassName ? { storageClassName: spec.storageClassName } : {}),
        },
      });
    }
    const claim = this.children.get<V1PersistentVolumeClaim>('PersistentVolumeClaim', namespace, claimName);
    const bound = existingClaim ? true : claim?.status?.phase === 'Bound';
    if (!bound) {
      status.phase = 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'ClaimPending', message: `waiting for PersistentVolumeClaim ${claimName} to bind` }, generation);
    } else if (spec.prefetch === false || existingClaim) {
      status.phase = 'Ready';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'ClaimBound', message: `data is in PersistentVolumeClaim ${claimName}` }, generation);
    } else {
      await this.children.apply('Job', {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: `${name}-prefetch`, namespace, labels, ownerReferences: owner },
        spec: {
          backoffLimit: 3,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'loader',
                  image: this.options.loaderImage,
                  env: [{ name: 'SOURCE_URI', value: spec.source.uri }],
                  terminationMessagePolicy: 'File',
                  volumeMounts: [{ name: 'data', mountPath: '/data' }],
                },
              ],
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
            },
          },
        },
      });
      const loader = this.children.get<V1Job>('Job', namespace, `${name}-prefetch`);
      const done = loader?.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (done?.type === 'Complete') {
        status.phase = 'Ready';
        const report = this.loaderReport(namespace, name);
        if (report) {
          status.bytes = report.bytes;
          status.files = report.files;
        }
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'Prefetched', message: `loaded from ${spec.source.uri}` }, generation);
      } else if (done?.type === 'Failed') {
        status.phase = 'Failed';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'PrefetchFailed', message: done.message ?? `loading ${spec.source.uri} failed` }, generation);
      } else {
        status.phase = 'Loading';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Loading', message: `loading ${spec.source.uri}` }, generation);
      }
    }
    const wrote = await writeStatus(this.datasets, dataset, status);
    if (wrote && status.phase === 'Ready' && before !== 'Ready') this.children.event(dataset, 'Normal', 'Ready', `dataset ${name} is ready`);
  }

  /** bytes and files from the loader's termination message: {"bytes":N,"files":M}. */
  private loaderReport(namespace: string, name: string): { bytes: number; files: number } | undefined {
    for (const pod of this.children.list<V1Pod>('Pod', namespace, { 'ai.example.io/dataset': name })) {
      for (const container of pod.status?.containerStatuses ?? []) {
        const message = container.state?.terminated?.message;
        if (!message) continue;
        try {
          const report = JSON.parse(message) as { bytes?: unknown; files?: unknown };
          if (typeof report.bytes === 'number' && typeof report.files === 'number') return { bytes: report.bytes, files: report.files };
        } catch {
          // not a report: ignore
        }
      }
    }
    return undefined;
  }
}
