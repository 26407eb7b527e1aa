// Writes of the largest bodies the server admits, on each backend: the answer is what it always was (stored, or
// 413 past the store's limit), and the event loop gets turns while they run instead of being held for the whole
// pipeline (before slicing, a 100,000-label merge patch held it for 1 to 3 seconds on two cores).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/meta/types.js';
import { ApiError } from '../../src/registry/errors.js';
import type { Store } from '../../src/registry/store.js';
import { applyMergePatch } from '../../src/server/merge-patch.js';
import { notebook, startRegistryOn, type AnyRegistryFixture, type Backend } from '../support/registry.js';

/**
 * The longest the event loop went without a turn while `work` ran. Generous against a loaded machine: a sliced
 * write stays near 100 ms here, an unsliced one takes several times this.
 */
const longestStallMs = 500;

async function longestStall<T>(work: () => Promise<T>): Promise<{ value?: T; error?: unknown; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  let running = true;
  const tick = (): void => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { value: await work(), stallMs };
  } catch (error) {
    return { error, stallMs };
  } finally {
    running = false;
  }
}

const manyLabels = (n: number, prefix: string): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));

function assertTooLarge(error: unknown): void {
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.code, 413);
  assert.equal(error.reason, 'RequestEntityTooLarge');
  assert.match(error.message, /^Request entity too large: the object is \d+ bytes; at most 1568768 can be stored$/);
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

  it('a merge patch of 100,000 labels is a 413 once managedFields take it past the limit, with the loop turning', async () => {
    await notebooks.create('a', notebook('target', { labels: { app: 'a' } }), { fieldManager: 'creator' });
    const patch = { metadata: { labels: manyLabels(100_000, 'k') } };
    const { error, stallMs } = await longestStall(() => notebooks.patch('a', 'target', (current) => applyMergePatch(current, patch), { fieldManager: 'patcher' }));
    assertTooLarge(error);
    assert.ok(stallMs < longestStallMs, `the event loop stalled ${stallMs.toFixed(0)} ms`);
    assert.deepEqual((await notebooks.get('a', 'target')).object.metadata.labels, { app: 'a' });
  });

  it('a server-side apply of 100,000 labels is a 413, with the loop turning', async () => {
    const config = notebook('target', { labels: manyLabels(100_000, 'k') });
    const { error, stallMs } = await longestStall(() => notebooks.apply('a', 'target', config, { fieldManager: 'applier', force: false }));
    assertTooLarge(error);
    assert.ok(stallMs < longestStallMs, `the event loop stalled ${stallMs.toFixed(0)} ms`);
  });

  it('50,000 labels are stored with their managedFields, and one more applied by another manager, with the loop turning', async () => {
    const labels = manyLabels(50_000, 'l');
    const created = await longestStall(() => notebooks.create('b', notebook('big', { labels }), { fieldManager: 'creator' }));
    assert.equal(created.error, undefined);
    assert.ok(created.stallMs < longestStallMs, `create: the event loop stalled ${created.stallMs.toFixed(0)} ms`);
    const object = created.value!.object;
    assert.deepEqual(object.metadata.labels, labels);
    const owned = (o: KubeObject, manager: string): string[] => {
      const entry = o.metadata.managedFields?.find((e) => e.manager === manager);
      const fields = entry?.fieldsV1 as { 'f:metadata'?: { 'f:labels'?: Record<string, unknown> } } | undefined;
      return Object.keys(fields?.['f:metadata']?.['f:labels'] ?? {}).filter((key) => key !== '.');
    };
    assert.equal(owned(object, 'creator').length, 50_000);

    const applied = await longestStall(() => notebooks.apply('b', 'big', notebook('big', { labels: { extra: 'x' } }), { fieldManager: 'applier', force: false }));
    assert.equal(applied.error, undefined);
    assert.ok(applied.stallMs < longestStallMs, `apply: the event loop stalled ${applied.stallMs.toFixed(0)} ms`);
    const after = applied.value!.object;
    assert.equal(Object.keys(after.metadata.labels ?? {}).length, 50_001);
    assert.equal(after.metadata.labels?.extra, 'x');
    assert.deepEqual(owned(after, 'applier'), ['f:extra']);
    assert.equal(owned(after, 'creator').length, 50_000);
    assert.equal((await notebooks.get('b', 'big')).object.metadata.resourceVersion, after.metadata.resourceVersion);
  });
});
