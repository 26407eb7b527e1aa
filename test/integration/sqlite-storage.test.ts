// Runs the storage conformance suite against the embedded SQLite backend, then what only it has: a file that
// outlives the process, one process per file, and compaction on a timer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, after } from 'node:test';
import pino from 'pino';
import { StorageError } from '../../src/storage/interface.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { collect, runStorageConformance } from '../support/storage-conformance.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const tempPath = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-sqlite-'));
  dirs.push(dir);
  return join(dir, 'data', 'state.db');
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

runStorageConformance({
  name: 'sqlite',
  open: async () => {
    // A small replay step, so the suite's watches from the past also cross step boundaries.
    const storage = new SqliteStorage({ path: tempPath(), logger, compactIntervalMs: 0, replayBatchSize: 2 });
    return { storage, cleanup: () => storage.close() };
  },
});

describe('sqlite storage', () => {
  const value = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

  it('keeps values, revisions and the compacted revision across a reopen', async () => {
    const path = tempPath();
    const first = new SqliteStorage({ path, logger, compactIntervalMs: 0 });
    const a = await first.create('/r/a', value({ v: 1 }));
    await first.guaranteedUpdate('/r/a', () => value({ v: 2 }));
    const { revision: deletedAt } = await first.delete('/r/a');
    await first.compact(deletedAt);
    await first.close();
    const second = new SqliteStorage({ path, logger, compactIntervalMs: 0 });
    assert.equal(await second.currentRevision(), deletedAt, 'the revision of a compacted-away delete is not reused');
    const b = await second.create('/r/a', value({ v: 3 }));
    assert.ok(b.modRevision > deletedAt);
    assert.ok(b.createRevision > a.createRevision);
    await assert.rejects(second.list('/r/', { revision: deletedAt - 1 }), (e: unknown) => e instanceof StorageError && e.code === 'Gone');
    await second.close();
  });

  it('refuses a second process on the same file with a message pointing at etcd', async () => {
    const path = tempPath();
    const first = new SqliteStorage({ path, logger, compactIntervalMs: 0 });
    try {
      assert.throws(
        () => new SqliteStorage({ path, logger, compactIntervalMs: 0 }),
        (e: unknown) => e instanceof StorageError && /in use by another ai-apiserver process.*--etcd-servers/s.test(e.message),
      );
    } finally {
      await first.close();
    }
    const reopened = new SqliteStorage({ path, logger, compactIntervalMs: 0 });
    await reopened.close();
  });

  it('writes queued together commit together, each checked in order', async () => {
    const storage = new SqliteStorage({ path: tempPath(), logger, compactIntervalMs: 0 });
    const results = await Promise.allSettled([
      storage.create('/r/x', value(1)),
      storage.create('/r/x', value(2)),
      storage.delete('/r/y'),
      storage.create('/r/y', value(3)),
      storage.delete('/r/y'),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as StorageError).code : undefined)),
      [undefined, 'AlreadyExists', 'NotFound', undefined, undefined],
    );
    assert.equal(JSON.parse((await storage.get('/r/x'))!.value.toString()), 1);
    assert.equal(await storage.get('/r/y'), undefined);
    assert.equal(await storage.currentRevision(), 3);
    await storage.close();
  });

  it('compacts on its timer up to the revision of the previous run, so one interval of history stays', async () => {
    const storage = new SqliteStorage({ path: tempPath(), logger, compactIntervalMs: 150 });
    const a = await storage.create('/r/a', value(1));
    await storage.guaranteedUpdate('/r/a', () => value(2));
    const deadline = Date.now() + 5_000;
    while (storage.compacted < a.modRevision + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(storage.compacted, a.modRevision + 1);
    const w = collect(storage, '/r/', a.modRevision - 1);
    await w.until(() => w.errors.length > 0);
    assert.equal(w.errors[0]!.code, 'Gone');
    await storage.close();
  });
});
