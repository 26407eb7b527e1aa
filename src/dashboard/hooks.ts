// Preact hooks over the API: a watched collection, and a clock for the durations that count up.
import { useEffect, useState } from 'preact/hooks';
import { collectionPath, type Resource } from './api.js';
import { watchCollection, type CollectionState, type KubeObject } from './watch.js';

const empty = { items: new Map(), synced: false };

/** The objects of one resource in `namespace`, live; a new namespace starts a new watch and stops the old one. */
export function useCollection<T extends KubeObject>(namespace: string, resource: Resource): CollectionState<T> {
  const [state, setState] = useState<CollectionState<T>>(empty);
  useEffect(() => {
    setState(empty);
    const abort = new AbortController();
    void watchCollection<T>(collectionPath(namespace, resource), setState, abort.signal);
    return () => abort.abort();
  }, [namespace, resource]);
  return state;
}

/** The time, renewed every `ms`: for idle times and ETAs between the watch's events. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
