// Follows one named object of kube-apiserver, as a client-go informer restricted to metadata.name does: a LIST with
// that field selector, then a WATCH from the list's resourceVersion; a 410 relists, any other failure retries with
// backoff, forever, until stopped. RBAC's resourceNames allow exactly this for list and watch: kube-apiserver takes a
// list or watch's name from its metadata.name field selector.
import type { Transport } from './transport.js';

export interface ObjectWatchOptions<T> {
  /** The collection, e.g. /api/v1/namespaces/kube-system/configmaps. */
  collection: string;
  name: string;
  /** The object after every change (once after each list too); undefined when it does not exist. */
  onChange(object: T | undefined): void;
  /** A failed list or watch; the watch is retried after it. */
  onError(error: unknown): void;
}

interface Meta {
  metadata?: { resourceVersion?: string };
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & Meta & { code?: number };
}

class Expired extends Error {}

const initialBackoffMs = 500;
const maxBackoffMs = 30_000;

/** Starts following the object; the returned function stops it. */
export function watchObject<T>(transport: Transport, options: ObjectWatchOptions<T>): () => void {
  const abort = new AbortController();
  const signal = abort.signal;
  const fieldSelector = `metadata.name=${options.name}`;
  const run = async (): Promise<void> => {
    let backoffMs = initialBackoffMs;
    while (!signal.aborted) {
      try {
        const list = await transport.json<{ metadata?: { resourceVersion?: string }; items?: T[] }>({
          method: 'GET',
          path: options.collection,
          query: { fieldSelector },
          signal,
        });
        options.onChange(list.items?.[0]);
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
      query: { watch: true, fieldSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: Math.floor(300 + Math.random() * 300) },
      signal,
    });
    healthy();
    res.setEncoding('utf8');
    let buffered = '';
    for await (const chunk of res) {
      buffered += chunk as string;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === '') continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          if (event.object.code === 410) throw new Expired();
          throw new Error(`watch of ${options.collection}/${options.name}: ${JSON.stringify(event.object)}`);
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === 'BOOKMARK') continue;
        options.onChange(event.type === 'DELETED' ? undefined : event.object);
      }
    }
    return resourceVersion;
  };
  run().catch(options.onError);
  return () => abort.abort();
}
