// The watch cache (k8s.io/apiserver's cacher): one storage watch per resource feeds an in-memory store of objects,
// each kept as its serialized JSON with the few fields selectors read, and a ring of recent events. It serves LIST at or after a
// revision, GET at "any" revision, and every watch. A gap in the storage watch (compaction) makes it relist and end
// every watcher with 410, so no client ever silently misses an event.
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta/types.js';
import { StorageError, TooLargeRevisionError, type Storage, type StorageEvent, type Watch } from './interface.js';
import { PersistentMap } from './persistent-map.js';

/** What label and field selectors read of an object, kept beside its JSON so that filtering never parses it. */
export interface Selectable {
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Every selectable field's value, metadata.name and metadata.namespace included. */
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * An object as the cache holds it: one representation, its JSON with metadata.resourceVersion set (a LIST is mostly
 * concatenation), plus what selectors read. A decoded copy kept beside it would more than double the cache's memory
 * (a parsed object costs about 1.5 times its JSON's size in V8's heap), and most reads never need one.
 */
export class CachedObject implements Selectable {
  constructor(
    readonly key: string,
    readonly json: string,
    readonly revision: number,
    readonly labels: Readonly<Record<string, string>> | undefined,
    readonly fields: Readonly<Record<string, string>>,
  ) {}

  /** A fresh decoded copy on every access, the caller's own to change: read it once per use. */
  get object(): KubeObject {
    return JSON.parse(this.json) as KubeObject;
  }
}

export type CacheEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: CacheEventType;
  /** For DELETED: the last state, with resourceVersion set to the revision of the delete. */
  object: CachedObject;
  /** The state before a MODIFIED or DELETED event, used to turn selector transitions into ADDED/DELETED. */
  previous?: CachedObject;
  revision: number;
}

/** A stored value as the cache keeps it, with metadata.resourceVersion set to `revision`. */
export type Decoder = (key: string, value: Buffer, revision: number) => CachedObject;

export interface WatchCacheOptions {
  /** Events younger than this are always kept: kube-apiserver keeps ≥ 75 s. */
  historyWindowMs?: number;
  /** Events kept even when older than the window. */
  minHistoryEvents?: number;
  /** Hard bound on the ring, whatever the window says. */
  maxHistoryEvents?: number;
  /** Events a watcher may fall behind by before it is closed as too slow. */
  watcherQueueLimit?: number;
  /** How often watchers that asked for bookmarks get one. */
  bookmarkIntervalMs?: number;
  /** How long a read waits for the cache to reach a revision before giving up. */
  freshnessTimeoutMs?: number;
}

export type WatchFilter = (object: Selectable) => boolean;

export type WatcherEvent =
  | {
      type: CacheEventType;
      object: CachedObject;
      /**
       * The event's line in a JSON watch stream: made by the first stream that writes it, for every other stream
       * handed the same event (see sharedEvent); it goes when the last queue holding the event moves past it.
       */
      jsonLine?: Buffer;
    }
  | { type: 'BOOKMARK'; revision: number; initialEventsEnd: boolean }
  | { type: 'ERROR'; error: StorageError };

/** A batch of storage events, applied up to `next` so far, or a progress report to take in its turn. */
type QueuedItem = { events: StorageEvent[]; next: number } | { progress: number };

/** How long the cache applies events before it lets the event loop serve requests again. */
const applySliceMs = 1;

interface Waiter {
  revision: number;
  resolve(): void;
}

/** The cache's objects as of `revision`, kept while a paginated LIST may still read them. */
interface Snapshot {
  revision: number;
  objects: PersistentMap<CachedObject>;
}

/** One page of a snapshot, in key order. */
export interface SnapshotPage {
  items: CachedObject[];
  /** The first key after the page, when keys under the prefix remain after it. */
  nextKey?: string;
  /** How many keys under the prefix remain after the page. */
  remaining: number;
}

export class WatchCache {
  /** Keyed and ordered (namespace ranges and continue keys are O(log n) searches); each write makes a new version. */
  private objects = PersistentMap.empty<CachedObject>();
  /**
   * Versions of `objects` that a paginated LIST read, oldest first, sharing unchanged nodes, so that its next pages
   * read the same state. Any other revision the ring covers is rebuilt on demand by undoing the ring's later events
   * (see snapshotAt): kube-apiserver ≥ 1.31 keeps a btree clone per event over the same window, which here cost
   * about 0.8 KiB of path copies per write for 75 seconds, for reads that are rare.
   */
  private pinned: Snapshot[] = [];
  private ring: CacheEvent[] = [];
  private ringTimes: number[] = [];
  /** Every event with a revision above this is in the ring. */
  private ringStart = 0;
  private revision = 0;
  private readonly watchers = new Set<CacheWatcher>();
  /** Watchers still replaying storage history older than the ring, with the storage watch feeding each. */
  private readonly backfills = new Map<CacheWatcher, Watch>();
  private waiters: Waiter[] = [];
  /** What the storage watch delivered and the cache has not applied yet, in order (see drain). */
  private queue: QueuedItem[] = [];
  private draining = false;
  private storageWatch: Watch | undefined;
  private readyPromise: Promise<void>;
  private markReady!: () => void;
  private listed = false;
  private stopped = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private readonly options: Required<WatchCacheOptions>;
  private readonly log: Logger;

  constructor(
    private readonly storage: Storage,
    readonly prefix: string,
    /** How stored values become objects; the storage reads served beside the cache decode with it too. */
    readonly decode: Decoder,
    logger: Logger,
    options: WatchCacheOptions = {},
  ) {
    this.options = {
      historyWindowMs: options.historyWindowMs ?? 75_000,
      minHistoryEvents: options.minHistoryEvents ?? 1_000,
      maxHistoryEvents: options.maxHistoryEvents ?? 100_000,
      watcherQueueLimit: options.watcherQueueLimit ?? 10_000,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      freshnessTimeoutMs: options.freshnessTimeoutMs ?? 3_000,
    };
    this.log = logger.child({ component: 'watch-cache', prefix });
    this.readyPromise = new Promise((resolve) => (this.markReady = resolve));
  }

  start(): void {
    void this.relist(0);
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), this.options.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.relistTimer);
    this.storageWatch?.close();
    for (const watcher of [...this.watchers, ...this.backfills.keys()]) watcher.end();
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Whether the cache has listed at least once. */
  get synced(): boolean {
    return this.listed;
  }

  get(key: string): CachedObject | undefined {
    return this.objects.get(key);
  }

  /** How many objects have keys starting with `keyPrefix`: two tree searches, cheap enough to run per request. */
  count(keyPrefix: string): number {
    return this.objects.rank(`${keyPrefix}\uffff`) - this.objects.rank(keyPrefix);
  }

  /** Objects whose keys start with `keyPrefix`, in key order, matching `filter`, as of the cache's revision. */
  list(keyPrefix: string, filter?: WatchFilter): { items: CachedObject[]; revision: number } {
    return { items: page(this.objects, keyPrefix, keyPrefix, 0, filter).items, revision: this.revision };
  }

  /**
   * The objects as they were at `revision`, or undefined when the cache cannot tell: before the ring's start, past
   * the revision it has reached, or before it first listed. Stable: later writes do not change it. A version a page
   * pinned is returned as it is; any other costs undoing the ring's events after `revision`.
   * `trustProgress`: whether a revision reached only through a progress report counts (see CachedStorageOptions);
   * without it the cache vouches only for revisions up to its last event, before which no event can still come.
   */
  snapshotAt(revision: number, trustProgress: boolean): PersistentMap<CachedObject> | undefined {
    if (!this.listed || revision < this.ringStart) return undefined;
    const lastEvent = this.ring.length > 0 ? this.ring[this.ring.length - 1]!.revision : this.ringStart;
    if (revision > (trustProgress ? this.revision : lastEvent)) return undefined;
    // The state at `revision` is the one after the events up to it: a pinned version with the same events applied is it.
    const later = firstAfter(this.ring, revision);
    const pinned = this.pinned.find((snapshot) => firstAfter(this.ring, snapshot.revision) === later);
    if (pinned) return pinned.objects;
    let objects = this.objects;
    for (let i = this.ring.length - 1; i >= later; i--) {
      const event = this.ring[i]!;
      objects = event.previous ? objects.set(event.object.key, event.previous) : objects.delete(event.object.key);
    }
    return objects;
  }

  /** The current objects and the revision they are at: the snapshot a consistent or NotOlderThan page reads. */
  latest(): { objects: PersistentMap<CachedObject>; revision: number } {
    return { objects: this.objects, revision: this.revision };
  }

  /** Keeps `objects`, the state at `revision`, for the next pages of a LIST read from it, while the ring covers it. */
  pin(revision: number, objects: PersistentMap<CachedObject>): void {
    if (revision < this.ringStart || this.pinned.some((snapshot) => snapshot.revision === revision)) return;
    this.pinned.push({ revision, objects });
    this.pinned.sort((a, b) => a.revision - b.revision);
  }

  /** Resolves once the cache reflects `revision`; asks etcd for progress so a quiet resource catches up. */
  async waitUntilFresh(revision: number, signal?: AbortSignal): Promise<void> {
    await this.readyPromise;
    if (this.revision >= revision) return;
    const deadline = Date.now() + this.options.freshnessTimeoutMs;
    while (this.revision < revision) {
      signal?.throwIfAborted();
      if (this.stopped) throw new StorageError('Unreachable', this.prefix, 'watch cache stopped');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new TooLargeRevisionError(revision, this.revision);
      this.storageWatch?.requestProgress();
      await new Promise<void>((resolve) => {
        const waiter: Waiter = { revision, resolve };
        this.waiters.push(waiter);
        setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve();
        }, Math.min(remaining, 100));
      });
    }
  }

  /** The latest revision in storage, once the cache has caught up to it: a consistent read served from memory. */
  async consistentRevision(signal?: AbortSignal): Promise<number> {
    const revision = await this.storage.currentRevision();
    await this.waitUntilFresh(revision, signal);
    return revision;
  }

  /**
   * A watcher of keys under `keyPrefix` for events after `fromRevision`; 0 means "now", preceded by an ADDED
   * for every current object. From before the ring it replays the storage's history; when that is compacted too,
   * its one event is an ERROR with StorageError 'Gone'.
   */
  watch(
    keyPrefix: string,
    fromRevision: number,
    filter: WatchFilter | undefined,
    options: { bookmarks: boolean; sendInitialEvents: boolean },
  ): CacheWatcher {
    const initial = fromRevision === 0 || options.sendInitialEvents;
    const watcher = new CacheWatcher(keyPrefix, filter, options.bookmarks, this.options.watcherQueueLimit, (w) => {
      this.watchers.delete(w);
      this.backfills.get(w)?.close();
      this.backfills.delete(w);
    });
    if (!initial && fromRevision < this.ringStart) {
      this.backfill(watcher, keyPrefix, fromRevision);
      return watcher;
    }
    if (initial) {
      const current = this.list(keyPrefix, filter).items;
      // The initial state is owed in full, however large; the slow-watcher bound applies to what follows it.
      watcher.queueLimit += current.length;
      for (const cached of current) watcher.push({ type: 'ADDED', object: cached });
      watcher.lastRevision = this.revision;
      if (options.sendInitialEvents) watcher.push({ type: 'BOOKMARK', revision: this.revision, initialEventsEnd: true });
    } else {
      watcher.lastRevision = fromRevision;
      for (let i = firstAfter(this.ring, fromRevision); i < this.ring.length; i++) watcher.deliver(this.ring[i]!);
    }
    this.watchers.add(watcher);
    return watcher;
  }

  /**
   * A watch from before the ring (a client resuming after this server restarted, or after a long pause) is served
   * from the storage's own history, which reaches back to its last compaction, and joins the ring once that history
   * reaches the ring's start. Only a compaction past the resume point ends it, with 410.
   */
  private backfill(watcher: CacheWatcher, keyPrefix: string, fromRevision: number): void {
    watcher.lastRevision = fromRevision;
    const joinRing = (): void => {
      this.backfills.get(watcher)?.close();
      this.backfills.delete(watcher);
      if (watcher.isEnded) return;
      for (let i = firstAfter(this.ring, watcher.lastRevision); i < this.ring.length; i++) watcher.deliver(this.ring[i]!);
      this.watchers.add(watcher);
    };
    const storageWatch = this.storage.watch(keyPrefix, fromRevision, {
      onEvents: (events) => {
        if (!this.backfills.has(watcher)) return;
        for (const event of events) {
          // Storage has delivered everything before this event, and the ring holds everything after its start.
          if (event.revision > this.ringStart) {
            joinRing();
            return;
          }
          const cacheEvent = this.historyEvent(event);
          if (cacheEvent) watcher.deliver(cacheEvent);
        }
      },
      onProgress: (revision) => {
        if (this.backfills.has(watcher) && revision >= this.ringStart) joinRing();
      },
      onError: (error) => {
        this.backfills.delete(watcher);
        watcher.push({
          type: 'ERROR',
          error: new StorageError('Gone', keyPrefix, `too old resource version: ${fromRevision} (${error.compactRevision ?? 0})`),
        });
        watcher.end();
      },
    });
    this.backfills.set(watcher, storageWatch);
    storageWatch.requestProgress();
  }

  /** A storage event from before the ring, as the watcher sees it; the state before it comes with the event. */
  private historyEvent(event: StorageEvent): CacheEvent | undefined {
    const decoded = (value: Buffer): CachedObject => this.decode(event.key, value, event.revision);
    const previous = event.prevValue ? decoded(event.prevValue) : undefined;
    if (event.type === 'put') {
      return { type: event.created ? 'ADDED' : 'MODIFIED', object: decoded(event.value!), previous, revision: event.revision };
    }
    return previous ? { type: 'DELETED', object: previous, previous, revision: event.revision } : undefined;
  }

  private async relist(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      const listed = await this.storage.list(this.prefix);
      if (this.stopped) return;
      let objects = PersistentMap.empty<CachedObject>();
      for (const item of listed.items) objects = objects.set(item.key, this.decode(item.key, item.value, item.modRevision));
      this.objects = objects;
      this.pinned = [];
      this.ring = [];
      this.ringTimes = [];
      this.ringStart = listed.revision;
      this.setRevision(listed.revision);
      this.storageWatch = this.storage.watch(this.prefix, listed.revision, {
        onEvents: (events) => this.enqueue({ events, next: 0 }),
        onProgress: (revision) => this.enqueue({ progress: revision }),
        onError: (error) => this.onWatchError(error),
      });
      this.log.info({ objects: this.objects.size, revision: listed.revision }, 'watch cache listed');
      this.listed = true;
      this.markReady();
    } catch (error) {
      const delay = Math.min(100 * 2 ** attempt, 5_000);
      this.log.warn({ err: error, retryInMs: delay }, 'watch cache list failed');
      this.relistTimer = setTimeout(() => void this.relist(attempt + 1), delay);
    }
  }

  private onWatchError(error: StorageError): void {
    this.log.warn({ err: error }, 'storage watch lost history; relisting and ending every watcher with 410');
    this.storageWatch = undefined;
    this.queue = [];
    for (const watcher of [...this.watchers]) {
      watcher.push({
        type: 'ERROR',
        error: new StorageError('Gone', this.prefix, `too old resource version: ${watcher.lastRevision} (${error.compactRevision ?? 0})`),
      });
      watcher.end();
    }
    void this.relist(0);
  }

  private enqueue(item: QueuedItem): void {
    this.queue.push(item);
    if (!this.draining) this.drain();
  }

  /**
   * Applies what the storage watch delivered, in order, a slice of at most about `applySliceMs` at a time, then
   * lets the event loop serve requests before the next slice: a burst of writes arrives as batches of hundreds of
   * events, and applying one whole (decoding each) held every GET behind it for milliseconds. A slice ends only
   * between revisions, so a read never sees part of one etcd transaction; progress reports wait their turn behind
   * the events before them.
   */
  private drain(): void {
    this.draining = true;
    const deadline = performance.now() + applySliceMs;
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      if ('progress' in item) {
        this.queue.shift();
        this.setRevision(item.progress);
        continue;
      }
      item.next = this.apply(item.events, item.next, deadline);
      if (item.next === item.events.length) this.queue.shift();
      if (this.queue.length > 0 && performance.now() >= deadline) {
        setImmediate(() => this.drain());
        return;
      }
    }
    this.draining = false;
  }

  /** Applies `events` from `from` on, stopping between two revisions once `deadline` has passed: returns where. */
  private apply(events: StorageEvent[], from: number, deadline: number): number {
    const now = Date.now();
    let next = from;
    for (; next < events.length; next++) {
      const event = events[next]!;
      if (next > from && event.revision !== events[next - 1]!.revision && performance.now() >= deadline) break;
      const previous = this.objects.get(event.key);
      let cacheEvent: CacheEvent;
      if (event.type === 'put') {
        const cached = this.decode(event.key, event.value!, event.revision);
        this.objects = this.objects.set(event.key, cached);
        cacheEvent = { type: previous ? 'MODIFIED' : 'ADDED', object: cached, previous, revision: event.revision };
      } else {
        const last = event.prevValue ?? (previous ? Buffer.from(previous.json) : undefined);
        if (!last) continue;
        this.objects = this.objects.delete(event.key);
        cacheEvent = { type: 'DELETED', object: this.decode(event.key, last, event.revision), previous, revision: event.revision };
      }
      this.ring.push(cacheEvent);
      this.ringTimes.push(now);
      for (const watcher of this.watchers) watcher.deliver(cacheEvent);
    }
    this.trimHistory(now);
    this.setRevision(events[next - 1]!.revision);
    return next;
  }

  private trimHistory(now: number): void {
    const { historyWindowMs, minHistoryEvents, maxHistoryEvents } = this.options;
    let drop = 0;
    while (
      this.ring.length - drop > minHistoryEvents &&
      (this.ring.length - drop > maxHistoryEvents || now - this.ringTimes[drop]! > historyWindowMs)
    ) {
      drop++;
    }
    if (drop === 0) return;
    this.ringStart = this.ring[drop - 1]!.revision;
    this.ring = this.ring.slice(drop);
    this.ringTimes = this.ringTimes.slice(drop);
    // A continued page from before the ring's start reads storage, as it did before any snapshot was kept.
    this.pinned = this.pinned.filter((snapshot) => snapshot.revision >= this.ringStart);
  }

  private setRevision(revision: number): void {
    if (revision <= this.revision) return;
    this.revision = revision;
    const due = this.waiters.filter((w) => w.revision <= revision);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const waiter of due) waiter.resolve();
  }

  private sendBookmarks(): void {
    this.storageWatch?.requestProgress();
    // A replay whose prefix has been quiet joins the ring on the progress answer.
    for (const backfill of this.backfills.values()) backfill.requestProgress();
    for (const watcher of this.watchers) watcher.bookmark(this.revision);
  }
}

/**
 * One client's view of the cache: a bounded queue of events, read with next(). A watcher that falls further
 * behind than its limit is ended, as kube-apiserver's cacher ends a slow watcher, rather than buffering forever.
 */
export class CacheWatcher {
  lastRevision = 0;
  private queue: WatcherEvent[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly keyPrefix: string,
    private readonly filter: WatchFilter | undefined,
    private readonly bookmarks: boolean,
    /** Events it may fall behind by; raised by the size of the initial state it is sent. */
    public queueLimit: number,
    private readonly onEnd: (watcher: CacheWatcher) => void,
  ) {}

  /** Next event, or undefined once the watcher has ended and its queue is drained. */
  async next(signal?: AbortSignal): Promise<WatcherEvent | undefined> {
    while (this.queue.length === 0) {
      if (this.ended || signal?.aborted) return undefined;
      let onAbort: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        onAbort = resolve;
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      // One listener per wait would pile up on a long watch's signal.
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.wake = undefined;
    }
    return this.queue.shift();
  }

  /** The next queued event without waiting: a stream writes what is queued in one go. */
  take(): WatcherEvent | undefined {
    return this.queue.shift();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    this.wake?.();
  }

  push(event: WatcherEvent): void {
    if (this.ended) return;
    if (this.queue.length >= this.queueLimit) {
      this.end();
      return;
    }
    this.queue.push(event);
    this.wake?.();
  }

  deliver(event: CacheEvent): void {
    if (this.ended || event.revision <= this.lastRevision || !event.object.key.startsWith(this.keyPrefix)) return;
    this.lastRevision = event.revision;
    const matchesNow = event.type !== 'DELETED' && (!this.filter || this.filter(event.object));
    const matchedBefore = event.previous !== undefined && (!this.filter || this.filter(event.previous));
    // A selector turns an object moving into or out of its set into ADDED or DELETED, as the cacher does.
    if (event.type === 'DELETED') {
      if (matchedBefore || (!event.previous && (!this.filter || this.filter(event.object)))) {
        this.push(sharedEvent(event, 'DELETED', () => event.object));
      }
    } else if (matchesNow) {
      this.push(sharedEvent(event, event.type === 'MODIFIED' && matchedBefore ? 'MODIFIED' : 'ADDED', () => event.object));
    } else if (matchedBefore) {
      // What the watcher last saw, not the state it cannot see: kube's cacher sends the previous object, at the
      // event's resourceVersion.
      this.push(sharedEvent(event, 'DELETED', () => atRevision(event.previous!, event.revision)));
    }
  }

  bookmark(revision: number): void {
    if (!this.bookmarks || this.ended || revision <= 0) return;
    if (revision > this.lastRevision) this.lastRevision = revision;
    this.push({ type: 'BOOKMARK', revision: this.lastRevision, initialEventsEnd: false });
  }
}

/**
 * What every watcher that sees `event` as `type` is sent: one object per type however many watchers take it, so
 * that a stream can encode it once for all of them (watch-stream.ts) and a selector's DELETED copies the previous
 * state once. For a given event and type the object is always the same (DELETED of a DELETED event is its last
 * state; of an ADDED or MODIFIED one, the previous state). One slot is enough: fan-out hands one event to every
 * watcher before the next, and it keeps alive no more than the last event.
 */
let sharedFor: CacheEvent | undefined;
let shared: Partial<Record<CacheEventType, WatcherEvent>> = {};

function sharedEvent(event: CacheEvent, type: CacheEventType, object: () => CachedObject): WatcherEvent {
  if (sharedFor !== event) {
    sharedFor = event;
    shared = {};
  }
  return (shared[type] ??= { type, object: object() });
}

function atRevision(cached: CachedObject, revision: number): CachedObject {
  // A cached object's JSON carries its own revision as resourceVersion.
  if (cached.revision === revision) return cached;
  const object = cached.object;
  object.metadata.resourceVersion = String(revision);
  return new CachedObject(cached.key, JSON.stringify(object), revision, cached.labels, cached.fields);
}

/**
 * Up to `limit` objects (all when 0) under `keyPrefix` from `startKey` on that match `filter`, as kube-apiserver's
 * cacher pages: the page goes on while keys remain under the prefix, matching or not.
 */
export function page(
  objects: PersistentMap<CachedObject>,
  keyPrefix: string,
  startKey: string,
  limit: number,
  filter?: WatchFilter,
): SnapshotPage {
  const items: CachedObject[] = [];
  let lastKey: string | undefined;
  for (const [key, cached] of objects.entriesFrom(startKey < keyPrefix ? keyPrefix : startKey)) {
    if (!key.startsWith(keyPrefix)) break;
    if (limit > 0 && items.length >= limit) {
      const remaining = objects.rank(`${keyPrefix}\uffff`) - objects.rank(key);
      return { items, nextKey: `${lastKey!}\0`, remaining };
    }
    if (!filter || filter(cached)) {
      items.push(cached);
      lastKey = key;
    }
  }
  return { items, remaining: 0 };
}

function firstAfter(ring: CacheEvent[], revision: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring[mid]!.revision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
