// The built-in objects the controllers own, seen through supervised informers (one per kind, selected by the
// managed-by label) and written with server-side apply only when they differ from what is wanted, so a
// reconcile that changes nothing sends nothing, and a child edited by hand is put back.
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { StatusError, statusFromResponse } from '../../kube/status-error.js';

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedBy = 'ai-apiserver';
export const fieldManager = 'ai-apiserver';

export type ChildKind = 'StatefulSet' | 'Service' | 'Job' | 'PersistentVolumeClaim' | 'Pod';

interface KindInfo {
  path: string;
  list: (kc: KubeConfig) => () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>;
}

const selector = `${managedByLabel}=${managedBy}`;

const kinds: Record<ChildKind, KindInfo> = {
  StatefulSet: {
    path: '/apis/apps/v1/statefulsets',
    list: (kc) => () => kc.makeApiClient(AppsV1Api).listStatefulSetForAllNamespaces({ labelSelector: selector }),
  },
  Service: { path: '/api/v1/services', list: (kc) => () => kc.makeApiClient(CoreV1Api).listServiceForAllNamespaces({ labelSelector: selector }) },
  Job: { path: '/apis/batch/v1/jobs', list: (kc) => () => kc.makeApiClient(BatchV1Api).listJobForAllNamespaces({ labelSelector: selector }) },
  PersistentVolumeClaim: {
    path: '/api/v1/persistentvolumeclaims',
    list: (kc) => () => kc.makeApiClient(CoreV1Api).listPersistentVolumeClaimForAllNamespaces({ labelSelector: selector }),
  },
  Pod: { path: '/api/v1/pods', list: (kc) => () => kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ labelSelector: selector }) },
};

/** True when every field of `want` is present with the same value in `have` (lists compared whole). */
export function covers(have: unknown, want: unknown): boolean {
  if (want === null || typeof want !== 'object') return String(have) === String(want) || have === want;
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(have[i], w));
  }
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.entries(want as Record<string, unknown>).every(([k, v]) => v === undefined || (Object.hasOwn(have, k) && covers((have as Record<string, unknown>)[k], v)));
}

export class KubeChildren {
  private readonly informers = new Map<ChildKind, Informer<KubernetesObject> & ObjectCache<KubernetesObject>>();
  private readonly appliedOnce = new Map<string, string>();
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly log: Logger;
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    logger: Logger,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
    this.log = logger.child({ component: 'children' });
  }

  /** Starts one informer per kind; `onChange` gets every object added, changed or deleted. */
  async start(onChange: (kind: ChildKind, object: KubernetesObject) => void): Promise<void> {
    for (const kind of Object.keys(kinds) as ChildKind[]) {
      const info = kinds[kind];
      const informer = makeInformer(this.kc, info.path, info.list(this.kc), selector);
      for (const event of ['add', 'update', 'delete'] as const) informer.on(event, (object) => onChange(kind, object));
      // client-node's informer stops for good on any error but 410: restart it, with backoff.
      let backoff = 500;
      informer.on('error', (error: unknown) => {
        if (this.stopped) return;
        this.log.warn({ err: error, kind }, 'informer failed; restarting');
        setTimeout(() => {
          if (!this.stopped) informer.start().catch((e: unknown) => this.log.warn({ err: e, kind }, 'informer restart failed'));
        }, backoff).unref();
        backoff = Math.min(backoff * 2, 30_000);
      });
      informer.on('connect', () => (backoff = 500));
      this.informers.set(kind, informer);
      await informer.start();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  get<T extends KubernetesObject>(kind: ChildKind, namespace: string, name: string): T | undefined {
    return this.informers.get(kind)?.get(name, namespace) as T | undefined;
  }

  list<T extends KubernetesObject>(kind: ChildKind, namespace: string, labels: Record<string, string>): T[] {
    return ((this.informers.get(kind)?.list(namespace) ?? []) as T[]).filter((o) =>
      Object.entries(labels).every(([k, v]) => o.metadata?.labels !== undefined && Object.hasOwn(o.metadata.labels, k) && o.metadata.labels[k] === v),
    );
  }

  /** Server-side applies `desired` unless the cached object already has every field of it. Returns whether it wrote. */
  async apply(kind: ChildKind, desired: KubernetesObject & Record<string, unknown>): Promise<boolean> {
    const live = this.get(kind, desired.metadata!.namespace!, desired.metadata!.name!);
    const { apiVersion: _a, kind: _k, ...wanted } = desired as unknown as Record<string, unknown>;
    if (live && covers(live, wanted)) return false;
    await this.serverSideApply(desired);
    return true;
  }

  /**
   * Server-side applies a child no informer watches (a Role, a RoleBinding) once per `version` of what it should be
   * (say its owner's uid) in this process: such children only change when their owner is replaced.
   */
  async applyOnce(desired: KubernetesObject & Record<string, unknown>, version: string): Promise<boolean> {
    const key = `${desired.apiVersion ?? ''}/${desired.kind ?? ''}/${desired.metadata!.namespace ?? ''}/${desired.metadata!.name!}`;
    if (this.appliedOnce.get(key) === version) return false;
    await this.serverSideApply(desired);
    this.appliedOnce.set(key, version);
    return true;
  }

  /**
   * Deletes a child with foreground propagation, so it stays (with a deletionTimestamp) until kube's garbage collector
   * has removed its own children: a batch Job replaced by a new generation is gone only once all its pods are. A
   * child already gone is no error.
   */
  async deleteForeground(desired: KubernetesObject): Promise<void> {
    try {
      await this.objects.delete({ apiVersion: desired.apiVersion, kind: desired.kind, metadata: { name: desired.metadata?.name, namespace: desired.metadata?.namespace } }, undefined, undefined, undefined, undefined, 'Foreground');
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return;
      throw this.statusOf(error);
    }
  }

  private async serverSideApply(desired: KubernetesObject): Promise<void> {
    try {
      await this.objects.patch(desired, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      throw this.statusOf(error);
    }
  }

  /**
   * kube-apiserver's own Status (e.g. `statefulsets.apps "lab" is forbidden: User … cannot create resource …`) is
   * what the log and the owner's condition show, rather than client-node's dump of the whole response.
   */
  private statusOf(error: unknown): unknown {
    if (!(error instanceof ApiException)) return error;
    const body = error.body as unknown;
    return new StatusError(statusFromResponse(error.code, typeof body === 'string' ? body : JSON.stringify(body ?? '')));
  }

  /**
   * kube-apiserver's latest quota refusal of a pod of the batch Job or StatefulSet `name` ("exceeded quota: <quota>,
   * requested: …, used: …, limited: …"), from the FailedCreate events their controllers record: neither carries it
   * in its status. Undefined when there is none, or when events cannot be read.
   */
  async quotaRefusal(kind: 'Job' | 'StatefulSet', namespace: string, name: string): Promise<string | undefined> {
    try {
      const events = await this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name},reason=FailedCreate` });
      const when = (e: (typeof events.items)[number]): number => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
      const latest = events.items.filter((e) => e.message?.includes('exceeded quota: ')).sort((a, b) => when(a) - when(b)).at(-1)?.message;
      return latest?.slice(latest.indexOf('exceeded quota: '));
    } catch (error) {
      this.log.debug({ err: error, kind, namespace, name }, 'events not readable');
      return undefined;
    }
  }

  /** A core Event on `owner`, so `kubectl describe` tells what the controller did. Best effort. */
  event(owner: { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string; uid?: string } }, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = new Date();
    const namespace = owner.metadata.namespace!;
    this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${owner.metadata.name}.`, namespace },
          involvedObject: { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, namespace, uid: owner.metadata.uid },
          reason,
          message,
          type,
          source: { component: 'ai-apiserver' },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiException && error.code === 404)) this.log.warn({ err: error }, 'event not recorded');
      });
  }
}
