// The store's admission hooks over a real store (SQLite): where in the write path the chain is called and what it
// is shown, as kube-apiserver's generic handlers and store call admission. The plugin is a real one written here:
// it records what it sees, adds a label (and a field no schema knows, which the store must prune), and refuses
// objects labelled deny=true.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { PluginChain } from '../../src/admission/chain.js';
import type { AdmissionPlugin } from '../../src/admission/plugin.js';
import { ApiError, apiErrors } from '../../src/api/meta/errors.js';
import type { KubeObject } from '../../src/api/meta/types.js';
import type { AdmissionAttributes, AdmissionRequest, MutationOutcome } from '../../src/registry/admission.js';
import { Registry } from '../../src/registry/registry.js';
import { resources } from '../../src/resources/index.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { job, notebook } from '../support/registry.js';

interface Seen {
  phase: 'mutate' | 'validate';
  attributes: AdmissionAttributes;
  object: KubeObject | null;
}

const seen: Seen[] = [];
/** Runs before the recorder validates: lets a test change the stored object in between. */
let beforeValidate: ((attributes: AdmissionAttributes) => Promise<void>) | undefined;
const annotations: Record<string, string>[] = [];

const plugin: AdmissionPlugin = {
  name: 'Recorder',
  handles: () => true,
  async mutate(attributes): Promise<MutationOutcome> {
    seen.push({ phase: 'mutate', attributes, object: structuredClone(attributes.object) });
    const object = attributes.object;
    if (!object) return { object, warnings: ['mutated nothing'], auditAnnotations: {} };
    if (object.kind === 'Scale') {
      const spec = object.spec as { replicas: number };
      return { object: { ...object, spec: { replicas: Math.min(spec.replicas, 3) } }, warnings: [], auditAnnotations: {} };
    }
    const next = structuredClone(object) as KubeObject & { unknownTopLevel?: string };
    next.metadata.labels = { ...next.metadata.labels, mutated: 'yes' };
    next.unknownTopLevel = 'pruned';
    return { object: next, warnings: ['mutated'], auditAnnotations: { 'recorder/mutated': 'yes' } };
  },
  async validate(attributes) {
    await beforeValidate?.(attributes);
    seen.push({ phase: 'validate', attributes, object: structuredClone(attributes.object) });
    if ((attributes.object ?? attributes.oldObject)?.metadata.labels?.deny === 'true') throw apiErrors.forbidden({ group: 'ai.example.io', resource: attributes.resource.resource, kind: '' }, attributes.name, 'denied');
    return { warnings: ['validated'], auditAnnotations: {} };
  },
};

const user = { name: 'alice', uid: 'u-1', groups: ['system:authenticated'], extra: {} };
const request = (kind: string, extra: Record<string, unknown> = {}): AdmissionRequest => ({
  user,
  options: { kind, apiVersion: 'meta.k8s.io/v1', ...extra },
  annotate: (a) => annotations.push(a),
});

let dir: string;
let storage: SqliteStorage;
let registry: Registry;
let counter = 0;
const ns = (): string => `adm-${++counter}`;

describe('admission in the store', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-admission-'));
    const logger = pino({ level: 'silent' });
    storage = new SqliteStorage({ path: join(dir, 'state.db'), logger, compactIntervalMs: 0 });
    registry = new Registry({
      strategies: resources.strategies,
      storage,
      etcdPrefix: '/registry',
      logger,
      consistentListFromCache: true,
      admission: new PluginChain([plugin]),
    });
    await registry.start();
  });
  after(async () => {
    registry.stop();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('CREATE: mutation before the system fields and validation, pruned; validation after them', async () => {
    seen.length = 0;
    const n = ns();
    const { object, warnings } = await registry.store('notebooks').create(n, notebook('a'), { admission: request('CreateOptions') });
    assert.deepEqual(seen.map((s) => s.phase), ['mutate', 'validate']);
    const [mutate, validate] = seen as [Seen, Seen];
    assert.equal(mutate.attributes.operation, 'CREATE');
    assert.equal(mutate.object!.metadata.uid, undefined);
    assert.equal(mutate.object!.metadata.creationTimestamp, undefined);
    assert.equal(mutate.object!.metadata.namespace, n);
    assert.equal(mutate.attributes.oldObject, null);
    assert.deepEqual(mutate.attributes.kind, { group: 'ai.example.io', version: 'v1alpha1', kind: 'Notebook' });
    assert.deepEqual(mutate.attributes.resource, { group: 'ai.example.io', version: 'v1alpha1', resource: 'notebooks' });
    assert.equal(mutate.attributes.subResource, '');
    assert.deepEqual(mutate.attributes.userInfo, user);
    assert.equal(mutate.attributes.dryRun, false);
    assert.ok(validate.object!.metadata.uid);
    assert.equal(validate.object!.metadata.labels?.mutated, 'yes');
    assert.equal((validate.object as Record<string, unknown>).unknownTopLevel, undefined);
    assert.equal(object.metadata.labels?.mutated, 'yes');
    assert.equal((object as Record<string, unknown>).unknownTopLevel, undefined);
    assert.deepEqual(warnings, ['mutated', 'validated']);
    assert.ok(annotations.some((a) => a['recorder/mutated'] === 'yes'));
    const stored = await registry.store('notebooks').get(n, 'a');
    assert.equal(stored.object.metadata.labels?.mutated, 'yes');
  });

  it('a refusal stores nothing; the server’s own writes are not admitted', async () => {
    const n = ns();
    const store = registry.store('notebooks');
    await assert.rejects(store.create(n, notebook('b', { labels: { deny: 'true' } }), { admission: request('CreateOptions') }), (e) => e instanceof ApiError && e.code === 403);
    await assert.rejects(store.get(n, 'b'), (e) => e instanceof ApiError && e.code === 404);
    seen.length = 0;
    const { object } = await store.create(n, notebook('c', { labels: { deny: 'true' } }));
    assert.equal(seen.length, 0);
    assert.equal(object.metadata.labels?.mutated, undefined);
  });

  it('dry run: admitted with dryRun true, nothing stored', async () => {
    const n = ns();
    seen.length = 0;
    await registry.store('notebooks').create(n, notebook('d'), { dryRun: true, admission: request('CreateOptions', { dryRun: ['All'] }) });
    assert.deepEqual(seen.map((s) => s.attributes.dryRun), [true, true]);
    await assert.rejects(registry.store('notebooks').get(n, 'd'), (e) => e instanceof ApiError && e.code === 404);
  });

  it('UPDATE and PATCH: object and oldObject; a refused update leaves the object as it was', async () => {
    const n = ns();
    const store = registry.store('notebooks');
    await store.create(n, notebook('e'));
    seen.length = 0;
    await store.patch(n, 'e', (current) => ({ ...current, metadata: { ...current.metadata, labels: { a: 'b' } } }), { admission: request('UpdateOptions') });
    const [mutate, validate] = seen as [Seen, Seen];
    assert.equal(mutate.attributes.operation, 'UPDATE');
    assert.equal(mutate.object!.metadata.labels?.a, 'b');
    assert.equal(mutate.attributes.oldObject!.metadata.labels?.a, undefined);
    assert.equal(validate.object!.metadata.labels?.mutated, 'yes');
    await assert.rejects(
      store.patch(n, 'e', (current) => ({ ...current, metadata: { ...current.metadata, labels: { deny: 'true' } } }), { admission: request('UpdateOptions') }),
      (e) => e instanceof ApiError && e.code === 403,
    );
    assert.deepEqual((await store.get(n, 'e')).object.metadata.labels, { a: 'b', mutated: 'yes' });
  });

  it('status writes are admitted as the status subresource, with the whole object', async () => {
    const n = ns();
    const store = registry.store('notebooks');
    const { object } = await store.create(n, notebook('f'));
    seen.length = 0;
    await registry.subresources('notebooks').get('status')!.update(n, 'f', { ...object, status: { phase: 'Pending' } }, { admission: request('UpdateOptions') });
    assert.deepEqual(seen.map((s) => [s.phase, s.attributes.subResource, s.object?.kind]), [
      ['mutate', 'status', 'Notebook'],
      ['validate', 'status', 'Notebook'],
    ]);
    assert.ok(seen[0]!.object!.spec);
  });

  it('scale writes are admitted as autoscaling/v1 Scale, mutation included', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('g'));
    seen.length = 0;
    const scale = registry.subresources('jobs').get('scale')!;
    const { object } = await scale.update(n, 'g', { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'g' }, spec: { replicas: 4 } }, { admission: request('UpdateOptions') });
    assert.deepEqual(seen.map((s) => [s.phase, s.attributes.subResource, s.attributes.kind.kind, s.attributes.resource.resource]), [
      ['mutate', 'scale', 'Scale', 'jobs'],
      ['validate', 'scale', 'Scale', 'jobs'],
    ]);
    assert.equal((seen[1]!.object!.spec as { replicas: number }).replicas, 3);
    assert.equal((seen[1]!.attributes.oldObject!.spec as { replicas: number }).replicas, 4);
    assert.equal((object.spec as { replicas: number }).replicas, 3);
  });

  it('DELETE: object null, oldObject as stored, DeleteOptions; a refusal keeps the object', async () => {
    const n = ns();
    const store = registry.store('notebooks');
    await store.create(n, notebook('h'));
    await store.create(n, notebook('i', { labels: { deny: 'true' } }));
    seen.length = 0;
    const { warnings } = await store.delete(n, 'h', {}, { admission: request('DeleteOptions') });
    assert.deepEqual(seen.map((s) => [s.phase, s.attributes.operation, s.object, s.attributes.oldObject?.metadata.name]), [
      ['mutate', 'DELETE', null, 'h'],
      ['validate', 'DELETE', null, 'h'],
    ]);
    assert.equal(seen[0]!.attributes.options?.kind, 'DeleteOptions');
    assert.deepEqual(warnings, ['mutated nothing', 'validated']);
    await assert.rejects(store.get(n, 'h'), (e) => e instanceof ApiError && e.code === 404);
    await assert.rejects(store.delete(n, 'i', {}, { admission: request('DeleteOptions') }), (e) => e instanceof ApiError && e.code === 403);
    assert.equal((await store.get(n, 'i')).object.metadata.name, 'i');
    await store.create(n, notebook('j'));
    seen.length = 0;
    const collection = await store.deleteCollection(n, { labelSelector: '!deny' }, {}, { admission: request('DeleteOptions') });
    assert.deepEqual(seen.map((s) => [s.phase, s.attributes.name]), [
      ['mutate', 'j'],
      ['validate', 'j'],
    ]);
    assert.deepEqual(collection.warnings, ['mutated nothing', 'validated']);
  });

  it('DELETE that loses a race: validation judges the object stored now, mutation ran once', async () => {
    const n = ns();
    const store = registry.store('notebooks');
    await store.create(n, notebook('k'));
    let raced = false;
    beforeValidate = async (attributes) => {
      if (raced || attributes.operation !== 'DELETE') return;
      raced = true;
      await store.patch(n, 'k', (current) => ({ ...current, metadata: { ...current.metadata, labels: { changed: 'yes' } } }));
    };
    seen.length = 0;
    try {
      await store.delete(n, 'k', {}, { admission: request('DeleteOptions') });
    } finally {
      beforeValidate = undefined;
    }
    assert.deepEqual(seen.map((s) => [s.phase, s.attributes.oldObject?.metadata.labels?.changed ?? null]), [
      ['mutate', null],
      ['validate', null],
      ['validate', 'yes'],
    ]);
    await assert.rejects(store.get(n, 'k'), (e) => e instanceof ApiError && e.code === 404);
  });
});
