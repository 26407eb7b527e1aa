// One resource's read path (k8s.io/apiserver's cacher behind its CacheDelegator): a Storage wrapped with the resource's
// watch cache, answering reads with resourceVersion semantics from whichever of the two can serve them, so the store
// above asks for "this key at this revision" and never chooses between memory and the backend itself.
import type { Logger } from 'pino';
import {
  prefixEnd,
  StorageError,
  TooLargeRevisionError,
  type GuaranteedUpdateOptions,
  type ListOptions,
  type ListResult,
  type Storage,
  type StoredValue,
  type TryUpdate,
  type Watch,
  type WatchHandlers,
} from './interface.js';
import type { PersistentMap } from './persistent-map.js';
import { page, type CachedObject, type CacheWatcher, type WatchCache, type WatchFilter } from './watch-cache.js';

/** Where a paginated read resumes: the snapshot it reads and the first key not yet returned. */
export interface PagePosition {
  revision: number;
  startKey: string;
}

export interface ObjectListOptions {
  /** undefined: the latest (a consistent read); 0: any the cache holds; N: at least N, or exactly N when `exact`. */
  revision?: number;
  exact?: boolean;
  /** Resume a paginated read; `revision` and `exact` are then not given. */
  from?: PagePosition;
  /** Most items to return; all when absent or 0, and for a read at revision 0 whatever it says (as kube's cacher). */
  limit?: number;
  /** The objects wanted; all when absent, which is also when a page can say how many remain. */
  filter?: WatchFilter;
  signal?: AbortSignal;
}

export interface ObjectPage {
  /** In key order. Read from the cache or decoded from storage: the same shape either way. Shared: never mutate. */
  items: CachedObject[];
  /** The revision the page was read at. */
  revision: number;
  /** Where the next page starts, when the read stopped at its limit. */
  next?: PagePosition;
  /** How many keys remain after the page, for a read without a filter, when the backend knows cheaply. */
  remaining?: number;
}

export interface ObjectWatchOptions {
  /** undefined: from now; 0: from the cache's state, sent first as ADDED events; N: the events after N. */
  revision?: number;
  filter?: WatchFilter;
  bookmarks: boolean;
  sendInitialEvents: boolean;
  signal?: AbortSignal;
}

export interface CachedStorageOptions {
  /**
   * Serve consistent reads (resourceVersion "") from the watch cache once it has caught up with the backend's current
   * revision. Only safe where the backend's progress reports prove a watch has caught up (see open-storage.ts).
   */
  consistentReadsFromCache: boolean;
  logger: Logger;
}

/**
 * Failures are storage's typed errors: StorageError ('Gone' for a page of a compacted snapshot, 'FutureRevision' for a
 * consistent read the cache did not catch up with in time), TooLargeRevisionError for a revision not reached yet.
 */
export class CachedStorage implements Storage {
  private readonly consistentReadsFromCache: boolean;
  private readonly log: Logger;

  constructor(
    private readonly inner: Storage,
    readonly cache: WatchCache,
    options: CachedStorageOptions,
  ) {
    this.consistentReadsFromCache = options.consistentReadsFromCache;
    this.log = options.logger.child({ component: 'cached-storage', prefix: cache.prefix });
  }

  /** GET: resourceVersion "" reads the backend (linearizable, as kube-apiserver does); "0" or N the cache once it holds N. */
  async readObject(key: string, revision: number | undefined, signal?: AbortSignal): Promise<CachedObject | undefined> {
    if (revision === undefined) {
      const stored = await this.inner.get(key);
      return stored && this.cache.decode(stored.key, stored.value, stored.modRevision);
    }
    await this.cacheAt(revision, signal);
    return this.cache.get(key);
  }

  async listObjects(keyPrefix: string, options: ObjectListOptions = {}): Promise<ObjectPage> {
    const past = options.from?.revision ?? (options.exact ? options.revision : undefined);
    if (past !== undefined) {
      const snapshot = this.cache.snapshotAt(past, this.consistentReadsFromCache);
      if (!snapshot) return this.listFromStorage(keyPrefix, options);
      await this.assertNotCompacted(keyPrefix, past);
      return this.pageOf(snapshot, past, keyPrefix, options.from?.startKey ?? keyPrefix, options.limit ?? 0, options.filter);
    }
    if (options.revision === undefined && !this.consistentReadsFromCache) return this.listFromStorage(keyPrefix, options);
    // Served from memory: "0" as is, N once the cache reached N, "" once it reached the backend's current revision.
    if (options.revision === undefined) await this.consistentCache(options.signal);
    else await this.cacheAt(options.revision, options.signal);
    const { objects, revision } = this.cache.latest();
    // kube's cacher ignores the limit of a read at "0" (computeListLimit) and pages every other one.
    const limit = options.revision === 0 ? 0 : (options.limit ?? 0);
    return this.pageOf(objects, revision, keyPrefix, keyPrefix, limit, options.filter);
  }

  /** A watch, always served by the cache; the caller reads its events and ends it. */
  async watchObjects(keyPrefix: string, options: ObjectWatchOptions): Promise<CacheWatcher> {
    // Without trustworthy progress reports a watch from "now" starts at the cache's latest state.
    if (options.revision !== undefined) await this.cacheAt(options.revision, options.signal);
    else if (this.consistentReadsFromCache) await this.consistentCache(options.signal);
    else await this.cacheAt(0, options.signal);
    return this.cache.watch(keyPrefix, options.revision ?? 0, options.filter, {
      bookmarks: options.bookmarks,
      sendInitialEvents: options.sendInitialEvents,
    });
  }

  /** How many objects have keys under `keyPrefix` now, from the cache: cheap enough to estimate a LIST's cost. */
  count(keyPrefix: string): number {
    return this.cache.count(keyPrefix);
  }

  private pageOf(
    objects: PersistentMap<CachedObject>,
    revision: number,
    keyPrefix: string,
    startKey: string,
    limit: number,
    filter: WatchFilter | undefined,
  ): ObjectPage {
    const { items, nextKey, remaining } = page(objects, keyPrefix, startKey, limit, filter);
    if (nextKey === undefined) return { items, revision };
    this.cache.pin(revision, objects);
    const result: ObjectPage = { items, revision, next: { revision, startKey: nextKey } };
    if (!filter) result.remaining = remaining;
    return result;
  }

  /**
   * kube-apiserver 1.32 reads a continued page and an Exact list from etcd, which answers 410 once the revision is
   * compacted; the cache still holding that snapshot must not outlive etcd's history, and only etcd knows where it
   * was compacted (its own periodic compaction runs on its schedule). So a past snapshot is served after etcd reads
   * an empty range at that revision: a round trip that checks the revision and moves no objects.
   */
  private async assertNotCompacted(keyPrefix: string, revision: number): Promise<void> {
    const end = prefixEnd(keyPrefix).toString();
    try {
      await this.inner.list(keyPrefix, { revision, limit: 1, startKey: end });
    } catch (error) {
      if (error instanceof StorageError && error.code === 'Gone') {
        throw new StorageError('Gone', keyPrefix, `too old resource version: ${revision}`, error.compactRevision, { cause: error });
      }
      throw error;
    }
  }

  private async listFromStorage(keyPrefix: string, options: ObjectListOptions): Promise<ObjectPage> {
    const limit = options.limit ?? 0;
    const wanted = options.from?.revision ?? options.revision;
    const items: CachedObject[] = [];
    let readRevision = wanted;
    let nextKey = options.from?.startKey;
    for (;;) {
      let page;
      try {
        page = await this.inner.list(keyPrefix, { revision: readRevision, limit: limit > 0 ? limit - items.length : 0, startKey: nextKey });
      } catch (error) {
        if (error instanceof StorageError && error.code === 'Gone') {
          throw new StorageError('Gone', keyPrefix, `too old resource version: ${wanted}`, error.compactRevision, { cause: error });
        }
        if (error instanceof StorageError && error.code === 'FutureRevision') {
          throw new TooLargeRevisionError(wanted ?? 0, await this.inner.currentRevision());
        }
        throw error;
      }
      readRevision = page.revision;
      for (const stored of page.items) {
        const read = this.cache.decode(stored.key, stored.value, stored.modRevision);
        if (!options.filter || options.filter(read)) items.push(read);
      }
      const last = page.items[page.items.length - 1];
      if (!page.more || !last) return { items, revision: readRevision };
      nextKey = `${last.key}\0`;
      if (limit > 0 && items.length >= limit) {
        const result: ObjectPage = { items, revision: readRevision, next: { revision: readRevision, startKey: nextKey } };
        if (!options.filter && page.remaining !== undefined) result.remaining = page.remaining;
        return result;
      }
    }
  }

  private cacheAt(revision: number, signal?: AbortSignal): Promise<void> {
    return this.cache.waitUntilFresh(revision, signal);
  }

  private async consistentCache(signal?: AbortSignal): Promise<void> {
    try {
      await this.cache.consistentRevision(signal);
    } catch (error) {
      if (!(error instanceof TooLargeRevisionError)) throw error;
      this.log.warn({ wanted: error.wanted, current: error.current }, 'watch cache did not catch up for a consistent read');
      // The client named no revision: not its "too large resource version", but a read that timed out.
      throw new StorageError('FutureRevision', this.cache.prefix, `the watch cache did not reach resource version ${error.wanted} in time`);
    }
  }

  // Storage, passed through. A guaranteed update starts from the cache's copy when the caller has none, as the
  // cacher's delegator does: the copy saves a read, and a stale one costs one retry.

  guaranteedUpdate(key: string, tryUpdate: TryUpdate, options: GuaranteedUpdateOptions = {}): Promise<StoredValue> {
    const cached = this.cache.get(key);
    const suggestion = options.suggestion ?? (cached ? { key, value: Buffer.from(cached.json), modRevision: cached.revision, createRevision: 0 } : undefined);
    return this.inner.guaranteedUpdate(key, tryUpdate, { ...options, suggestion });
  }

  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }

  get(key: string): Promise<StoredValue | undefined> {
    return this.inner.get(key);
  }

  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return this.inner.list(prefix, options);
  }

  create(key: string, value: Buffer): Promise<StoredValue> {
    return this.inner.create(key, value);
  }

  delete(key: string, expectedModRevision?: number): Promise<{ deleted: StoredValue; revision: number }> {
    return this.inner.delete(key, expectedModRevision);
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    return this.inner.watch(prefix, afterRevision, handlers);
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
