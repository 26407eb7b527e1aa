// Dataset → PVC <name> and, when prefetching, a batch Job <name>-prefetch running the loader (src/loader/) that fills
// it from the source; the loader reports bytes and files, or why it failed, in its termination message. A pvc://
// source with prefetch: false is the source claim itself, bound as it is.
import type { V1EnvVar, V1Job, V1OwnerReference, V1PersistentVolumeClaim, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Dataset, DatasetStatus } from '../api/v1alpha1/types.js';
import type { Informer } from '../registry/informer.js';
import type { Store } from '../registry/store.js';
import type { ReconcileResult, Reconciler } from './runtime/controller.js';
import type { KubeChildren } from './runtime/kube-children.js';
import { asStored, childLabels, datasetLocation, ownerReference, reportChildFailure, setCondition, splitKey, withoutChildFailure, writeStatus } from './common.js';
import { loaderCommand, loaderEnv, loaderExit, loaderMounts, parseLoaderReport, type LoaderReport } from '../loader/contract.js';

export interface DatasetOptions {
  /** The image that copies the source into the claim: the server's own, whose loader entrypoint the Job runs. */
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
    const status: DatasetStatus = withoutChildFailure(dataset.status);
    const labels = childLabels(dataset);
    const owner = [ownerReference(dataset)];
    const before = status.phase;
    status.observedGeneration = generation;

    const location = datasetLocation(name, spec);
    const existingClaim = location.sourceClaim ? location.claimName : undefined;
    const claimName = location.claimName;
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
      // A Job's pod template cannot change once created: the Job is made once, and a load that failed is tried
      // again by deleting it.
      const jobName = `${name}-prefetch`;
      if (!this.children.get<V1Job>('Job', namespace, jobName)) {
        await this.children.apply('Job', prefetchJob(dataset, { name: jobName, claimName, labels, owner, image: this.options.loaderImage }));
      }
      const loader = this.children.get<V1Job>('Job', namespace, jobName);
      const done = loader?.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (done?.type === 'Complete') {
        status.phase = 'Ready';
        const report = loaderOutcome(this.loaderPods(namespace, name, loader)).report;
        if (report) {
          status.bytes = report.bytes;
          status.files = report.files;
        }
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'Prefetched', message: `loaded from ${spec.source.uri}` }, generation);
      } else if (done?.type === 'Failed') {
        status.phase = 'Failed';
        // The Job's own message only counts failed pods; the loader's last words say what went wrong.
        const failure = loaderOutcome(this.loaderPods(namespace, name, loader)).failure;
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'PrefetchFailed', message: failure ?? done.message ?? `loading ${spec.source.uri} failed` }, generation);
      } else {
        status.phase = 'Loading';
        const failure = loaderOutcome(this.loaderPods(namespace, name, loader)).failure;
        const message = `loading ${spec.source.uri}${failure ? `; retrying after: ${failure}` : ''}`;
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Loading', message }, generation);
      }
    }
    const wrote = await writeStatus(this.datasets, dataset, status);
    if (wrote && status.phase === 'Ready' && before !== 'Ready') this.children.event(dataset, 'Normal', 'Ready', `dataset ${name} is ready`);
  }

  failed(key: string, error: unknown): Promise<void> {
    return reportChildFailure(this.datasets, this.cached, key, error);
  }

  /** The pods of this prefetch Job: not those of one deleted to run the load again, which may linger a moment. */
  private loaderPods(namespace: string, name: string, job: V1Job | undefined): V1Pod[] {
    const uid = job?.metadata?.uid;
    return this.children.list<V1Pod>('Pod', namespace, { 'ai.example.io/dataset': name }).filter((pod) => pod.metadata?.ownerReferences?.some((o) => o.uid === uid));
  }
}

/** The prefetch Job of a Dataset: the loader with the source's settings, the claim at /data, a pvc:// source at /source. */
export function prefetchJob(
  dataset: Pick<Dataset, 'spec'> & { metadata: { namespace?: string } },
  job: { name: string; claimName: string; labels: Record<string, string>; owner: V1OwnerReference[]; image: string },
): V1Job & Record<string, unknown> {
  const source = dataset.spec.source;
  const env: V1EnvVar[] = [{ name: loaderEnv.source, value: source.uri }];
  if (source.endpoint) env.push({ name: loaderEnv.s3Endpoint, value: source.endpoint });
  if (source.region) env.push({ name: loaderEnv.region, value: source.region });
  if (source.secretRef) {
    // By reference: the credentials never appear in the Job, and a rotated Secret reaches the next pod.
    const fromSecret = (name: string, optional: boolean): V1EnvVar => ({ name, valueFrom: { secretKeyRef: { name: source.secretRef!.name, key: name, optional } } });
    env.push(fromSecret(loaderEnv.accessKeyId, false), fromSecret(loaderEnv.secretAccessKey, false), fromSecret(loaderEnv.sessionToken, true));
  }
  const mounts: V1VolumeMount[] = [{ name: 'data', mountPath: loaderMounts.data }];
  const volumes: V1Volume[] = [{ name: 'data', persistentVolumeClaim: { claimName: job.claimName } }];
  const sourceClaim = /^pvc:\/\/([^/]+)/.exec(source.uri)?.[1];
  if (sourceClaim) {
    mounts.push({ name: 'source', mountPath: loaderMounts.source, readOnly: true });
    volumes.push({ name: 'source', persistentVolumeClaim: { claimName: sourceClaim, readOnly: true } });
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job.name, namespace: dataset.metadata.namespace, labels: job.labels, ownerReferences: job.owner },
    spec: {
      backoffLimit: 3,
      // A refusal (404, 403, a wrong credential, a missing bucket) fails the Job at once rather than three more
      // times; a node going away is not the loader's failure.
      podFailurePolicy: {
        rules: [
          { action: 'FailJob', onExitCodes: { containerName: 'loader', operator: 'In', values: [loaderExit.permanent] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: { labels: job.labels },
        spec: {
          restartPolicy: 'Never',
          // The loader never talks to the API: no token in its pod.
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'loader',
              image: job.image,
              command: [...loaderCommand],
              env,
              terminationMessagePolicy: 'File',
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/**
 * What the loader's pods said: the report of the one that succeeded, and the message of the latest that failed
 * (the loader writes one line there; a pod that died before writing one has none).
 */
export function loaderOutcome(pods: V1Pod[]): { report?: LoaderReport; failure?: string } {
  let report: LoaderReport | undefined;
  let failure: { at: number; message: string } | undefined;
  for (const pod of pods) {
    for (const container of pod.status?.containerStatuses ?? []) {
      const terminated = container.state?.terminated;
      const message = terminated?.message?.trim();
      if (!terminated || !message) continue;
      const parsed = parseLoaderReport(message);
      if (parsed && terminated.exitCode === 0) report = parsed;
      else if (!parsed && terminated.exitCode !== 0) {
        const at = new Date(terminated.finishedAt ?? 0).getTime();
        if (!failure || at >= failure.at) failure = { at, message };
      }
    }
  }
  return { ...(report ? { report } : {}), ...(failure ? { failure: failure.message } : {}) };
}
