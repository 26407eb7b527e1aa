// kill -9 the server on its embedded SQLite store in the middle of a burst of writes. After a restart every
// acknowledged write is there, and a watch resumed from the last resourceVersion it saw goes on with no gap and no
// repeat: nothing else writes to this store, so the events' revisions must run on one by one to the last write.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { until } from '../support/eventually.js';
import { lazyServer, type ServerProcess } from '../support/server.js';
import { watchServer } from '../support/server-watch.js';

const path = '/apis/ai.example.io/v1alpha1/namespaces/crash/notebooks';
const json = { 'Content-Type': 'application/json' };

interface SeenEvent {
  type: string;
  name: string;
  revision: number;
  step?: string;
}

let server: ServerProcess;
const lazy = lazyServer({ backend: 'sqlite' });
beforeEach(async () => void (server = await lazy.ready()));
after(() => lazy.stop());

/** A watch stream read line by line until the connection ends (or the server dies). */
function openWatch(fromRevision: string): { events: SeenEvent[]; ended: Promise<void>; close(): void } {
  const events: SeenEvent[] = [];
  let stopped = (): void => undefined;
  const ended = new Promise<void>((resolve) => (stopped = resolve));
  const watch = watchServer(
    server,
    `${path}?watch=true&resourceVersion=${fromRevision}`,
    ({ type, object: { metadata } }) => events.push({ type, name: metadata.name, revision: Number(metadata.resourceVersion), step: metadata.labels?.step }),
    () => stopped(),
  );
  return { events, ended, close: watch.close };
}

const notebook = (name: string) => ({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Notebook',
  metadata: { name, labels: { step: '0' } },
  spec: { template: { spec: { containers: [{ name: 'nb', image: 'jupyter/base-notebook' }] } } },
});

describe('sqlite storage: kill -9 during a burst of writes', () => {
  it('keeps every acknowledged write, and a resumed watch continues without gaps', async () => {
    const start = JSON.parse((await server.http('GET', path)).body) as { metadata: { resourceVersion: string } };
    const startRevision = Number(start.metadata.resourceVersion);
    const before = openWatch(start.metadata.resourceVersion);

    // 16 writers each create notebooks and then relabel them, until the server dies under them.
    const acknowledged = new Map<string, { revision: number; step: number }>();
    let acks = 0;
    let failures = 0;
    let killing = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; ; i++) {
        const name = `nb-${w}-${i}`;
        try {
          const created = await server.http('POST', path, { body: JSON.stringify(notebook(name)), headers: json });
          if (created.status !== 201) throw new Error(`create ${name}: ${created.status} ${created.body}`);
          acknowledged.set(name, { revision: Number(JSON.parse(created.body).metadata.resourceVersion), step: 0 });
          acks++;
          const patched = await server.http('PATCH', `${path}/${name}`, {
            body: JSON.stringify({ metadata: { labels: { step: '1' } } }),
            headers: { 'Content-Type': 'application/merge-patch+json' },
          });
          if (patched.status !== 200) throw new Error(`patch ${name}: ${patched.status} ${patched.body}`);
          acknowledged.set(name, { revision: Number(JSON.parse(patched.body).metadata.resourceVersion), step: 1 });
          acks++;
        } catch (error) {
          // Only the crash may stop a writer: a refused write before the kill is a failure of the test.
          if (!killing) throw error;
          failures++;
          return;
        }
      }
    };
    const writers = Array.from({ length: 16 }, (_, w) => writer(w));
    await until(() => acks >= 300, () => `${acks} acknowledged`, 20_000);
    killing = true;
    await server.crash();
    await Promise.all(writers);
    await before.ended;
    assert.ok(failures > 0, 'the writers were still writing when the server was killed');

    await server.restart();
    const listed = JSON.parse((await server.http('GET', path)).body) as {
      items: { metadata: { name: string; resourceVersion: string; labels: Record<string, string> } }[];
      metadata: { resourceVersion: string };
    };
    const byName = new Map(listed.items.map((item) => [item.metadata.name, item.metadata]));
    for (const [name, ack] of acknowledged) {
      const stored = byName.get(name);
      assert.ok(stored, `acknowledged ${name} was lost`);
      assert.ok(Number(stored.resourceVersion) >= ack.revision, `${name}: stored ${stored.resourceVersion} < acknowledged ${ack.revision}`);
      assert.ok(Number(stored.labels.step) >= ack.step, `${name}: acknowledged step ${ack.step} was lost`);
    }

    // Resume from the last event the watch saw before the crash, as a reflector does; and, as a client that had
    // fallen behind, from halfway through (before anything the restarted server's cache holds).
    assert.ok(before.events.length > 10);
    const lastSeen = before.events[before.events.length - 1]!.revision;
    const halfway = before.events[Math.floor(before.events.length / 2)]!.revision;
    const resumed = openWatch(String(lastSeen));
    const behind = openWatch(String(halfway));
    const finalRevision = Math.max(...listed.items.map((item) => Number(item.metadata.resourceVersion)));
    const all = (): SeenEvent[] => [...before.events, ...resumed.events];
    await until(
      () => all().some((e) => e.revision >= finalRevision) && behind.events.some((e) => e.revision >= finalRevision),
      () => `resumed watches reached ${all().at(-1)?.revision} and ${behind.events.at(-1)?.revision}, wanted ${finalRevision}`,
      20_000,
    );
    // One more write after the restart reaches the resumed watches live.
    const late = await server.http('POST', path, { body: JSON.stringify(notebook('late')), headers: json });
    assert.equal(late.status, 201);
    const lateRevision = Number(JSON.parse(late.body).metadata.resourceVersion);
    const sawLate = (events: SeenEvent[]): boolean => events.some((e) => e.name === 'late');
    await until(() => sawLate(resumed.events) && sawLate(behind.events), () => 'the write after the restart never arrived', 20_000);
    resumed.close();
    behind.close();

    const revisions = all().map((e) => e.revision);
    assert.ok([...resumed.events, ...behind.events].every((e) => e.type !== 'ERROR'), 'a resumed watch ended in an error');
    const run = (from: number): number[] => Array.from({ length: lateRevision - from }, (_, i) => from + 1 + i);
    assert.deepEqual(revisions, run(startRevision), 'events skip or repeat a revision');
    assert.deepEqual(behind.events.map((e) => e.revision), run(halfway), 'the watch from halfway skips or repeats a revision');
    // The watch's story of each object ends where the store's does.
    const lastEvent = new Map(all().map((e) => [e.name, e]));
    for (const item of listed.items) {
      const event = lastEvent.get(item.metadata.name);
      assert.equal(event?.revision, Number(item.metadata.resourceVersion), item.metadata.name);
      assert.equal(event?.step, item.metadata.labels.step);
    }
    console.log(`# ${acks} writes acknowledged before kill -9; ${listed.items.length} notebooks after restart; ${revisions.length} events`);
  });
});
