// A collection kept current as a reflector keeps it: list (page by page), then watch from the list's
// resourceVersion, resume a dropped watch from the last resourceVersion seen (bookmarks included), and list afresh
// only on 410 Gone, which is what kube-apiserver answers when that version has been compacted away.
import { ApiError, errorOf, getJson, lines } from './api.js';

export interface KubeObject {
  metadata?: { name?: string; resourceVersion?: string };
}

interface List<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

export interface WatchEvent {
  type: string;
  object?: { metadata?: { name?: string; resourceVersion?: string }; code?: number; message?: string };
}

export interface CollectionState<T> {
  /** By name: a Map, so that no name (`__proto__` included) is special. */
  items: ReadonlyMap<string, T>;
  /** True once the first list has arrived. */
  synced: boolean;
  /** Why the view may be stale: the last refusal or lost connection, until the watch is back. */
  error?: string;
}

export type EventOutcome = { kind: 'applied' | 'bookmark'; resourceVersion?: string } | { kind: 'relist' } | { kind: 'error'; message: string };

/** Applies one watch event to `items`, and says what the watch does next. */
export function applyEvent<T extends KubeObject>(items: Map<string, T>, event: WatchEvent): EventOutcome {
  const object = event.object;
  if (event.type === 'ERROR') {
    // 410: the resourceVersion is too old to resume from (Expired, or Gone), and only a new list can catch up.
    if (object?.code === 410) return { kind: 'relist' };
    return { kind: 'error', message: object?.message ?? 'watch error' };
  }
  const resourceVersion = object?.metadata?.resourceVersion;
  if (event.type === 'BOOKMARK') return resourceVersion === undefined ? { kind: 'bookmark' } : { kind: 'bookmark', resourceVersion };
  const name = object?.metadata?.name;
  if (name === undefined) return { kind: 'error', message: `a ${event.type} event without a name` };
  if (event.type === 'DELETED') items.delete(name);
  else if (event.type === 'ADDED' || event.type === 'MODIFIED') items.set(name, object as T);
  else return { kind: 'error', message: `unknown watch event type ${JSON.stringify(event.type)}` };
  return resourceVersion === undefined ? { kind: 'applied' } : { kind: 'applied', resourceVersion };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

async function listAll<T extends KubeObject>(path: string, signal: AbortSignal): Promise<{ items: Map<string, T>; resourceVersion: string }> {
  const items = new Map<string, T>();
  let token: string | undefined;
  let resourceVersion = '';
  do {
    const page = await getJson<List<T>>(`${path}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`, signal);
    for (const item of page.items ?? []) if (item.metadata?.name !== undefined) items.set(item.metadata.name, item);
    // Every page of one list is read at the first page's resourceVersion.
    resourceVersion ||= page.metadata?.resourceVersion ?? '';
    token = page.metadata?.continue || undefined;
  } while (token);
  return { items, resourceVersion };
}

/** Watches the collection at `path` until `signal` aborts, calling `onState` with each new state. */
export async function watchCollection<T extends KubeObject>(path: string, onState: (state: CollectionState<T>) => void, signal: AbortSignal): Promise<void> {
  let items = new Map<string, T>();
  let synced = false;
  let resourceVersion: string | undefined;
  let backoffMs = 500;
  const emit = (error?: string): void => onState({ items: new Map(items), synced, ...(error === undefined ? {} : { error }) });
  /** Applies a watch's events as they arrive; true when it must relist. */
  const follow = async (body: ReadableStream<Uint8Array>): Promise<boolean> => {
    for await (const batch of lines(body)) {
      let relist = false;
      for (const line of batch) {
        if (!line.trim()) continue;
        const outcome = applyEvent(items, JSON.parse(line) as WatchEvent);
        if (outcome.kind === 'relist') relist = true;
        else if (outcome.kind === 'error') throw new ApiError(500, outcome.message);
        else if (outcome.resourceVersion !== undefined) resourceVersion = outcome.resourceVersion;
        if (relist) break;
      }
      // Once per chunk, not per event: a relist's burst renders once.
      emit();
      if (relist) return true;
    }
    return false;
  };
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        ({ items, resourceVersion } = await listAll<T>(path, signal));
        synced = true;
        emit();
      }
      // Its own signal too: leaving the stream early (a relist, an error event) must close the connection.
      const stream = new AbortController();
      try {
        const res = await fetch(`${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`, {
          signal: AbortSignal.any([signal, stream.signal]),
        });
        if (res.status === 410) {
          resourceVersion = undefined;
          continue;
        }
        if (!res.ok || !res.body) throw await errorOf(res);
        const opened = Date.now();
        if (await follow(res.body)) resourceVersion = undefined;
        // A watch that lasted (kube-apiserver ends each after its request timeout) resumes at once from the last
        // resourceVersion seen; one that keeps ending as soon as it opens waits as a failure does, so it cannot spin.
        if (Date.now() - opened > 10_000) backoffMs = 500;
        else {
          await sleep(backoffMs, signal);
          backoffMs = Math.min(backoffMs * 2, 30_000);
        }
      } finally {
        stream.abort();
      }
    } catch (error) {
      if (signal.aborted) return;
      emit(error instanceof Error ? error.message : String(error));
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  }
}
