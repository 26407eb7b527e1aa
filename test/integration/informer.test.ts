// The controllers' informer over a real registry on a real etcd: reads come from the watch cache, and every change
// reaches the handler, across a compaction that makes the cache relist.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Informer } from '../../src/registry/informer.js';
import type { Store } from '../../src/registry/store.js';
import { until } from '../support/eventually.js';
import { notebook, startRegistry, type RegistryFixture } from '../support/registry.js';

/** Each key the informer hands over, with the resourceVersion its get() read then ("gone" when it read nothing). */
interface Handed {
  key: string;
  read: string;
}

/**
 * A registry on a fresh etcd with one notebook, `namespace`/`first`, and an informer on notebooks handing over to a
 * record (each key with the resourceVersion its get() read then) from once that notebook is in it; ended after `body`.
 */
async function withInformer(
  storageOptions: { watchRetryInitialMs?: number },
  namespace: string,
  first: string,
  body: (fixture: RegistryFixture, store: Store, informer: Informer, handed: Handed[]) => Promise<void>,
): Promise<void> {
  const fixture = await startRegistry(undefined, storageOptions);
  const stop = new AbortController();
  try {
    const store = fixture.registry.store('notebooks');
    const informer = fixture.registry.informer('notebooks');
    await store.create(namespace, notebook(first));
    const handed: Handed[] = [];
    informer.onChange((key) => {
      const [ns, name] = key.split('/') as [string, string];
      handed.push({ key, read: informer.get(ns, name)?.metadata.resourceVersion ?? 'gone' });
    }, stop.signal);
    await until(() => handed.some((h) => h.key === `${namespace}/${first}`), () => `handed ${JSON.stringify(handed)}`, 20_000);
    await body(fixture, store, informer, handed);
  } finally {
    stop.abort();
    await fixture.close();
  }
}

describe('informer', () => {
  it('hands over every key in the cache, then each change, and reads what the watch cache holds', async () => {
    await withInformer({}, 'inf-a', 'before', async (_fixture, store, informer, handed) => {
      const created = (await store.create('inf-a', notebook('after'))).object;
      const updated = (await store.update('inf-a', 'after', { ...created, metadata: { ...created.metadata, labels: { step: '1' } } })).object;
      await store.delete('inf-a', 'before');
      await until(() => handed.filter((h) => h.key === 'inf-a/before').length >= 2, () => `handed ${JSON.stringify(handed)}`, 20_000);
      assert.ok(handed.some((h) => h.key === 'inf-a/after' && h.read === updated.metadata.resourceVersion), JSON.stringify(handed));
      assert.equal(handed.at(-1)!.read, 'gone');
      assert.deepEqual(informer.list('inf-a').map((o) => [o.metadata.name, o.metadata.resourceVersion]), [['after', updated.metadata.resourceVersion]]);
      assert.equal(informer.get('inf-a', 'before'), undefined);
    });
  });

  it('after a compaction past the cache makes it relist, every key is handed over again as the relisted cache reads it', async () => {
    // The cache's etcd watch retries 3 s after a break, so the test can write and compact while it is away.
    await withInformer({ watchRetryInitialMs: 3_000 }, 'inf-b', 'a', async (fixture, store, informer, handed) => {
      await fixture.etcd.stop(true);
      await fixture.etcd.restart();
      const written = new Map<string, string>();
      for (const name of ['b', 'c', 'd']) written.set(`inf-b/${name}`, (await store.create('inf-b', notebook(name))).object.metadata.resourceVersion!);
      await store.delete('inf-b', 'a');
      written.set('inf-b/a', 'gone');
      await fixture.storage.compact(await fixture.storage.currentRevision());
      const seen = (): boolean => [...written].every(([key, read]) => handed.some((h) => h.key === key && h.read === read));
      await until(seen, () => `expected ${JSON.stringify([...written])}, handed ${JSON.stringify(handed)}`, 30_000);
      assert.deepEqual(informer.list('inf-b').map((o) => o.metadata.name), ['b', 'c', 'd']);
    });
  });
});
