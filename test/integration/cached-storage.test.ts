// The read path's policy (src/storage/cached-storage.ts) over each real backend: which reads the watch cache answers and
// which go to storage, seen in the storage calls each read makes (through the metrics' instrumented storage), what each
// answers, and the typed errors of a read at a revision not reached yet or compacted away.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { KubeObject } from '../../src/api/meta/types.js';
import { cacheDecoder } from '../../src/registry/codec.js';
import { CachedStorage, type ObjectPage } from '../../src/storage/cached-storage.js';
import { instrumentStorage } from '../../src/storage/instrumented-storage.js';
import { skipUpdate, StorageError, TooLargeRevisionError, type StoredValue } from '../../src/storage/interface.js';
import { WatchCache, type CachedObject, type Selectable, type WatchCacheOptions } from '../../src/storage/watch-cache.js';
import { startRegistryOn, type AnyRegistryFixture, type Backend } from '../support/registry.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const decode = cacheDecoder((thing: KubeObject) => ({ 'metadata.name': thing.metadata.name ?? '', 'metadata.namespace': thing.metadata.namespace ?? '' }));

const object = (name: string, labels: Record<string, string> = {}): Buffer =>
  Buffer.from(JSON.stringify({ apiVersion: 'test/v1', kind: 'Thing', metadata: { name, namespace: 'ns', labels } }));

const names = (page: ObjectPage): string[] => page.items.map((item) => item.object.metadata.name!);

interface Opened {
  prefix: string;
  key(name: string): string;
  cache: WatchCache;
  cached: CachedStorage;
  /** The storage operations made since open() returned, in order. */
  calls: string[];
  /** How many objects storage lists have returned since open() returned. */
  listedFromStorage: { count: number };
  /** The revision of each object's last write. */
  written: Map<string, number>;
}

for (const backend of ['etcd', 'sqlite'] satisfies Backend[]) {
  describe(`cached storage on ${backend}`, () => {
    let fixture: AnyRegistryFixture;
    let prefixes = 0;
    const opened: WatchCache[] = [];

    before(async () => {
      fixture = await startRegistryOn(backend);
    });
    after(async () => {
      for (const cache of opened) cache.stop();
      await fixture.close();
    });

    /** A fresh prefix holding things a, b and c, under a started watch cache and its decorator. */
    async function open(consistentReadsFromCache = true, cacheOptions: WatchCacheOptions = {}): Promise<Opened> {
      const prefix = `/test/cached-storage-${++prefixes}/`;
      const key = (name: string): string => `${prefix}ns/${name}`;
      const calls: string[] = [];
      const instrumented = instrumentStorage(fixture.storage, { observe: (operation) => calls.push(operation), failed: () => undefined });
      const listedFromStorage = { count: 0 };
      const storage = {
        ...instrumented,
        list: async (...args: Parameters<typeof instrumented.list>) => {
          const listed = await instrumented.list(...args);
          listedFromStorage.count += listed.items.length;
          return listed;
        },
      };
      const written = new Map<string, number>();
      for (const name of ['a', 'b', 'c']) written.set(name, (await fixture.storage.create(key(name), object(name, { name }))).modRevision);
      // A freshness wait gives up after a second: long enough for a loaded machine to deliver a write just made.
      const cache = new WatchCache(storage, prefix, decode, logger, { freshnessTimeoutMs: 1_000, ...cacheOptions });
      opened.push(cache);
      cache.start();
      await cache.ready();
      const cached = new CachedStorage(storage, cache, { consistentReadsFromCache, logger });
      calls.length = 0;
      listedFromStorage.count = 0;
      return { prefix, key, cache, cached, calls, listedFromStorage, written };
    }

    const sources: { name: string; consistentReadsFromCache?: boolean; read(o: Opened): Promise<unknown>; calls: string[] }[] = [
      { name: 'a GET at "" reads storage (linearizable)', read: (o) => o.cached.readObject(o.key('a'), undefined), calls: ['get'] },
      { name: 'a GET at "0" is the cache\'s', read: (o) => o.cached.readObject(o.key('a'), 0), calls: [] },
      { name: 'a GET at a revision the cache holds is the cache\'s', read: (o) => o.cached.readObject(o.key('a'), o.written.get('c')!), calls: [] },
      {
        name: 'a consistent LIST asks storage for its revision, then is the cache\'s',
        read: (o) => o.cached.listObjects(o.prefix),
        calls: ['currentRevision'],
      },
      {
        name: 'a consistent LIST reads storage where progress reports cannot be trusted',
        consistentReadsFromCache: false,
        read: (o) => o.cached.listObjects(o.prefix),
        calls: ['list'],
      },
      {
        name: 'a paginated consistent LIST asks storage for its revision, then is a page of the cache\'s',
        read: (o) => o.cached.listObjects(o.prefix, { limit: 2 }),
        calls: ['currentRevision'],
      },
      {
        name: 'a paginated consistent LIST reads storage where progress reports cannot be trusted',
        consistentReadsFromCache: false,
        read: (o) => o.cached.listObjects(o.prefix, { limit: 2 }),
        calls: ['list'],
      },
      { name: 'a LIST at "0" is the cache\'s, whatever its limit', read: (o) => o.cached.listObjects(o.prefix, { revision: 0, limit: 1 }), calls: [] },
      { name: 'a LIST not older than a revision the cache holds is the cache\'s', read: (o) => o.cached.listObjects(o.prefix, { revision: o.written.get('a')! }), calls: [] },
      {
        name: 'a paginated LIST not older than a revision the cache holds is a page of the cache\'s',
        read: (o) => o.cached.listObjects(o.prefix, { revision: o.written.get('a')!, limit: 1 }),
        calls: [],
      },
      {
        name: 'an Exact LIST from before the cache\'s oldest snapshot reads storage',
        read: (o) => o.cached.listObjects(o.prefix, { revision: o.written.get('a')!, exact: true }),
        calls: ['list'],
      },
      {
        name: 'a continued LIST from before the cache\'s oldest snapshot reads storage',
        read: (o) => o.cached.listObjects(o.prefix, { from: { revision: o.written.get('a')!, startKey: o.key('b') } }),
        calls: ['list'],
      },
      {
        name: 'a watch from now asks storage for its revision, then is the cache\'s',
        read: async (o) => (await o.cached.watchObjects(o.prefix, { bookmarks: false, sendInitialEvents: false })).end(),
        calls: ['currentRevision'],
      },
      {
        name: 'a watch from now starts at the cache\'s state where progress reports cannot be trusted',
        consistentReadsFromCache: false,
        read: async (o) => (await o.cached.watchObjects(o.prefix, { bookmarks: false, sendInitialEvents: false })).end(),
        calls: [],
      },
      { name: 'a count is the cache\'s', read: async (o) => o.cached.count(o.prefix), calls: [] },
    ];
    for (const tc of sources) {
      it(tc.name, async () => {
        const o = await open(tc.consistentReadsFromCache);
        await tc.read(o);
        assert.deepEqual(o.calls, tc.calls);
      });
    }

    it('reads answer with objects decoded alike from either source, at the revision of their last write', async () => {
      const o = await open();
      const fromStorage = await o.cached.readObject(o.key('b'), undefined);
      const fromCache = await o.cached.readObject(o.key('b'), 0);
      assert.equal(fromStorage?.object.metadata.resourceVersion, String(o.written.get('b')));
      assert.deepEqual(fromStorage, fromCache);
      assert.equal(await o.cached.readObject(o.key('absent'), undefined), undefined);
      assert.equal(await o.cached.readObject(o.key('absent'), 0), undefined);
    });

    it('an Exact LIST reads the past the cache no longer holds; NotOlderThan the same revision answers the present', async () => {
      const o = await open();
      const before = o.written.get('c')!;
      await fixture.storage.guaranteedUpdate(o.key('a'), () => object('a', { name: 'a', step: '2' }));
      const past = await o.cached.listObjects(o.prefix, { revision: before, exact: true });
      assert.equal(past.revision, before);
      assert.deepEqual(past.items[0]!.object.metadata.labels, { name: 'a' });
      const present = await o.cached.listObjects(o.prefix, { revision: before });
      assert.ok(present.revision > before, `cached read at ${present.revision}, not after ${before}`);
      assert.deepEqual(present.items[0]!.object.metadata.labels, { name: 'a', step: '2' });
    });

    it('a cached LIST returns every object it selects, in key order, limit or not', async () => {
      const o = await open();
      const page = await o.cached.listObjects(o.prefix, { revision: 0, limit: 1, filter: (thing: Selectable) => thing.fields['metadata.name'] !== 'b' });
      assert.deepEqual(names(page), ['a', 'c']);
      assert.equal(page.next, undefined);
    });

    it('pages of storage come from one snapshot: the next page starts after the last key, and an unfiltered page counts the rest', async () => {
      const o = await open();
      const first = await o.cached.listObjects(o.prefix, { limit: 2 });
      assert.deepEqual(names(first), ['a', 'b']);
      assert.deepEqual(first.next, { revision: first.revision, startKey: `${o.key('b')}\0` });
      assert.equal(first.remaining, 1);
      await fixture.storage.create(o.key('d'), object('d'));
      const second = await o.cached.listObjects(o.prefix, { from: first.next!, limit: 2 });
      assert.deepEqual(names(second), ['c']);
      assert.equal(second.revision, first.revision);
      assert.equal(second.next, undefined);
      const filtered = await o.cached.listObjects(o.prefix, { limit: 1, filter: (thing: Selectable) => thing.fields['metadata.name'] !== 'a' });
      assert.deepEqual(names(filtered), ['b']);
      assert.equal(filtered.remaining, undefined);
    });

    it('a revision not reached yet is TooLargeRevisionError: the cache\'s revision for a cached read, storage\'s for an Exact one', async () => {
      const o = await open();
      const current = await fixture.storage.currentRevision();
      const future = current + 1_000;
      await assert.rejects(o.cached.readObject(o.key('a'), future), (error: unknown) => {
        assert.ok(error instanceof TooLargeRevisionError, String(error));
        assert.equal(error.wanted, future);
        assert.ok(error.current >= o.written.get('c')! && error.current < future, `current ${error.current}`);
        return true;
      });
      await assert.rejects(o.cached.listObjects(o.prefix, { revision: future, exact: true }), (error: unknown) => {
        assert.ok(error instanceof TooLargeRevisionError, String(error));
        assert.equal(error.wanted, future);
        assert.ok(error.current >= current && error.current < future, `current ${error.current}`);
        return true;
      });
    });

    it('a compacted snapshot is StorageError Gone naming the revision asked for, for an Exact read and a continued one', async () => {
      const o = await open();
      const first = await o.cached.listObjects(o.prefix, { limit: 1 });
      const past = o.written.get('a')!;
      await fixture.storage.create(o.key('d'), object('d'));
      await fixture.storage.compact(await fixture.storage.currentRevision());
      const gone = (revision: number) => (error: unknown) => {
        assert.ok(error instanceof StorageError && error.code === 'Gone', String(error));
        assert.equal(error.message, `too old resource version: ${revision}`);
        return true;
      };
      await assert.rejects(o.cached.listObjects(o.prefix, { revision: past, exact: true }), gone(past));
      await assert.rejects(o.cached.listObjects(o.prefix, { from: first.next!, limit: 1 }), gone(first.revision));
    });

    /** What storage itself answers for the whole prefix at `revision`, decoded as the cache decodes. */
    async function storageAt(o: Opened, revision: number): Promise<{ key: string; json: string }[]> {
      const listed = await fixture.storage.list(o.prefix, { revision });
      return listed.items.map((stored) => ({ key: stored.key, json: decode(stored.key, stored.value, stored.modRevision).json }));
    }
    const asStored = (items: CachedObject[]): { key: string; json: string }[] => items.map(({ key, json }) => ({ key, json }));

    it('pages served from the cache\'s snapshot are what storage holds at their revision, with creates, updates and deletes between pages', async () => {
      const o = await open();
      for (let i = 0; i < 20; i++) o.written.set(`n${i}`, (await fixture.storage.create(o.key(`n${i}`), object(`n${i}`))).modRevision);
      const first = await o.cached.listObjects(o.prefix, { limit: 4 });
      assert.equal(first.remaining, 23 - 4);
      const items = [...first.items];
      let next = first.next;
      for (let pages = 1; next; pages++) {
        assert.ok(pages < 10, `23 objects in pages of 4 still continuing after ${pages} pages`);
        // Each between-pages round writes ahead of the reader, behind it, and in a new key; the last one deletes.
        await fixture.storage.guaranteedUpdate(o.key(`n${Math.min(19, pages * 4)}`), () => object('changed', { step: String(pages) }));
        await fixture.storage.guaranteedUpdate(o.key('a'), () => object('a', { step: String(pages) }));
        await fixture.storage.create(o.key(`m${pages}`), object(`m${pages}`));
        await fixture.storage.delete(o.key(`n${19 - 2 * pages}`));
        const written = await fixture.storage.currentRevision();
        await o.cache.waitUntilFresh(written);
        const page = await o.cached.listObjects(o.prefix, { from: next, limit: 4 });
        assert.equal(page.revision, first.revision);
        items.push(...page.items);
        next = page.next;
      }
      assert.deepEqual(asStored(items), await storageAt(o, first.revision));
      assert.equal(o.listedFromStorage.count, 0, 'storage was read for objects, not only asked whether the revision is compacted');
      // The snapshot shares what did not change since: the very objects the cache holds now.
      const unchanged = items.find((item) => item.key === o.key('n2'))!;
      assert.equal(unchanged, o.cache.get(o.key('n2')));
    });

    it('an Exact LIST at a revision the ring covers is the state then, the later updates, deletes and creates undone, equal to storage\'s read there', async () => {
      const o = await open();
      const mid = (await fixture.storage.guaranteedUpdate(o.key('a'), () => object('a', { step: '2' }))).modRevision;
      await fixture.storage.guaranteedUpdate(o.key('a'), () => object('a', { step: '3' }));
      await fixture.storage.delete(o.key('b'));
      await fixture.storage.create(o.key('aa'), object('aa'));
      await o.cache.waitUntilFresh(await fixture.storage.currentRevision());
      const exact = await o.cached.listObjects(o.prefix, { revision: mid, exact: true });
      assert.equal(exact.revision, mid);
      assert.deepEqual(names(exact), ['a', 'b', 'c']);
      assert.deepEqual(asStored(exact.items), await storageAt(o, mid));
      assert.equal(o.listedFromStorage.count, 0);
    });

    it('a continue token whose snapshot left the cache\'s history is read from storage, and is Gone once storage compacted it', async () => {
      // A history of one event: two snapshots, the one it starts from and the one after it.
      const o = await open(true, { historyWindowMs: 0, minHistoryEvents: 1, maxHistoryEvents: 1 });
      const first = await o.cached.listObjects(o.prefix, { limit: 1 });
      assert.ok(o.cache.snapshotAt(first.revision, true), 'the first page\'s snapshot is held');
      for (const name of ['d', 'e', 'f']) await fixture.storage.create(o.key(name), object(name));
      await o.cache.waitUntilFresh(await fixture.storage.currentRevision());
      assert.equal(o.cache.snapshotAt(first.revision, true), undefined, 'the first page\'s snapshot expired');
      const second = await o.cached.listObjects(o.prefix, { from: first.next!, limit: 5 });
      assert.deepEqual(names(second), ['b', 'c']);
      assert.deepEqual(asStored([...first.items, ...second.items]), await storageAt(o, first.revision));
      assert.equal(o.listedFromStorage.count, 2);
      await fixture.storage.compact(await fixture.storage.currentRevision());
      await assert.rejects(o.cached.listObjects(o.prefix, { from: first.next!, limit: 5 }), (error: unknown) => {
        assert.ok(error instanceof StorageError && error.code === 'Gone', String(error));
        assert.equal(error.message, `too old resource version: ${first.revision}`);
        return true;
      });
    });

    it('a revision the cache reached only through a progress report has a snapshot only where progress reports are trusted', async () => {
      const o = await open();
      const lastEvent = (await fixture.storage.create(o.key('d'), object('d'))).modRevision;
      const elsewhere = (await fixture.storage.create(`${o.prefix.slice(0, -1)}-elsewhere/x`, object('x'))).modRevision;
      await o.cache.waitUntilFresh(elsewhere);
      assert.ok(o.cache.snapshotAt(lastEvent, false));
      assert.equal(o.cache.snapshotAt(elsewhere, false), undefined);
      assert.deepEqual([...o.cache.snapshotAt(elsewhere, true)!.entriesFrom('')].map(([key]) => key), ['a', 'b', 'c', 'd'].map(o.key));
    });

    it('a guaranteed update starts from the cache\'s copy, unless the caller suggests one', async () => {
      const o = await open();
      const seen: StoredValue[] = [];
      const record = (current: StoredValue): typeof skipUpdate => {
        seen.push(current);
        return skipUpdate;
      };
      await o.cached.guaranteedUpdate(o.key('a'), record);
      assert.equal(seen[0]!.value.toString(), o.cache.get(o.key('a'))!.json);
      const suggestion = (await fixture.storage.get(o.key('a')))!;
      seen.length = 0;
      await o.cached.guaranteedUpdate(o.key('a'), record, { suggestion });
      assert.equal(seen[0], suggestion);
    });
  });
}
