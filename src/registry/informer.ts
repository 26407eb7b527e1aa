// What the controllers read: one resource's watch cache, as client-go's informers present kube-apiserver's (a
// lister over the cache and change notifications), so a reconcile never waits on storage or the store's verbs.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta/types.js';
import type { CachedObject, WatchCache } from '../storage/watch-cache.js';
import { objectKey } from './codec.js';

/** Receives "namespace/name" of an object that may have changed. */
export type ChangeHandler = (key: string) => void;

export class Informer {
  constructor(
    private readonly cache: WatchCache,
    private readonly log: Logger,
  ) {}

  /** The object as the watch cache holds it now, without waiting. */
  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(objectKey(this.cache.prefix, namespace, name))?.object;
  }

  /** Every object of a namespace as the watch cache holds it now. */
  list(namespace: string): KubeObject[] {
    return this.cache.list(`${this.cache.prefix}${namespace}/`).items.map((item) => item.object);
  }

  /**
   * Hands `handler` the key of every object in the cache, then of every object that changes, until `signal` aborts.
   * When the cache ends the watch (it lost storage history and relists, or the handler fell too far behind), every
   * key is handed over again once the cache holds storage's current state, and so is every key it no longer holds:
   * a change the events no longer carry is still seen by whoever reads the object then.
   */
  onChange(handler: ChangeHandler, signal: AbortSignal): void {
    void this.deliver(handler, signal);
  }

  private async deliver(handler: ChangeHandler, signal: AbortSignal): Promise<void> {
    await this.cache.ready();
    // The keys handed over and not deleted since: after a relist, those it no longer holds were deleted unseen.
    const known = new Set<string>();
    while (!signal.aborted) {
      const watcher = this.cache.watch(this.cache.prefix, 0, undefined, { bookmarks: false, sendInitialEvents: false });
      let lostHistory = false;
      for (let event = await watcher.next(signal); event; event = await watcher.next(signal)) {
        if (event.type === 'ERROR') lostHistory = true;
        else if (event.type !== 'BOOKMARK') {
          const key = this.keyOf(event.object);
          if (event.type === 'DELETED') known.delete(key);
          else known.add(key);
          handler(key);
        }
      }
      watcher.end();
      if (signal.aborted) return;
      // The cache ends its watchers before it relists: the keys handed over now would be those of the state it gave up.
      if (lostHistory) await this.caughtUp(signal);
      const present = new Set(this.cache.list(this.cache.prefix).items.map((item) => this.keyOf(item)));
      for (const key of known) {
        if (present.has(key)) continue;
        known.delete(key);
        handler(key);
      }
    }
  }

  /** "namespace/name", read from the cache's key (prefix, namespace, "/", name) rather than by parsing the object. */
  private keyOf(cached: CachedObject): string {
    return cached.key.slice(this.cache.prefix.length);
  }

  private async caughtUp(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.cache.consistentRevision(signal);
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn({ err: error }, 'watch cache has not relisted yet; waiting to resync');
        await delay(1_000, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
