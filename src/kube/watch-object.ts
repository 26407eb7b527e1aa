// Follows one named object of kube-apiserver, as a client-go informer restricted to metadata.name does: a collection
// watch (watch-collection.ts) with that field selector. RBAC's resourceNames allow exactly this for list and watch:
// kube-apiserver takes a list or watch's name from its metadata.name field selector.
import type { Transport } from './transport.js';
import { watchCollection, type WatchedObject } from './watch-collection.js';

export interface ObjectWatchOptions<T> {
  /** The collection, e.g. /api/v1/namespaces/kube-system/configmaps. */
  collection: string;
  name: string;
  /** The object after every change (once after each list too); undefined when it does not exist. */
  onChange(object: T | undefined): void;
  /** A failed list or watch; the watch is retried after it. */
  onError(error: unknown): void;
}

/** Starts following the object; the returned function stops it. */
export function watchObject<T>(transport: Transport, options: ObjectWatchOptions<T>): () => void {
  const watch = watchCollection<T & WatchedObject>(transport, {
    collection: options.collection,
    fieldSelector: `metadata.name=${options.name}`,
    onChange: () => options.onChange(watch.list()[0]),
    onError: options.onError,
  });
  return () => watch.stop();
}
