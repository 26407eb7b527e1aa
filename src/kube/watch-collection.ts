// Follows a collection of kube-apiserver as a client-go informer does: a LIST, then a WATCH from the list's
// resourceVersion, a cache of what both said keyed by namespace/name; a 410 relists, any other failure retries with
// backoff, forever, until stopped. Admission reads policies, bindings, params and namespaces from such caches.
import type { Transport } from './transport.js';
import { LineReader } from './line-reader.js';

export interface WatchedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
}

export interface CollectionWatchOptions {
  /** The collection, e.g. /apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies or /api/v1/configmaps. */
  collection: string;
  fieldSelector?: string;
  /** After every change, and once after each list. */
  onChange?(): void;
  /** A failed list or watch; the watch is retried after it. */
  onError(error: unknown): void;
}

export interface CollectionWatch<T> {
  /** True once the first list has filled the cache. */
  readonly synced: boolean;
  /** Resolves at the first list; rejects when the signal aborts first. */
  whenSynced(signal?: AbortSignal): Promise<void>;
  get(namespace: string, name: string): T | undefined;
  /** The objects of one namespace, or all of them when `namespace` is undefined. */
  list(namespace?: string): T[];
  stop(): void;
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number };
}

class Expired extends Error {}

const initialBackoffMs = 500;
const maxBackoffMs = 30_000;

/** Objects by namespace, then name: a namespace's objects are read without going through the others. */
type Cache<T> = Map<string, Map<string, T>>;

function put<T extends WatchedObject>(cache: Cache<T>, object: T): void {
  const namespace = object.metadata?.namespace ?? '';
  let names = cache.get(namespace);
  if (!names) cache.set(namespace, (names = new Map()));
  names.set(object.metadata?.name ?? '', object);
}

function drop<T extends WatchedObject>(cache: Cache<T>, object: T): void {
  const namespace = object.metadata?.namespace ?? '';
  const names = cache.get(namespace);
  names?.delete(object.metadata?.name ?? '');
  if (names?.size === 0) cache.delete(namespace);
}

/** Starts following the collection. */
export function watchCollection<T extends WatchedObject>(transport: Transport, options: CollectionWatchOptions): CollectionWatch<T> {
  const abort = new AbortController();
  const signal = abort.signal;
  let objects: Cache<T> = new Map();
  let synced = false;
  let markSynced!: () => void;
  const firstList = new Promise<void>((resolve) => (markSynced = resolve));
  const query = options.fieldSelector ? { fieldSelector: options.fieldSelector } : {};
  const run = async (): Promise<void> => {
    let backoffMs = initialBackoffMs;
    while (!signal.aborted) {
      try {
        const list = await transport.json<{ metadata?: { resourceVersion?: string }; items?: T[] }>({
          method: 'GET',
          path: options.collection,
          query,
          signal,
        });
        const next: Cache<T> = new Map();
        for (const item of list.items ?? []) put(next, item);
        objects = next;
        synced = true;
        markSynced();
        options.onChange?.();
        let resourceVersion = list.metadata?.resourceVersion ?? '';
        for (;;) {
          resourceVersion = await follow(resourceVersion, () => (backoffMs = initialBackoffMs));
        }
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof Expired)) {
          options.onError(error);
          await new Promise((resolve) => setTimeout(resolve, backoffMs * (0.5 + Math.random())));
          backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
        }
      }
    }
  };
  /** One watch request from `resourceVersion` to its end; resolves with the resourceVersion to go on from. */
  const follow = async (resourceVersion: string, healthy: () => void): Promise<string> => {
    const res = await transport.open({
      method: 'GET',
      path: options.collection,
      // client-go's reflector spreads its watches' lengths between 5 and 10 minutes, so they do not all end at once.
      query: { ...query, watch: true, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: Math.floor(300 + Math.random() * 300) },
      signal,
    });
    healthy();
    res.setEncoding('utf8');
    const lines = new LineReader();
    for await (const chunk of res) {
      for (const text of lines.push(chunk as string)) {
        const line = text.trim();
        if (line === '') continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          if (event.object.code === 410) throw new Expired();
          throw new Error(`watch of ${options.collection}: ${JSON.stringify(event.object)}`);
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'DELETED') drop(objects, event.object);
        else put(objects, event.object);
        options.onChange?.();
      }
    }
    return resourceVersion;
  };
  run().catch(options.onError);
  return {
    get synced() {
      return synced;
    },
    whenSynced: (waitSignal) =>
      new Promise<void>((resolve, reject) => {
        if (synced) return resolve();
        const onAbort = (): void => reject(waitSignal?.reason instanceof Error ? waitSignal.reason : new Error('aborted'));
        waitSignal?.addEventListener('abort', onAbort, { once: true });
        firstList.then(() => {
          waitSignal?.removeEventListener('abort', onAbort);
          resolve();
        }, reject);
      }),
    get: (namespace, name) => objects.get(namespace)?.get(name),
    list: (namespace) =>
      namespace === undefined ? [...objects.values()].flatMap((names) => [...names.values()]) : [...(objects.get(namespace)?.values() ?? [])],
    stop: () => abort.abort(),
  };
}
