// The storage contract, written once and run against every backend through a factory (as
// k8s.io/apiserver/pkg/storage/testing does for etcd3 and the cacher).
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { skipUpdate, StorageError, type Storage, type StorageEvent, type WatchHandlers } from '../../src/storage/interface.js';

export interface StorageFactory {
  name: string;
  open(): Promise<{ storage: Storage; cleanup(): Promise<void> }>;
}

const value = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const parse = (b: Buffer | undefined): unknown => (b ? JSON.parse(b.toString()) : undefined);

async function rejectsWith(promise: Promise<unknown>, code: StorageError['code']): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof StorageError && error.code === code);
}

/** Collects a watch's events until `count` arrived or the timeout passed. */
export function collect(storage: Storage, prefix: string, after: number) {
  const events: StorageEvent[] = [];
  const progress: number[] = [];
  const errors: StorageError[] = [];
  let wake: (() => void) | undefined;
  const handlers: WatchHandlers = {
    onEvents: (batch) => {
      events.push(...batch);
      wake?.();
    },
    onProgress: (revision) => {
      progress.push(revision);
      wake?.();
    },
    onError: (error) => {
      errors.push(error);
      wake?.();
    },
  };
  const watch = storage.watch(prefix, after, handlers);
  const until = async (done: () => boolean, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${events.length} events, ${errors.length} errors`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  return { events, progress, errors, watch, until };
}

export function runStorageConformance(factory: StorageFactory): void {
  describe(`storage conformance: ${factory.name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    let n = 0;
    const prefix = (): string => `/registry/test-${++n}/`;

    before(async () => {
      ({ storage, cleanup } = await factory.open());
    });
    after(async () => {
      await cleanup();
    });

    it('create stores a value whose modRevision is its createRevision, and get returns it', async () => {
      const p = prefix();
      const created = await storage.create(`${p}a`, value({ a: 1 }));
      assert.equal(created.modRevision, created.createRevision);
      const got = await storage.get(`${p}a`);
      assert.deepEqual(parse(got?.value), { a: 1 });
      assert.equal(got?.modRevision, created.modRevision);
      assert.equal(await storage.get(`${p}missing`), undefined);
    });

    it('create of an existing key is AlreadyExists and leaves the value alone', async () => {
      const p = prefix();
      await storage.create(`${p}a`, value({ v: 1 }));
      await rejectsWith(storage.create(`${p}a`, value({ v: 2 })), 'AlreadyExists');
      assert.deepEqual(parse((await storage.get(`${p}a`))?.value), { v: 1 });
    });

    it('guaranteedUpdate applies the function and moves modRevision forward', async () => {
      const p = prefix();
      const created = await storage.create(`${p}a`, value({ v: 1 }));
      const updated = await storage.guaranteedUpdate(`${p}a`, (cur) => value({ v: (parse(cur.value) as { v: number }).v + 1 }));
      assert.ok(updated.modRevision > created.modRevision);
      assert.equal(updated.createRevision, created.createRevision);
      assert.deepEqual(parse((await storage.get(`${p}a`))?.value), { v: 2 });
    });

    it('guaranteedUpdate with a stale suggestion retries on the current value', async () => {
      const p = prefix();
      const stale = await storage.create(`${p}a`, value({ v: 1 }));
      await storage.guaranteedUpdate(`${p}a`, () => value({ v: 10 }));
      const seen: unknown[] = [];
      await storage.guaranteedUpdate(
        `${p}a`,
        (cur) => {
          seen.push(parse(cur.value));
          return value({ v: (parse(cur.value) as { v: number }).v + 1 });
        },
        { suggestion: stale },
      );
      assert.deepEqual(seen, [{ v: 1 }, { v: 10 }]);
      assert.deepEqual(parse((await storage.get(`${p}a`))?.value), { v: 11 });
    });

    it('guaranteedUpdate that changes nothing writes nothing', async () => {
      const p = prefix();
      const created = await storage.create(`${p}a`, value({ v: 1 }));
      const same = await storage.guaranteedUpdate(`${p}a`, () => skipUpdate);
      const sameBytes = await storage.guaranteedUpdate(`${p}a`, (cur) => cur.value);
      assert.equal(same.modRevision, created.modRevision);
      assert.equal(sameBytes.modRevision, created.modRevision);
      assert.equal((await storage.get(`${p}a`))?.modRevision, created.modRevision);
    });

    it('guaranteedUpdate of a missing key is NotFound; an error thrown by tryUpdate aborts it', async () => {
      const p = prefix();
      await rejectsWith(storage.guaranteedUpdate(`${p}missing`, (cur) => cur.value), 'NotFound');
      await storage.create(`${p}a`, value({ v: 1 }));
      await assert.rejects(
        storage.guaranteedUpdate(`${p}a`, () => {
          throw new Error('precondition failed');
        }),
        /precondition failed/,
      );
      assert.deepEqual(parse((await storage.get(`${p}a`))?.value), { v: 1 });
    });

    it('delete checks the expected modRevision and returns the deleted value', async () => {
      const p = prefix();
      const created = await storage.create(`${p}a`, value({ v: 1 }));
      await rejectsWith(storage.delete(`${p}a`, created.modRevision - 1), 'Conflict');
      const { deleted, revision } = await storage.delete(`${p}a`, created.modRevision);
      assert.deepEqual(parse(deleted.value), { v: 1 });
      assert.ok(revision > created.modRevision);
      assert.equal(await storage.get(`${p}a`), undefined);
      await rejectsWith(storage.delete(`${p}a`), 'NotFound');
    });

    it('list returns keys in order at one revision, and an older revision shows the older state', async () => {
      const p = prefix();
      await storage.create(`${p}b`, value({ k: 'b' }));
      await storage.create(`${p}a`, value({ k: 'a' }));
      const first = await storage.list(p);
      assert.deepEqual(first.items.map((i) => i.key), [`${p}a`, `${p}b`]);
      await storage.create(`${p}c`, value({ k: 'c' }));
      await storage.delete(`${p}a`);
      const now = await storage.list(p);
      assert.deepEqual(now.items.map((i) => i.key), [`${p}b`, `${p}c`]);
      assert.ok(now.revision > first.revision);
      const then = await storage.list(p, { revision: first.revision });
      assert.deepEqual(then.items.map((i) => i.key), [`${p}a`, `${p}b`]);
      assert.equal(then.revision, first.revision);
    });

    it('paginated list reads every page from the first page\'s snapshot while writes go on', async () => {
      const p = prefix();
      for (let i = 0; i < 25; i++) await storage.create(`${p}${String(i).padStart(3, '0')}`, value({ i }));
      const page1 = await storage.list(p, { limit: 10 });
      assert.equal(page1.items.length, 10);
      assert.equal(page1.more, true);
      assert.equal(page1.remaining, 15);
      await storage.delete(`${p}015`);
      await storage.create(`${p}012a`, value({ i: 'new' }));
      const keys = page1.items.map((i) => i.key);
      let startKey = `${keys[keys.length - 1]}\0`;
      for (;;) {
        const page = await storage.list(p, { limit: 10, revision: page1.revision, startKey });
        assert.equal(page.revision, page1.revision);
        keys.push(...page.items.map((i) => i.key));
        if (!page.more) break;
        startKey = `${page.items[page.items.length - 1]!.key}\0`;
      }
      assert.deepEqual(keys, Array.from({ length: 25 }, (_, i) => `${p}${String(i).padStart(3, '0')}`));
    });

    it('list at a compacted revision is Gone', async () => {
      const p = prefix();
      const created = await storage.create(`${p}a`, value({ v: 1 }));
      await storage.guaranteedUpdate(`${p}a`, () => value({ v: 2 }));
      const current = await storage.currentRevision();
      await storage.compact(current);
      await rejectsWith(storage.list(p, { revision: created.modRevision }), 'Gone');
    });

    it('watch from a past revision replays history in order, then follows new writes; deletes carry the last value', async () => {
      const p = prefix();
      const a = await storage.create(`${p}a`, value({ v: 1 }));
      await storage.guaranteedUpdate(`${p}a`, () => value({ v: 2 }));
      const w = collect(storage, p, a.modRevision - 1);
      await w.until(() => w.events.length >= 2);
      await storage.delete(`${p}a`);
      await storage.create(`${p}b`, value({ v: 3 }));
      await w.until(() => w.events.length >= 4);
      w.watch.close();
      assert.deepEqual(
        w.events.map((e) => [e.type, e.key, e.created, parse(e.value ?? e.prevValue)]),
        [
          ['put', `${p}a`, true, { v: 1 }],
          ['put', `${p}a`, false, { v: 2 }],
          ['delete', `${p}a`, false, { v: 2 }],
          ['put', `${p}b`, true, { v: 3 }],
        ],
      );
      const revisions = w.events.map((e) => e.revision);
      assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y));
      assert.equal(revisions[0], a.modRevision);
    });

    it('watch from the current revision sees only later writes, and only under its prefix', async () => {
      const p = prefix();
      await storage.create(`${p}old`, value({}));
      const w = collect(storage, p, await storage.currentRevision());
      await storage.create(`${p.slice(0, -1)}x/other`, value({}));
      const created = await storage.create(`${p}new`, value({}));
      await w.until(() => w.events.length >= 1);
      await new Promise((r) => setTimeout(r, 100));
      w.watch.close();
      assert.deepEqual(w.events.map((e) => e.key), [`${p}new`]);
      assert.equal(w.events[0]!.revision, created.modRevision);
    });

    it('watch from a compacted revision fails with Gone', async () => {
      const p = prefix();
      const a = await storage.create(`${p}a`, value({ v: 1 }));
      await storage.guaranteedUpdate(`${p}a`, () => value({ v: 2 }));
      await storage.compact(await storage.currentRevision());
      const w = collect(storage, p, a.modRevision - 1);
      await w.until(() => w.errors.length > 0);
      assert.equal(w.errors[0]!.code, 'Gone');
      assert.equal(w.events.length, 0);
    });

    it('a progress request is answered with a revision covering every write so far', async () => {
      const p = prefix();
      const w = collect(storage, p, await storage.currentRevision());
      await storage.create(`${p}a`, value({}));
      await storage.create(`/registry/elsewhere-${n}`, value({}));
      const target = await storage.currentRevision();
      await w.until(() => w.events.length >= 1);
      const deadline = Date.now() + 10_000;
      while (!w.progress.some((r) => r >= target) && Date.now() < deadline) {
        w.watch.requestProgress();
        await new Promise((r) => setTimeout(r, 100));
      }
      w.watch.close();
      assert.ok(w.progress.some((r) => r >= target), `progress ${w.progress.join(',')} never reached ${target}`);
    });

    it('20 writers × 50 guaranteed increments of one field end at exactly 1000', async () => {
      const p = prefix();
      await storage.create(`${p}counter`, value({ count: 0, applied: [] as string[] }));
      const writers = Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 50; i++) {
          await storage.guaranteedUpdate(`${p}counter`, (cur) => {
            const state = parse(cur.value) as { count: number; applied: string[] };
            return value({ count: state.count + 1, applied: [...state.applied, `${w}:${i}`] });
          });
        }
      });
      await Promise.all(writers);
      const final = parse((await storage.get(`${p}counter`))?.value) as { count: number; applied: string[] };
      assert.equal(final.count, 1000);
      assert.equal(new Set(final.applied).size, 1000, 'an increment was applied twice');
    });
  });
}
