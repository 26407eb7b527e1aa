// Notebook → workspace PVC (when asked), Service <name> (80 → 8888) and StatefulSet <name> (1 replica, 0 when
// stopped), each owned by the notebook. Status reports what the StatefulSet and its pod really do; an idle
// notebook (the later of Jupyter's /api/status last_activity and the last request through notebooks/proxy, older
// than idle.timeoutSeconds) is stopped, keeping its workspace.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { Container, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { toMetaTime } from '../api/meta/time.js';
import type { Notebook, NotebookSpec, NotebookStatus } from '../api/v1alpha1/types.js';
import { lastActivityAnnotation, notebookProxyPath } from '../api/v1alpha1/annotations.js';
import type { Informer } from '../registry/informer.js';
import type { Store } from '../registry/store.js';
import type { ReconcileResult, Reconciler } from './runtime/controller.js';
import type { KubeChildren } from './runtime/kube-children.js';
import { asStored, childLabels, quotaRecheckMs, datasetsNotReady, datasetVolumes, ownerReference, removeCondition, reportChildFailure, setCondition, splitKey, withoutChildFailure, writeStatus, type Stored } from './common.js';
import { podProblem } from './pod-problems.js';

export interface NotebookOptions {
  /** Where Jupyter's status is read; {namespace} and {name} are replaced. */
  activityUrlTemplate: string;
  /** How often a running notebook with an idle policy is checked. */
  activityIntervalMs: number;
}

const port = 8888;

export class NotebookReconciler implements Reconciler {
  readonly name = 'notebook';
  private readonly log: Logger;

  constructor(
    private readonly notebooks: Store,
    private readonly cached: Informer,
    private readonly datasets: Informer,
    private readonly children: KubeChildren,
    private readonly options: NotebookOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'notebook-controller' });
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const [namespace, name] = splitKey(key);
    const notebook = asStored<Notebook>(this.cached.get(namespace, name));
    if (!notebook || notebook.metadata.deletionTimestamp) return;
    const spec = notebook.spec;
    const status: NotebookStatus = withoutChildFailure(notebook.status);
    const generation = notebook.metadata.generation;
    const labels = childLabels(notebook);
    const owner = [ownerReference(notebook)];

    const waiting = datasetsNotReady(this.datasets, namespace, spec.datasets ?? []);
    if (waiting.length > 0) {
      status.conditions = setCondition(status.conditions, { type: 'WaitingForDataset', status: 'True', reason: 'DatasetNotReady', message: `waiting for dataset(s) ${waiting.join(', ')} to be Ready` }, generation);
      status.phase = 'Pending';
      status.observedGeneration = generation;
      await writeStatus(this.notebooks, notebook, status);
      return;
    }
    status.conditions = removeCondition(status.conditions, 'WaitingForDataset');

    const volumes: Volume[] = [];
    const mounts: VolumeMount[] = [];
    const workspace = spec.workspace;
    if (workspace) {
      const claimName = workspace.existingClaim ?? `${name}-workspace`;
      if (!workspace.existingClaim) {
        await this.children.apply('PersistentVolumeClaim', {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: claimName, namespace, labels, ownerReferences: owner },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: String(workspace.size) } },
            ...(workspace.storageClassName ? { storageClassName: workspace.storageClassName } : {}),
          },
        });
      }
      volumes.push({ name: 'workspace', persistentVolumeClaim: { claimName } });
      mounts.push({ name: 'workspace', mountPath: workspace.mountPath ?? '/home/jovyan' });
    }
    const data = datasetVolumes(this.datasets, namespace, spec.datasets ?? []);
    volumes.push(...data.volumes);
    mounts.push(...data.mounts);

    await this.children.apply('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels, ownerReferences: owner },
      spec: { selector: { 'ai.example.io/notebook': name }, ports: [{ name: 'http', port: 80, targetPort: port }] },
    });

    const template = spec.template;
    const podLabels = { ...(template.metadata?.labels ?? {}), ...labels, statefulset: name };
    const containers: Container[] = (template.spec?.containers ?? []).map((container, i) => ({
      ...container,
      env: [...(container.env ?? []).filter((e) => e.name !== 'NB_PREFIX'), { name: 'NB_PREFIX', value: notebookProxyPath(namespace, name) }],
      ...(i === 0 ? { ports: container.ports ?? [{ name: 'notebook-port', containerPort: port, protocol: 'TCP' }], volumeMounts: [...(container.volumeMounts ?? []), ...mounts] } : {}),
    }));
    const replicas = spec.stopped ? 0 : 1;
    const wrote = await this.children.apply('StatefulSet', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace, labels, ownerReferences: owner },
      spec: {
        replicas,
        serviceName: name,
        selector: { matchLabels: { 'ai.example.io/notebook': name } },
        template: {
          metadata: { ...(template.metadata ?? {}), labels: podLabels },
          spec: { ...(template.spec ?? {}), containers, volumes: [...(template.spec?.volumes ?? []), ...volumes] },
        },
      },
    });
    if (wrote) this.children.event(notebook, 'Normal', 'Reconciled', `StatefulSet ${name} set to ${replicas} replica(s)`);

    const sts = this.children.get<V1StatefulSet>('StatefulSet', namespace, name);
    const ready = sts?.status?.readyReplicas ?? 0;
    const pod = this.children.get<V1Pod>('Pod', namespace, `${name}-0`);
    // A pod kube-apiserver refused for quota never exists: the StatefulSet's FailedCreate events say why, and are
    // looked at again while it is missing (nothing else wakes this notebook when the quota changes).
    const missing = replicas > 0 && sts !== undefined && !pod;
    const refusal = missing ? await this.children.quotaRefusal('StatefulSet', namespace, name) : undefined;
    const problem = refusal
      ? { reason: 'QuotaExceeded', message: `the notebook pod is not created: ${refusal}`, fatal: false }
      : replicas > 0 && ready === 0
        ? podProblem(pod)
        : undefined;
    status.readyReplicas = ready;
    // The UI is served through kube-apiserver (notebooks/proxy), so the URL is a path on the cluster's API.
    status.url = `${notebookProxyPath(namespace, name)}/`;
    status.observedGeneration = generation;
    if (spec.stopped) {
      status.phase = 'Stopped';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Stopped', message: 'the notebook is stopped; its workspace is kept' }, generation);
    } else if (ready > 0) {
      status.phase = 'Running';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'PodReady', message: 'the notebook server is ready' }, generation);
      if (spec.idle) status.conditions = setCondition(status.conditions, { type: 'Culled', status: 'False', reason: 'Active', message: 'the notebook is running' }, generation);
    } else {
      status.phase = problem?.fatal ? 'Failed' : 'Pending';
      status.conditions = setCondition(
        status.conditions,
        { type: 'Ready', status: 'False', reason: problem?.reason ?? 'PodNotReady', message: problem?.message ?? 'waiting for the notebook pod to be ready' },
        generation,
      );
    }

    let requeueAfterMs: number | undefined;
    if (spec.idle && status.phase === 'Running') {
      const lastActivity = latest(await this.lastActivity(namespace, name), proxiedAt(notebook));
      if (lastActivity) {
        status.lastActivityTime = toMetaTime(lastActivity);
        const idleMs = Date.now() - lastActivity.getTime();
        if (idleMs > spec.idle.timeoutSeconds * 1000) {
          await this.cull(notebook, status, idleMs, spec.idle.timeoutSeconds);
          return;
        }
      }
      requeueAfterMs = this.options.activityIntervalMs;
    }
    if (missing) requeueAfterMs = Math.min(requeueAfterMs ?? quotaRecheckMs, quotaRecheckMs);
    await writeStatus(this.notebooks, notebook, status);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  failed(key: string, error: unknown): Promise<void> {
    return reportChildFailure(this.notebooks, this.cached, key, error);
  }

  private async lastActivity(namespace: string, name: string): Promise<Date | undefined> {
    const url = this.options.activityUrlTemplate.replaceAll('{namespace}', namespace).replaceAll('{name}', name);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) return undefined;
      const body = (await res.json()) as { last_activity?: string };
      const parsed = body.last_activity ? new Date(body.last_activity) : undefined;
      return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
    } catch (error) {
      this.log.debug({ err: error, url }, 'activity not readable');
      return undefined;
    }
  }

  /** Stops an idle notebook: spec.stopped (so a user starts it again by clearing it) and the Culled condition. */
  private async cull(notebook: Stored<Notebook>, status: NotebookStatus, idleMs: number, timeoutSeconds: number): Promise<void> {
    const [namespace, name] = [notebook.metadata.namespace!, notebook.metadata.name!];
    const message = `stopped after ${Math.round(idleMs / 1000)} s without activity (idle.timeoutSeconds ${String(timeoutSeconds)})`;
    await this.notebooks.patch(namespace, name, (current) => ({ ...current, spec: { ...current.spec, stopped: true } satisfies Partial<NotebookSpec> }));
    const latest = this.cached.get(namespace, name) ?? notebook;
    const conditions = setCondition(status.conditions, { type: 'Culled', status: 'True', reason: 'Idle', message }, latest.metadata.generation);
    await writeStatus(this.notebooks, (await this.notebooks.get(namespace, name)).object, { ...status, conditions, phase: 'Stopped' });
    this.children.event(notebook, 'Normal', 'Culled', message);
  }
}

/** When the proxy last carried traffic for the notebook, from its annotation. */
function proxiedAt(notebook: Stored<Notebook>): Date | undefined {
  const value = notebook.metadata.annotations?.[lastActivityAnnotation];
  const parsed = value ? new Date(value) : undefined;
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
}

function latest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a || !b) return a ?? b;
  return a.getTime() >= b.getTime() ? a : b;
}
