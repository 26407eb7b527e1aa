// The registry on Debian's etcd 3.4 (end of life, still run): its progress notifications are not trusted, so
// consistent LISTs go to etcd, and the REST semantics hold all the same.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { etcdBinary, oldEtcd } from '../support/etcd.js';
import { notebook, startRegistry } from '../support/registry.js';
import { record, summary } from '../support/watch.js';

const old = oldEtcd();

it('progress notifications are trusted on the maintained etcd build', async () => {
  const fixture = await startRegistry(undefined, {}, etcdBinary());
  try {
    assert.equal(await fixture.storage.hasReliableProgressNotify(), true);
  } finally {
    await fixture.close();
  }
});

// Reported as skipped with the reason (never as passed) where Debian's etcd 3.4 is not at hand, and as failed when
// the run requires it; .ci/run installs it and requires it.
it(`on etcd ${'binary' in old ? old.version : '3.4'}: consistent lists read etcd; writes, lists and watches agree`, { skip: 'problem' in old && !old.required ? old.problem : false }, async () => {
  if ('problem' in old) assert.fail(old.problem);
  const fixture = await startRegistry(undefined, {}, old.binary);
  try {
    assert.equal(await fixture.storage.hasReliableProgressNotify(), false);
    const store = fixture.registry.store('notebooks');
    const watch = record(await store.watch('old', { resourceVersion: '0' }));
    const { object } = await store.create('old', notebook('a'));
    const listed = await store.list('old');
    assert.deepEqual(listed.items.map((i) => i.object.metadata.resourceVersion), [object.metadata.resourceVersion]);
    assert.equal(listed.resourceVersion, String(await fixture.storage.currentRevision()));
    await store.delete('old', 'a');
    await watch.until((e) => e.length >= 2);
    await watch.stop();
    assert.deepEqual(summary(watch.events), ['ADDED a', 'DELETED a']);
  } finally {
    await fixture.close();
  }
});
