// A typed client for one resource of ai.example.io/v1alpha1: every verb, /status and /scale, pagination, and a
// watch that survives disconnects (resuming from the last resourceVersion) and 410s (relisting, then reporting
// only what changed), so a consumer sees every change once.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject, ObjectMeta } from '../api/meta/types.js';
import type { JobProgress } from '../api/v1alpha1/types.js';
import { StatusError } from '../kube/status-error.js';
import type { Transport } from '../kube/transport.js';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface List<T> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
}

export type Patch =
  | { type: 'merge'; patch: Record<string, unknown> }
  | { type: 'json'; patch: Record<string, unknown>[] }
  | { type: 'apply'; patch: Record<string, unknown>; fieldManager: string; force?: boolean };

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Where to start; without it the watch lists first and reports every existing object as ADDED. */
  resourceVersion?: string;
  /** Objects the caller already holds at `resourceVersion` (an informer's initial list). */
  known?: KubeObject[];
  signal?: AbortSignal;
  /** Server-side lifetime of one watch request before it is renewed. */
  timeoutSeconds?: number;
}

export interface Scale {
  apiVersion: 'autoscaling/v1';
  kind: 'Scale';
  metadata: ObjectMeta;
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

const contentTypes = { merge: 'application/merge-patch+json', json: 'application/json-patch+json', apply: 'application/apply-patch+yaml' };
const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

export class ResourceClient<T extends KubeObject> {
  constructor(
    private readonly transport: Transport,
    readonly group: string,
    readonly version: string,
    readonly plural: string,
  ) {}

  private path(namespace?: string, name?: string, subresource?: string): string {
    let path = `/apis/${this.group}/${this.version}`;
    if (namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
    path += `/${this.plural}`;
    if (name !== undefined) path += `/${encodeURIComponent(name)}`;
    if (subresource) path += `/${subresource}`;
    return path;
  }

  private writeQuery(options: WriteOptions = {}): Record<string, string | undefined> {
    return { dryRun: options.dryRun ? 'All' : undefined, fieldManager: options.fieldManager, fieldValidation: options.fieldValidation };
  }

  get(namespace: string, name: string): Promise<T> {
    return this.transport.json({ method: 'GET', path: this.path(namespace, name) });
  }

  /** One page; `namespace` undefined lists every namespace. */
  list(namespace?: string, options: ListOptions = {}): Promise<List<T>> {
    const { signal, ...query } = options;
    return this.transport.json({ method: 'GET', path: this.path(namespace), query: { ...query }, ...(signal ? { signal } : {}) });
  }

  /** Every item, page by page (`limit` per request) from one consistent snapshot. */
  async *listAll(namespace?: string, options: Omit<ListOptions, 'continue'> = {}): AsyncGenerator<T> {
    let next: string | undefined;
    do {
      const page = await this.list(namespace, { limit: 500, ...options, ...(next ? { continue: next } : {}) });
      yield* page.items;
      next = page.metadata.continue || undefined;
    } while (next);
  }

  create(namespace: string, object: T, options?: WriteOptions): Promise<T> {
    return this.transport.json({ method: 'POST', path: this.path(namespace), query: this.writeQuery(options), body: object });
  }

  update(object: T, options?: WriteOptions): Promise<T> {
    return this.transport.json({ method: 'PUT', path: this.path(object.metadata.namespace, object.metadata.name), query: this.writeQuery(options), body: object });
  }

  updateStatus(object: T, options?: WriteOptions): Promise<T> {
    return this.transport.json({ method: 'PUT', path: this.path(object.metadata.namespace, object.metadata.name, 'status'), query: this.writeQuery(options), body: object });
  }

  patch(namespace: string, name: string, patch: Patch, options?: WriteOptions): Promise<T> {
    return this.sendPatch(this.path(namespace, name), patch, options);
  }

  patchStatus(namespace: string, name: string, patch: Patch, options?: WriteOptions): Promise<T> {
    return this.sendPatch(this.path(namespace, name, 'status'), patch, options);
  }

  private sendPatch<R>(path: string, patch: Patch, options: WriteOptions = {}): Promise<R> {
    const query = {
      ...this.writeQuery(options),
      ...(patch.type === 'apply' ? { fieldManager: patch.fieldManager, force: patch.force === undefined ? undefined : String(patch.force) } : {}),
    };
    return this.transport.json({ method: 'PATCH', path, query, body: patch.patch, contentType: contentTypes[patch.type] });
  }

  async delete(namespace: string, name: string, options: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; dryRun?: boolean } = {}): Promise<void> {
    await this.transport.json({
      method: 'DELETE',
      path: this.path(namespace, name),
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}), ...(options.dryRun ? { dryRun: ['All'] } : {}) },
    });
  }

  getScale(namespace: string, name: string): Promise<Scale> {
    return this.transport.json({ method: 'GET', path: this.path(namespace, name, 'scale') });
  }

  scale(namespace: string, name: string, replicas: number, options?: WriteOptions): Promise<Scale> {
    return this.sendPatch(this.path(namespace, name, 'scale'), { type: 'merge', patch: { spec: { replicas } } }, options);
  }

  /** jobs/progress as stored: what rank 0 last reported. */
  getProgress(namespace: string, name: string): Promise<JobProgress> {
    return this.transport.json({ method: 'GET', path: this.path(namespace, name, 'progress') });
  }

  /** Rank 0's report to jobs/progress, merged onto the latest one; the server throttles how often it is stored, never the caller. */
  reportProgress(namespace: string, name: string, report: Omit<JobProgress, 'apiVersion' | 'kind' | 'metadata' | 'lastUpdateTime'>, options?: WriteOptions): Promise<JobProgress> {
    return this.sendPatch(this.path(namespace, name, 'progress'), { type: 'merge', patch: report }, options);
  }

  /**
   * Every change after `resourceVersion` (or after a first list), each once: a dropped connection resumes where
   * it stopped; a 410 (history compacted) relists and reports only the difference from what was already seen.
   */
  async *watch(namespace?: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const known = new Map<string, T>((options.known ?? []).map((o) => [keyOf(o), o as T]));
    const selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    let rv = options.resourceVersion;
    // Whether `known` holds every object at `rv`: only then may a deletion of an unknown object be dropped as a repeat.
    let complete = rv === undefined || options.known !== undefined;
    let backoffMs = 200;
    const relist = async function* (this: ResourceClient<T>): AsyncGenerator<WatchEvent<T>> {
      const items: T[] = [];
      let listRv = '';
      let next: string | undefined;
      do {
        const page = await this.list(namespace, { ...selectors, limit: 500, ...(next ? { continue: next } : {}) });
        items.push(...page.items);
        listRv = page.metadata.resourceVersion ?? listRv;
        next = page.metadata.continue || undefined;
      } while (next);
      const seen = new Set<string>();
      for (const item of items) {
        const key = keyOf(item);
        seen.add(key);
        const before = known.get(key);
        known.set(key, item);
        if (!before) yield { type: 'ADDED', object: item };
        else if (before.metadata.resourceVersion !== item.metadata.resourceVersion) yield { type: 'MODIFIED', object: item };
      }
      for (const [key, object] of known) {
        if (seen.has(key)) continue;
        known.delete(key);
        yield { type: 'DELETED', object };
      }
      rv = listRv;
      complete = true;
    }.bind(this);

    if (rv === undefined) yield* relist();
    while (!options.signal?.aborted) {
      let gone = false;
      try {
        const res = await this.transport.open({
          method: 'GET',
          path: this.path(namespace),
          query: { ...selectors, watch: 'true', allowWatchBookmarks: 'true', resourceVersion: rv, timeoutSeconds: options.timeoutSeconds ?? 300 },
          ...(options.signal ? { signal: options.signal } : {}),
        });
        backoffMs = 200;
        // A stream that goes silent (no event, no bookmark) for this long is cut and resumed: 1.x clients hang here.
        const idleMs = ((options.timeoutSeconds ?? 300) + 30) * 1000;
        let idle = setTimeout(() => res.destroy(), idleMs);
        try {
          for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
            clearTimeout(idle);
            idle = setTimeout(() => res.destroy(), idleMs);
            if (!line.trim()) continue;
            const event = JSON.parse(line) as { type: string; object: T & { code?: number } };
            if (event.type === 'BOOKMARK') {
              rv = event.object.metadata.resourceVersion;
              continue;
            }
            if (event.type === 'ERROR') {
              if (event.object.code === 410) gone = true;
              break;
            }
            const object = event.object;
            const key = keyOf(object);
            rv = object.metadata.resourceVersion;
            if (event.type === 'DELETED') {
              if (!known.delete(key) && complete) continue;
            } else {
              if (known.get(key)?.metadata.resourceVersion === object.metadata.resourceVersion) continue;
              known.set(key, object);
            }
            yield { type: event.type as WatchEvent<T>['type'], object };
          }
        } finally {
          clearTimeout(idle);
          res.destroy();
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        if (error instanceof StatusError && error.code === 410) gone = true;
        else if (error instanceof StatusError && [401, 403, 404].includes(error.code)) throw error;
        else {
          // The server is away (restarting, unreachable): try again, a little later each time.
          await sleep(backoffMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
          backoffMs = Math.min(backoffMs * 2, 5_000);
          continue;
        }
      }
      if (gone) yield* relist();
    }
  }
}
