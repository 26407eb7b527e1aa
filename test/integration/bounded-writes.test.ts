// Writes of the largest bodies the server admits, on each backend: sliced into steps that give the event loop
// turns, they still answer what they always did (stored, or 413 past the store's limit). How long the loop is held
// is a benchmark's figure (npm run bench:hostile), not a test's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/meta/types.js';
import { ApiError } from '../../src/api/meta/errors.js';
import type { Store } from '../../src/registry/store.js';
import { applyMergePatch } from '../../src/server/merge-patch.js';
import { notebook, startRegistryOn, type AnyRegistryFixture, type Backend } from '../support/registry.js';

const manyLabels = (n: number, prefix: string): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));

function assertTooLarge(error: unknown): true {
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.code, 413);
  assert.equal(error.reason, 'RequestEntityTooLarge');
  assert.match(error.message, /^Request entity too large: the object is \d+ bytes; at most 1568768 can be stored$/);
  return true;
}

for (const backend of ['etcd', 'sqlite'] satisfies Backend[]) describe(`the largest writes on ${backend}`, () => {
  let fixture: AnyRegistryFixture;
  let notebooks: Store;
  before(async () => {
    fixture = await startRegistryOn(backend);
    notebooks = fixture.registry.store('notebooks');
  });
  after(async () => {
    await fixture.close();
  });

  it('a merge patch of 100,000 labels is a 413 once managedFields take it past the limit', async () => {
    await notebooks.create('a', notebook('target', { labels: { app: 'a' } }), { fieldManager: 'creator' });
    const patch = { metadata: { labels: manyLabels(100_000, 'k') } };
    await assert.rejects(notebooks.patch('a', 'target', (current) => applyMergePatch(current, patch), { fieldManager: 'patcher' }), assertTooLarge);
    assert.deepEqual((await notebooks.get('a', 'target')).object.metadata.labels, { app: 'a' });
  });

  it('a server-side apply of 100,000 labels is a 413', async () => {
    const config = notebook('target', { labels: manyLabels(100_000, 'k') });
    await assert.rejects(notebooks.apply('a', 'target', config, { fieldManager: 'applier', force: false }), assertTooLarge);
  });

  it('50,000 labels are stored with their managedFields, and one more applied by another manager', async () => {
    const labels = manyLabels(50_000, 'l');
    const { object } = await notebooks.create('b', notebook('big', { labels }), { fieldManager: 'creator' });
    assert.deepEqual(object.metadata.labels, labels);
    const owned = (o: KubeObject, manager: string): string[] => {
      const entry = o.metadata.managedFields?.find((e) => e.manager === manager);
      const fields = entry?.fieldsV1 as { 'f:metadata'?: { 'f:labels'?: Record<string, unknown> } } | undefined;
      return Object.keys(fields?.['f:metadata']?.['f:labels'] ?? {}).filter((key) => key !== '.');
    };
    assert.equal(owned(object, 'creator').length, 50_000);

    const { object: after } = await notebooks.apply('b', 'big', notebook('big', { labels: { extra: 'x' } }), { fieldManager: 'applier', force: false });
    assert.equal(Object.keys(after.metadata.labels ?? {}).length, 50_001);
    assert.equal(after.metadata.labels?.extra, 'x');
    assert.deepEqual(owned(after, 'applier'), ['f:extra']);
    assert.equal(owned(after, 'creator').length, 50_000);
    assert.equal((await notebooks.get('b', 'big')).object.metadata.resourceVersion, after.metadata.resourceVersion);
  });
});
