// REST semantics of the generic store (k8s-api-contract.md §5) on each backend, real etcd and the embedded SQLite
// store: create, get, list, update, status, delete with finalizers and preconditions, deletecollection, watch,
// dry run.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/meta/types.js';
import { ApiError } from '../../src/api/meta/errors.js';
import type { Store, WriteResult } from '../../src/registry/store.js';
import { dataset, job, notebook, startRegistryOn, type AnyRegistryFixture, type Backend } from '../support/registry.js';
import { record, summary } from '../support/watch.js';

let fixture: AnyRegistryFixture;
let notebooks: Store;
let nsCounter = 0;
const ns = (): string => `ns-${++nsCounter}`;

async function rejectsApi(promise: Promise<unknown>, code: number, reason: string, message?: string | RegExp): Promise<ApiError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.reason, reason, caught.message);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  return caught;
}

for (const backend of ['etcd', 'sqlite'] satisfies Backend[]) describe(`registry on ${backend}`, () => {
  before(async () => {
    fixture = await startRegistryOn(backend, { bookmarkIntervalMs: 200 });
    notebooks = fixture.registry.store('notebooks');
  });
  after(async () => {
    await fixture.close();
  });

  describe('create', () => {
    it('sets uid, creationTimestamp, generation 1 and resourceVersion, and drops status', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, { ...notebook('a'), status: { phase: 'Running' } });
      assert.match(object.metadata.uid!, /^[0-9a-f-]{36}$/);
      assert.match(object.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(object.metadata.generation, 1);
      assert.equal(object.metadata.namespace, n);
      assert.match(object.metadata.resourceVersion!, /^\d+$/);
      assert.equal(object.status, undefined);
      const got = await notebooks.get(n, 'a');
      assert.deepEqual(got.object, object);
    });

    it('generateName cuts the prefix to 58 characters and adds 5 random ones', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, { ...notebook(''), metadata: { generateName: 'nb-' } });
      assert.match(object.metadata.name!, /^nb-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      const long = `n${'a'.repeat(61)}-`;
      const { object: longOne } = await notebooks.create(n, { ...notebook(''), metadata: { generateName: long } });
      assert.equal(longOne.metadata.name!.length, 63);
      assert.ok(longOne.metadata.name!.startsWith(long.slice(0, 58)));
    });

    it('a duplicate name is 409 AlreadyExists', async () => {
      const n = ns();
      await notebooks.create(n, notebook('a'));
      await rejectsApi(notebooks.create(n, notebook('a')), 409, 'AlreadyExists', 'notebooks.ai.example.io "a" already exists');
    });

    it('a resourceVersion or a different namespace in the body is 400 and writes nothing', async () => {
      const n = ns();
      await rejectsApi(notebooks.create(n, { ...notebook('a'), metadata: { name: 'a', resourceVersion: '5' } }), 400, 'BadRequest');
      await rejectsApi(notebooks.create(n, { ...notebook('a'), metadata: { name: 'a', namespace: 'other' } }), 400, 'BadRequest');
      assert.equal((await notebooks.list(n)).items.length, 0);
    });

    it('dryRun returns the object and writes nothing', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a'), { dryRun: true });
      assert.equal(object.metadata.name, 'a');
      await rejectsApi(notebooks.get(n, 'a'), 404, 'NotFound', 'notebooks.ai.example.io "a" not found');
    });

    it('unknown fields are dropped with a warning by default, ignored silently, or rejected under Strict', async () => {
      const n = ns();
      const body = { ...notebook('a'), spec: { ...notebook('a').spec, foo: 1, template: { spec: { containers: [{ name: 'c', image: 'i', bogus: true }] } } } };
      const warned = await notebooks.create(n, body);
      // Reported sorted, as kube's pruning sorts them (test/e2e/hostile-input.test.ts compares with a CRD), not in
      // the order the body holds them.
      assert.deepEqual(warned.warnings, ['unknown field "spec.foo"', 'unknown field "spec.template.spec.containers[0].bogus"']);
      assert.equal((warned.object.spec as Record<string, unknown>).foo, undefined);
      const ignored = await notebooks.create(n, { ...body, metadata: { name: 'b' } }, { fieldValidation: 'Ignore' });
      assert.deepEqual(ignored.warnings, []);
      const error = await rejectsApi(
        notebooks.create(n, { ...body, metadata: { name: 'c' } }, { fieldValidation: 'Strict' }),
        400,
        'BadRequest',
        'strict decoding error: unknown field "spec.foo", unknown field "spec.template.spec.containers[0].bogus"',
      );
      assert.deepEqual(error.status.details?.causes?.map((c) => c.field), ['spec.foo', 'spec.template.spec.containers[0].bogus']);
      await rejectsApi(notebooks.get(n, 'c'), 404, 'NotFound');
    });

    const badInput: { name: string; body: KubeObject; store?: string; causes: [string, string][] }[] = [
      { name: 'a name that is not a DNS-1035 label', body: notebook('Bad_Name'), causes: [['metadata.name', 'FieldValueInvalid']] },
      { name: 'a name longer than 63 characters', body: notebook(`n${'a'.repeat(63)}`), causes: [['metadata.name', 'FieldValueInvalid']] },
      { name: 'no name and no generateName', body: { ...notebook(''), metadata: {} }, causes: [['metadata.name', 'FieldValueRequired']] },
      {
        name: 'a bad label key and value',
        body: notebook('a', { labels: { 'bad key': 'ok', good: 'bad value!' } }),
        causes: [['metadata.labels', 'FieldValueInvalid'], ['metadata.labels', 'FieldValueInvalid']],
      },
      {
        name: 'annotations over 256 KiB',
        body: { ...notebook('a'), metadata: { name: 'a', annotations: { big: 'x'.repeat(256 * 1024) } } },
        causes: [['metadata.annotations', 'FieldValueTooLong']],
      },
      { name: 'the wrong kind', body: { ...notebook('a'), kind: 'Dataset' }, causes: [['kind', 'FieldValueInvalid']] },
      { name: 'the wrong apiVersion', body: { ...notebook('a'), apiVersion: 'ai.example.io/v1' }, causes: [['apiVersion', 'FieldValueInvalid']] },
      { name: 'a missing pod template', body: { ...notebook('a'), spec: {} }, causes: [['spec.template', 'FieldValueRequired']] },
      {
        name: 'a container without image type and name',
        body: { ...notebook('a'), spec: { template: { spec: { containers: [{ image: 5 }] } } } },
        causes: [['spec.template.spec.containers[0].name', 'FieldValueRequired'], ['spec.template.spec.containers[0].image', 'FieldValueTypeInvalid']],
      },
      { name: 'a missing dataset source', store: 'datasets', body: { ...dataset('a'), spec: {} }, causes: [['spec.source', 'FieldValueRequired']] },
      {
        name: 'an unsupported dataset scheme',
        store: 'datasets',
        body: { ...dataset('a'), spec: { source: { uri: 'ftp://x' } } },
        causes: [['spec.source.uri', 'FieldValueInvalid']],
      },
      {
        name: 'an elastic job whose max is below its min, with an Always restart policy',
        store: 'jobs',
        body: {
          ...job('a'),
          spec: { elastic: { minReplicas: 4, maxReplicas: 2 }, template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'i' }] } } },
        },
        causes: [['spec.elastic.maxReplicas', 'FieldValueInvalid'], ['spec.template.spec.restartPolicy', 'FieldValueNotSupported']],
      },
      {
        name: 'an elastic job with replicas outside its bounds, and a framework that does not exist',
        store: 'jobs',
        body: { ...job('a'), spec: { ...job('a').spec, replicas: 9, framework: 'tensorflow' } },
        causes: [['spec.framework', 'FieldValueNotSupported'], ['spec.replicas', 'FieldValueInvalid']],
      },
    ];
    for (const tc of badInput) {
      it(`bad input is 422 Invalid listing each cause, and writes nothing: ${tc.name}`, async () => {
        const n = ns();
        const store = fixture.registry.store(tc.store ?? 'notebooks');
        const before = await fixture.storage.currentRevision();
        const error = await rejectsApi(store.create(n, tc.body), 422, 'Invalid');
        const causes = (error.status.details?.causes ?? []).map((c) => [c.field, c.reason]);
        assert.deepEqual(causes, tc.causes, error.message);
        assert.equal(error.status.details?.kind, store.ref.kind);
        assert.equal(await fixture.storage.currentRevision(), before, 'a rejected create wrote to storage');
      });
    }
  });

  describe('update', () => {
    it('a stale resourceVersion is 409 Conflict worded as kube-apiserver words it', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a'));
      await notebooks.update(n, 'a', { ...object, metadata: { ...object.metadata, labels: { x: '1' } } });
      await rejectsApi(
        notebooks.update(n, 'a', { ...object, metadata: { ...object.metadata, labels: { x: '2' } } }),
        409,
        'Conflict',
        'Operation cannot be fulfilled on notebooks.ai.example.io "a": the object has been modified; please apply your changes to the latest version and try again',
      );
    });

    it('an empty resourceVersion is an unconditional update', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a'));
      await notebooks.update(n, 'a', { ...object, metadata: { ...object.metadata, labels: { x: '1' } } });
      const { object: updated } = await notebooks.update(n, 'a', { ...object, metadata: { name: 'a', labels: { x: '2' } } });
      assert.equal(updated.metadata.labels?.x, '2');
      assert.equal(updated.metadata.uid, object.metadata.uid);
      assert.equal(updated.metadata.creationTimestamp, object.metadata.creationTimestamp);
    });

    it('generation moves on spec changes only; an update that changes nothing writes nothing', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a'));
      const { object: relabeled } = await notebooks.update(n, 'a', { ...object, metadata: { ...object.metadata, labels: { x: '1' } } });
      assert.equal(relabeled.metadata.generation, 1);
      const { object: stopped } = await notebooks.update(n, 'a', { ...relabeled, spec: { ...relabeled.spec, stopped: true } });
      assert.equal(stopped.metadata.generation, 2);
      const { object: same } = await notebooks.update(n, 'a', stopped);
      assert.equal(same.metadata.resourceVersion, stopped.metadata.resourceVersion);
    });

    it('the main resource ignores status and /status ignores everything but status', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a'));
      const { object: withStatus } = await notebooks.updateStatus(n, 'a', {
        ...object,
        spec: { ...object.spec, stopped: true },
        metadata: { ...object.metadata, labels: { sneaky: 'yes' } },
        status: { phase: 'Running', readyReplicas: 1 },
      });
      assert.deepEqual(withStatus.status, { phase: 'Running', readyReplicas: 1 });
      assert.equal((withStatus.spec as Record<string, unknown>).stopped, undefined);
      assert.equal(withStatus.metadata.labels, undefined);
      assert.equal(withStatus.metadata.generation, 1);
      const { object: main } = await notebooks.update(n, 'a', { ...withStatus, status: { phase: 'Failed' } });
      assert.deepEqual(main.status, { phase: 'Running', readyReplicas: 1 });
      await rejectsApi(
        notebooks.updateStatus(n, 'a', { ...main, status: { phase: 'Exploded' } }),
        422,
        'Invalid',
        /status\.phase: Unsupported value: "Exploded"/,
      );
    });

    it('immutable fields are 422 on update', async () => {
      const n = ns();
      const datasets = fixture.registry.store('datasets');
      const { object } = await datasets.create(n, dataset('d'));
      assert.equal((object.spec as Record<string, unknown>).prefetch, true);
      await rejectsApi(
        datasets.update(n, 'd', { ...object, spec: { ...object.spec, source: { uri: 's3://other' } } }),
        422,
        'Invalid',
        /spec\.source\.uri: Invalid value: "s3:\/\/other": field is immutable/,
      );
      await rejectsApi(notebooks.update(n, 'missing', notebook('missing')), 404, 'NotFound');
      await rejectsApi(datasets.update(n, 'd', { ...object, metadata: { ...object.metadata, name: 'e' } }), 400, 'BadRequest');
    });
  });

  describe("a write's answer", () => {
    it('is, byte for byte, what a GET reads next: create, update, patch, /status, apply, and an update that changes nothing', async () => {
      const n = ns();
      const written = async (verb: string, write: Promise<WriteResult>): Promise<KubeObject> => {
        const result = await write;
        const got = await notebooks.get(n, result.object.metadata.name!);
        assert.ok(result.serialized, `${verb}: answered with what it encoded`);
        assert.equal(result.serialized.object, result.object, verb);
        assert.equal(result.serialized.json, got.json, verb);
        assert.equal(JSON.stringify(result.object), got.json, verb);
        return result.object;
      };
      const created = await written('create', notebooks.create(n, { ...notebook('a'), metadata: { name: 'a', labels: { '2': 'x', b: 'y' } } }, { fieldManager: 'm' }));
      const updated = await written('update', notebooks.update(n, 'a', { ...created, metadata: { ...created.metadata, annotations: { a: 'ü' } } }));
      await written('patch', notebooks.patch(n, 'a', (current) => ({ ...current, spec: { ...current.spec, stopped: true } })));
      await written('status', notebooks.updateStatus(n, 'a', { ...updated, metadata: { name: 'a' }, status: { phase: 'Running' } }));
      const applied = { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'b', labels: { z: '1' } }, spec: notebook('b').spec };
      await written('apply of an absent object', notebooks.apply(n, 'b', applied, { fieldManager: 'applier', force: false }));
      await written('apply', notebooks.apply(n, 'b', { ...applied, metadata: { name: 'b', labels: { z: '2' } } }, { fieldManager: 'applier', force: false }));
      // Nothing to write: the answer is the stored object, decoded.
      const current = (await notebooks.get(n, 'b')).object;
      const same = await notebooks.update(n, 'b', current);
      assert.equal(same.serialized, undefined);
      assert.equal(JSON.stringify(same.object), (await notebooks.get(n, 'b')).json);
    });
  });

  describe('delete', () => {
    it('preconditions on uid and resourceVersion are 409 when they do not match', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a'));
      await rejectsApi(notebooks.delete(n, 'a', { preconditions: { uid: 'other' } }), 409, 'Conflict', /Precondition failed: UID in precondition: other/);
      await rejectsApi(notebooks.delete(n, 'a', { preconditions: { resourceVersion: '1' } }), 409, 'Conflict', /ResourceVersion in precondition: 1/);
      const { deleted } = await notebooks.delete(n, 'a', { preconditions: { uid: object.metadata.uid } });
      assert.equal(deleted, true);
      await rejectsApi(notebooks.get(n, 'a'), 404, 'NotFound');
      await rejectsApi(notebooks.delete(n, 'a'), 404, 'NotFound');
    });

    it('finalizers hold the object with a deletionTimestamp; removing the last one deletes it and emits DELETED', async () => {
      const n = ns();
      await notebooks.create(n, { ...notebook('a'), metadata: { name: 'a', finalizers: ['example.io/cleanup'] } });
      const watch = record(await notebooks.watch(n, { resourceVersion: (await notebooks.list(n)).resourceVersion }));
      const { object, deleted } = await notebooks.delete(n, 'a');
      assert.equal(deleted, false);
      assert.ok(object.metadata.deletionTimestamp);
      assert.equal(object.metadata.generation, 2);
      await rejectsApi(
        notebooks.update(n, 'a', { ...object, metadata: { ...object.metadata, finalizers: ['example.io/cleanup', 'example.io/more'] } }),
        422,
        'Invalid',
        /no new finalizers can be added if the object is being deleted/,
      );
      const again = await notebooks.delete(n, 'a');
      assert.equal(again.object.metadata.deletionTimestamp, object.metadata.deletionTimestamp);
      const current = (await notebooks.get(n, 'a')).object;
      await notebooks.update(n, 'a', { ...current, metadata: { ...current.metadata, finalizers: [] } });
      await rejectsApi(notebooks.get(n, 'a'), 404, 'NotFound');
      await watch.until((events) => events.some((e) => e.type === 'DELETED'));
      await watch.stop();
      assert.deepEqual(summary(watch.events), ['MODIFIED a', 'MODIFIED a', 'DELETED a']);
    });

    it('Foreground and Orphan propagation add their finalizers; dryRun deletes nothing', async () => {
      const n = ns();
      await notebooks.create(n, notebook('fg'));
      await notebooks.create(n, notebook('or'));
      assert.deepEqual((await notebooks.delete(n, 'fg', { propagationPolicy: 'Foreground' })).object.metadata.finalizers, ['foregroundDeletion']);
      assert.deepEqual((await notebooks.delete(n, 'or', { propagationPolicy: 'Orphan' })).object.metadata.finalizers, ['orphan']);
      await notebooks.create(n, notebook('dry'));
      const dry = await notebooks.delete(n, 'dry', {}, { dryRun: true });
      assert.equal(dry.deleted, true);
      assert.equal((await notebooks.get(n, 'dry')).object.metadata.name, 'dry');
    });

    it('deletecollection deletes what the selector selects, and nothing else', async () => {
      const n = ns();
      await notebooks.create(n, notebook('a', { labels: { team: 'x' } }));
      await notebooks.create(n, notebook('b', { labels: { team: 'y' } }));
      await notebooks.create(n, notebook('c', { labels: { team: 'x' } }));
      const { items } = await notebooks.deleteCollection(n, { labelSelector: 'team=x' });
      assert.deepEqual(items.map((i) => i.object.metadata.name), ['a', 'c']);
      assert.deepEqual((await notebooks.list(n)).items.map((i) => i.object.metadata.name), ['b']);
    });
  });

  describe('list', () => {
    it('an empty list has items [], and a consistent list sees the write just acknowledged', async () => {
      const n = ns();
      const empty = await notebooks.list(n);
      assert.deepEqual(empty.items, []);
      const { object } = await notebooks.create(n, notebook('a'));
      const listed = await notebooks.list(n);
      assert.deepEqual(listed.items.map((i) => i.object.metadata.resourceVersion), [object.metadata.resourceVersion]);
      assert.ok(Number(listed.resourceVersion) >= Number(object.metadata.resourceVersion));
    });

    it('resourceVersionMatch=Exact reads the past; NotOlderThan and "0" are served from the cache', async () => {
      const n = ns();
      await notebooks.create(n, notebook('a'));
      const then = await notebooks.list(n);
      await notebooks.create(n, notebook('b'));
      const exact = await notebooks.list(n, { resourceVersion: then.resourceVersion, resourceVersionMatch: 'Exact' });
      assert.deepEqual(exact.items.map((i) => i.object.metadata.name), ['a']);
      assert.equal(exact.resourceVersion, then.resourceVersion);
      const notOlder = await notebooks.list(n, { resourceVersion: then.resourceVersion, resourceVersionMatch: 'NotOlderThan' });
      assert.deepEqual(notOlder.items.map((i) => i.object.metadata.name), ['a', 'b']);
      const any = await notebooks.list(n, { resourceVersion: '0' });
      assert.ok(any.items.length >= 1);
    });

    it('resourceVersionMatch without resourceVersion, with continue, or Exact with "0" is 422', async () => {
      await rejectsApi(notebooks.list(undefined, { resourceVersionMatch: 'NotOlderThan' }), 422, 'Invalid', /resourceVersionMatch is forbidden unless resourceVersion is provided/);
      await rejectsApi(notebooks.list(undefined, { resourceVersion: '0', resourceVersionMatch: 'Exact' }), 422, 'Invalid', /forbidden for resourceVersion "0"/);
      await rejectsApi(notebooks.list(undefined, { resourceVersion: '5', resourceVersionMatch: 'Exact', continue: 'abc' }), 422, 'Invalid');
      await rejectsApi(notebooks.list(undefined, { resourceVersion: 'abc' }), 400, 'BadRequest');
    });

    it('limit and continue page through one snapshot while writes go on, with remainingItemCount', async () => {
      const n = ns();
      for (let i = 0; i < 7; i++) await notebooks.create(n, notebook(`nb-${i}`));
      const first = await notebooks.list(n, { limit: 3 });
      assert.equal(first.items.length, 3);
      assert.equal(first.remainingItemCount, 4);
      assert.ok(first.continue);
      await notebooks.create(n, notebook('nb-3a'));
      await notebooks.delete(n, 'nb-5');
      const names = first.items.map((i) => i.object.metadata.name!);
      let token: string | undefined = first.continue;
      for (let pages = 1; token; pages++) {
        assert.ok(pages < 3, `seven items in pages of three are still continuing after ${pages} pages: ${names.join(', ')}`);
        const page = await notebooks.list(n, { limit: 3, continue: token });
        assert.equal(page.resourceVersion, first.resourceVersion);
        names.push(...page.items.map((i) => i.object.metadata.name!));
        token = page.continue;
      }
      assert.deepEqual(names, ['nb-0', 'nb-1', 'nb-2', 'nb-3', 'nb-4', 'nb-5', 'nb-6']);
    });

    it('a continue token older than the compaction is 410 Expired', async () => {
      const n = ns();
      for (let i = 0; i < 4; i++) await notebooks.create(n, notebook(`nb-${i}`));
      const first = await notebooks.list(n, { limit: 2 });
      await notebooks.create(n, notebook('later'));
      await fixture.storage.compact(await fixture.storage.currentRevision());
      await rejectsApi(notebooks.list(n, { limit: 2, continue: first.continue }), 410, 'Expired', /continue parameter is too old/);
    });

    it('a limit with resourceVersion N and no match reads N exactly; NotOlderThan N pages the present; "0" ignores the limit', async () => {
      const n = ns();
      for (let i = 0; i < 3; i++) await notebooks.create(n, notebook(`nb-${i}`));
      const then = await notebooks.list(n);
      await notebooks.create(n, notebook('nb-0a'));
      const legacy = await notebooks.list(n, { resourceVersion: then.resourceVersion, limit: 2 });
      assert.equal(legacy.resourceVersion, then.resourceVersion);
      assert.deepEqual(legacy.items.map((i) => i.object.metadata.name), ['nb-0', 'nb-1']);
      assert.equal(legacy.remainingItemCount, 1);
      const notOlder = await notebooks.list(n, { resourceVersion: then.resourceVersion, resourceVersionMatch: 'NotOlderThan', limit: 2 });
      assert.ok(Number(notOlder.resourceVersion) > Number(then.resourceVersion));
      assert.deepEqual(notOlder.items.map((i) => i.object.metadata.name), ['nb-0', 'nb-0a']);
      assert.equal(notOlder.remainingItemCount, 2);
      const rest = await notebooks.list(n, { limit: 2, continue: notOlder.continue });
      assert.deepEqual(rest.items.map((i) => i.object.metadata.name), ['nb-1', 'nb-2']);
      assert.equal(rest.continue, undefined);
      const any = await notebooks.list(n, { resourceVersion: '0', limit: 1 });
      assert.equal(any.items.length, 4);
      assert.equal(any.continue, undefined);
    });

    it('pages read from the watch cache match the store\'s own read at their resourceVersion, whatever is written between them', async () => {
      const n = ns();
      for (let i = 0; i < 12; i++) await notebooks.create(n, notebook(`nb-${String(i).padStart(2, '0')}`));
      const first = await notebooks.list(n, { limit: 5 });
      const names = first.items.map((i) => i.object.metadata.name!);
      const versions = first.items.map((i) => i.object.metadata.resourceVersion!);
      let token = first.continue;
      for (let pages = 1; token; pages++) {
        assert.ok(pages < 4, `twelve items in pages of five are still continuing after ${pages} pages`);
        // Not yet read: one to update and one to delete; and one of those already read is updated too.
        const [ahead, gone] = ([['nb-06', 'nb-08'], ['nb-11', 'nb-10']] as const)[pages - 1]!;
        for (const name of [ahead, 'nb-01']) {
          const current = (await notebooks.get(n, name)).object;
          await notebooks.update(n, name, { ...current, spec: { ...(current.spec as object), stopped: pages % 2 === 1 } });
        }
        await notebooks.delete(n, gone);
        await notebooks.create(n, notebook(`nb-${String(5 * pages).padStart(2, '0')}a`));
        const page = await notebooks.list(n, { limit: 5, continue: token });
        assert.equal(page.resourceVersion, first.resourceVersion);
        names.push(...page.items.map((i) => i.object.metadata.name!));
        versions.push(...page.items.map((i) => i.object.metadata.resourceVersion!));
        token = page.continue;
      }
      const exact = await notebooks.list(n, { resourceVersion: first.resourceVersion, resourceVersionMatch: 'Exact' });
      assert.deepEqual(names, exact.items.map((i) => i.object.metadata.name));
      assert.deepEqual(versions, exact.items.map((i) => i.object.metadata.resourceVersion));
      assert.equal(names.length, 12);
    });

    it('label selectors in full syntax, and field selectors on name, namespace and status.phase', async () => {
      const n = ns();
      await notebooks.create(n, notebook('a', { labels: { tier: 'gpu', env: 'prod' } }));
      await notebooks.create(n, notebook('b', { labels: { tier: 'cpu', env: 'dev' } }));
      await notebooks.create(n, notebook('c', { labels: { tier: 'gpu' } }));
      const running = (await notebooks.get(n, 'c')).object;
      await notebooks.updateStatus(n, 'c', { ...running, status: { phase: 'Running' } });
      const cases: [string | undefined, string | undefined, string[]][] = [
        ['tier=gpu', undefined, ['a', 'c']],
        ['tier==gpu,env', undefined, ['a']],
        ['tier!=gpu', undefined, ['b']],
        ['env in (prod,dev)', undefined, ['a', 'b']],
        ['env notin (prod)', undefined, ['b', 'c']],
        ['!env', undefined, ['c']],
        [undefined, 'metadata.name=b', ['b']],
        [undefined, `metadata.namespace=${n},metadata.name!=b`, ['a', 'c']],
        [undefined, 'status.phase=Running', ['c']],
        ['tier=gpu', 'status.phase!=Running', ['a']],
      ];
      for (const [labelSelector, fieldSelector, want] of cases) {
        const fromCache = await notebooks.list(n, { labelSelector, fieldSelector });
        assert.deepEqual(fromCache.items.map((i) => i.object.metadata.name), want, `${labelSelector} ${fieldSelector}`);
        const paged = await notebooks.list(n, { labelSelector, fieldSelector, limit: 1 });
        const names = paged.items.map((i) => i.object.metadata.name);
        let token = paged.continue;
        for (let pages = 1; token; pages++) {
          assert.ok(pages <= want.length + 1, `paged ${labelSelector} ${fieldSelector}: still continuing after ${pages} pages of one`);
          const page = await notebooks.list(n, { labelSelector, fieldSelector, limit: 1, continue: token });
          names.push(...page.items.map((i) => i.object.metadata.name));
          token = page.continue;
        }
        assert.deepEqual(names, want, `paged ${labelSelector} ${fieldSelector}`);
      }
      await rejectsApi(
        notebooks.list(n, { fieldSelector: 'spec.stopped=true' }),
        400,
        'BadRequest',
        'field label not supported: spec.stopped',
      );
      await rejectsApi(notebooks.list(n, { labelSelector: 'env in (' }), 400, 'BadRequest');
    });
  });

  describe('watch', () => {
    it('from "0" starts with ADDED for every object, then follows changes in order', async () => {
      const n = ns();
      await notebooks.create(n, notebook('a'));
      const watch = record(await notebooks.watch(n, { resourceVersion: '0' }));
      await watch.until((e) => e.length >= 1);
      const { object } = await notebooks.create(n, notebook('b'));
      await notebooks.update(n, 'b', { ...object, metadata: { ...object.metadata, labels: { x: 'y' } } });
      const { object: gone } = await notebooks.delete(n, 'a');
      await watch.until((e) => e.length >= 4);
      await watch.stop();
      assert.deepEqual(summary(watch.events), ['ADDED a', 'ADDED b', 'MODIFIED b', 'DELETED a']);
      const last = watch.events[3]!;
      assert.ok(last.type === 'DELETED');
      assert.equal(last.object.object.metadata.resourceVersion, gone.metadata.resourceVersion, 'DELETED carries the revision of the delete');
      assert.ok(Number(gone.metadata.resourceVersion) > Number(object.metadata.resourceVersion));
    });

    it('from a resourceVersion delivers only later events; a selector turns transitions into ADDED and DELETED', async () => {
      const n = ns();
      const { object } = await notebooks.create(n, notebook('a', { labels: { sel: 'yes' } }));
      const watch = record(await notebooks.watch(n, { resourceVersion: object.metadata.resourceVersion, labelSelector: 'sel=yes' }));
      const { object: out } = await notebooks.update(n, 'a', { ...object, metadata: { ...object.metadata, labels: { sel: 'no' } } });
      const { object: back } = await notebooks.update(n, 'a', { ...out, metadata: { ...out.metadata, labels: { sel: 'yes' } } });
      await notebooks.update(n, 'a', { ...back, spec: { ...back.spec, stopped: true } });
      await notebooks.create(n, notebook('other'));
      // A matching write after 'other': once it is seen, an event for 'other' would have come before it.
      await notebooks.create(n, notebook('after', { labels: { sel: 'yes' } }));
      await watch.until((e) => e.length >= 4);
      await watch.stop();
      assert.deepEqual(summary(watch.events), ['DELETED a', 'ADDED a', 'MODIFIED a', 'ADDED after']);
      // As kube's cacher: the object as the watcher last saw it (still matching), at the revision of the change.
      const left = watch.events[0]!;
      assert.ok(left.type === 'DELETED');
      assert.deepEqual(left.object.object.metadata.labels, { sel: 'yes' });
      assert.equal(left.object.object.metadata.resourceVersion, out.metadata.resourceVersion);
      assert.equal(JSON.parse(left.object.json).metadata.resourceVersion, out.metadata.resourceVersion);
    });

    it('bookmarks arrive only when asked for, carrying a resourceVersion to resume from', async () => {
      const n = ns();
      const rv = (await notebooks.list(n)).resourceVersion;
      const withBookmarks = record(await notebooks.watch(n, { resourceVersion: rv, allowWatchBookmarks: true }));
      const without = record(await notebooks.watch(n, { resourceVersion: rv }));
      await notebooks.create(ns(), notebook('elsewhere'));
      await withBookmarks.until((e) => e.some((x) => x.type === 'BOOKMARK' && x.revision > Number(rv)));
      await withBookmarks.stop();
      await without.stop();
      assert.deepEqual(without.events, []);
    });

    it('sendInitialEvents sends the state, then a bookmark marking the end of it; it requires bookmarks and NotOlderThan', async () => {
      const n = ns();
      await notebooks.create(n, notebook('a'));
      const watch = record(
        await notebooks.watch(n, { sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan', resourceVersion: '' }),
      );
      await watch.until((e) => e.length >= 2);
      await watch.stop();
      assert.deepEqual(summary(watch.events).slice(0, 2), ['ADDED a', 'BOOKMARK(end)']);
      await rejectsApi(notebooks.watch(n, { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' }), 422, 'Invalid', /allowWatchBookmarks required/);
      await rejectsApi(notebooks.watch(n, { sendInitialEvents: true, allowWatchBookmarks: true }), 422, 'Invalid', /NotOlderThan/);
    });

    it('a resourceVersion ahead of everything times out as kube-apiserver does: 504 Too large resource version', async () => {
      const future = String((await fixture.storage.currentRevision()) + 1000);
      await rejectsApi(notebooks.watch(undefined, { resourceVersion: future }), 504, 'Timeout', /Too large resource version/);
    });
  });

  describe('jobs and datasets', () => {
    it('jobs are defaulted (framework, nprocPerNode, replicas: an elastic job starts at its ceiling)', async () => {
      const n = ns();
      const { object } = await fixture.registry.store('jobs').create(n, job('train'));
      assert.equal((object.spec as Record<string, unknown>).framework, 'pytorch');
      assert.equal((object.spec as Record<string, unknown>).nprocPerNode, 1);
      assert.equal((object.spec as Record<string, unknown>).replicas, 4);
      const fixed = await fixture.registry.store('jobs').create(n, { ...job('fixed'), spec: { template: job('x').spec!.template } });
      assert.equal((fixed.object.spec as Record<string, unknown>).replicas, 1);
    });
  });

  describe('watch cache bounds', () => {
    it('a watch from "0" gets the whole initial state even when it is larger than the slow-watcher bound', async () => {
      const small = await startRegistryOn(backend, { watcherQueueLimit: 5 });
      try {
        const store = small.registry.store('notebooks');
        for (let i = 0; i < 12; i++) await store.create('big', notebook(`nb-${i}`));
        // A consistent list waits until the cache holds all twelve, so they are the watch's initial state rather
        // than a burst of live events (which the bound of 5 would rightly cut off).
        assert.equal((await store.list('big')).items.length, 12);
        const watch = record(await store.watch('big', { resourceVersion: '0' }));
        await watch.until((e) => e.length >= 12);
        await store.create('big', notebook('later'));
        await watch.until((e) => e.length >= 13);
        await watch.stop();
        assert.equal(watch.events.filter((e) => e.type === 'ADDED').length, 13);
      } finally {
        await small.close();
      }
    });
  });
});
