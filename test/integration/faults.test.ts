// Faults with the real etcd: killed and restarted under a live watch, and compaction past a watcher's position.
// Nothing acknowledged may be lost, repeated or reordered; a gap is always a 410, never a silent skip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/meta/types.js';
import { ApiError } from '../../src/api/meta/errors.js';
import { until } from '../support/eventually.js';
import { notebook, startRegistry } from '../support/registry.js';
import { record } from '../support/watch.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function eventRevisions(events: ReturnType<typeof record>['events']): number[] {
  return events.flatMap((e) => (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED' ? [e.object.revision] : []));
}

describe('faults', () => {
  it('etcd killed and restarted under a live watch: the watcher sees every acknowledged write exactly once, in order', async () => {
    const fixture = await startRegistry();
    try {
      const store = fixture.registry.store('notebooks');
      const names = ['a', 'b', 'c'];
      for (const name of names) await store.create('faults', notebook(name));
      const start = (await store.list('faults')).resourceVersion;
      const watch = record(await store.watch('faults', { resourceVersion: start }));
      const acknowledged: number[] = [];
      let failures = 0;
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const name = names[i % names.length]!;
          try {
            const { object } = await store.update('faults', name, { ...notebook(name), metadata: { name, labels: { step: String(i) } } });
            acknowledged.push(Number(object.metadata.resourceVersion));
          } catch {
            failures++;
            await sleep(20);
          }
        }
      })();
      try {
        await until(() => acknowledged.length >= 20, () => `only ${acknowledged.length} writes acknowledged before the fault`, 20_000);
        await fixture.etcd.stop(true);
        // etcd stays down until a write has failed for it: the fault has reached the writer, not just the process.
        await until(() => failures > 0, () => 'no write failed while etcd was down', 20_000);
        await fixture.etcd.restart();
        const ackedBeforeRecovery = acknowledged.length;
        await until(
          () => acknowledged.length >= ackedBeforeRecovery + 50,
          () => `writes did not resume after the restart: ${acknowledged.length - ackedBeforeRecovery} acknowledged since`,
          20_000,
        );
      } finally {
        // A writer left running would keep this file's process alive after a failure.
        writing = false;
        await writer;
      }
      const last = acknowledged[acknowledged.length - 1]!;
      await watch.until((events) => eventRevisions(events).some((rv) => rv >= last), 20_000);
      await watch.stop();
      const seen = eventRevisions(watch.events);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `events out of order or repeated at ${i}: ${seen[i - 1]} then ${seen[i]}`);
      const seenSet = new Set(seen);
      const missing = acknowledged.filter((rv) => !seenSet.has(rv));
      assert.deepEqual(missing, [], 'acknowledged writes the watcher never saw');
      assert.ok(!watch.events.some((e) => e.type === 'ERROR'), 'the watch ended with an error although no history was lost');
    } finally {
      await fixture.close();
    }
  });

  it('compaction past the cache\'s position: watchers end with 410, a relist and re-watch skip nothing', async () => {
    // The cache's etcd watch retries 3 s after a break, so the test can compact while it is away.
    const fixture = await startRegistry(undefined, { watchRetryInitialMs: 3_000 });
    try {
      const store = fixture.registry.store('notebooks');
      await store.create('compact', notebook('a'));
      const start = (await store.list('compact')).resourceVersion;
      const watch = record(await store.watch('compact', { resourceVersion: start }));
      await fixture.etcd.stop(true);
      await fixture.etcd.restart();
      const written: KubeObject[] = [];
      for (const name of ['b', 'c', 'd']) written.push((await store.create('compact', notebook(name))).object);
      await store.delete('compact', 'a');
      await fixture.storage.compact(await fixture.storage.currentRevision());
      await watch.until((events) => events.some((e) => e.type === 'ERROR'), 15_000);
      await watch.stop();
      const error = watch.events.find((e) => e.type === 'ERROR');
      assert.ok(error && error.type === 'ERROR' && error.error.code === 'Gone');
      // What a reflector does on 410: list again, then watch from the list's resourceVersion.
      const lastWritten = written[written.length - 1]!.metadata.resourceVersion;
      const relistDeadline = Date.now() + 30_000;
      let relisted;
      let lastSeen = 'no list answered';
      for (;;) {
        try {
          relisted = await store.list('compact', { resourceVersion: '0' });
          if (Number(relisted.resourceVersion) >= Number(lastWritten)) break;
          lastSeen = `the last list was at resourceVersion ${relisted.resourceVersion}`;
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          lastSeen = `the last list failed: ${e.message}`;
        }
        if (Date.now() > relistDeadline) assert.fail(`the cache did not catch up to resourceVersion ${lastWritten} within 30 s of the 410; ${lastSeen}`);
        await sleep(100);
      }
      assert.deepEqual(relisted.items.map((i) => i.object.metadata.name), ['b', 'c', 'd']);
      const after = record(await store.watch('compact', { resourceVersion: relisted.resourceVersion }));
      await store.create('compact', notebook('e'));
      await after.until((events) => events.length >= 1);
      await after.stop();
      assert.equal(after.events[0]!.type, 'ADDED');
    } finally {
      await fixture.close();
    }
  });

  it('a watch from before the cache\'s history replays the storage\'s, then follows the cache; below a compaction it is 410', async () => {
    const fixture = await startRegistry({ historyWindowMs: 0, minHistoryEvents: 5, maxHistoryEvents: 5 });
    try {
      const store = fixture.registry.store('notebooks');
      const { object } = await store.create('old', notebook('a'));
      const updates: number[] = [];
      for (let i = 0; i < 20; i++) {
        const updated = await store.update('old', 'a', { ...object, metadata: { name: 'a', labels: { i: String(i) } } });
        updates.push(Number(updated.object.metadata.resourceVersion));
      }
      // The cache has every update, so its 5-event history starts after the watch's resourceVersion.
      await until(
        async () => Number((await store.list('old', { resourceVersion: '0' })).resourceVersion) >= updates[updates.length - 1]!,
        () => `the cache never reached resourceVersion ${updates[updates.length - 1]}`,
        20_000,
      );
      const resumed = record(await store.watch('old', { resourceVersion: object.metadata.resourceVersion }));
      await resumed.until((events) => events.length >= 20);
      // Two live writes: once the second is seen, a repeat of the first or of the replay would have come before it.
      for (const label of ['live', 'last']) {
        const live = await store.update('old', 'a', { ...object, metadata: { name: 'a', labels: { i: label } } });
        updates.push(Number(live.object.metadata.resourceVersion));
      }
      await resumed.until((events) => eventRevisions(events).includes(updates[updates.length - 1]!));
      await resumed.stop();
      assert.deepEqual(resumed.events.map((e) => e.type), Array(22).fill('MODIFIED'));
      assert.deepEqual(eventRevisions(resumed.events), updates);

      await fixture.storage.compact(await fixture.storage.currentRevision());
      const tooOld = record(await store.watch('old', { resourceVersion: object.metadata.resourceVersion }));
      await tooOld.until((events) => events.some((e) => e.type === 'ERROR'));
      await tooOld.stop();
      const error = tooOld.events[0];
      assert.ok(error && error.type === 'ERROR' && error.error.code === 'Gone');
      assert.match(error.error.message, /^too old resource version: \d+ \(\d+\)$/);
      assert.equal(tooOld.events.length, 1);
    } finally {
      await fixture.close();
    }
  });
});
