// The TypeScript SDK against the real control plane, through kube-apiserver: CRUD, /status and /scale, errors that
// carry the server's own Status, a watch that survives a restart of this server and a forced 410 without missing
// or repeating an event, and an informer whose cache equals a fresh LIST after a burst of 500 changes.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from '../../src/registry/registry.js';
import { resources } from '../../src/resources/index.js';
import { AiClient, Informer, StatusError, type Notebook, type WatchEvent } from '../../src/sdk/index.js';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const ns = 'sdk';
let cluster: LocalCluster;
let ai: AiClient;

const notebook = (name: string, labels: Record<string, string> = {}): Notebook =>
  ({
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name, labels },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter:1' }] } } },
  }) as Notebook;

const bed = testBed({
  name: 'sdk',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
  async setup(cluster) {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig('admin'));
    ai = AiClient.fromKubeConfig(kc);
  },
});
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

describe('the TypeScript SDK through kube-apiserver', () => {
  it('CRUD, patches of every kind, /status and /scale', async () => {
    const created = await ai.notebooks.create(ns, notebook('crud', { step: '0' }));
    assert.equal(created.metadata.generation, 1);
    assert.equal((await ai.notebooks.get(ns, 'crud')).metadata.uid, created.metadata.uid);
    const updated = await ai.notebooks.update({ ...created, metadata: { ...created.metadata, labels: { step: '1' } } });
    assert.equal(updated.metadata.labels?.step, '1');
    await ai.notebooks.patch(ns, 'crud', { type: 'merge', patch: { spec: { stopped: true } } });
    await ai.notebooks.patch(ns, 'crud', { type: 'json', patch: [{ op: 'replace', path: '/metadata/labels/step', value: '2' }] });
    const applied = await ai.notebooks.patch(ns, 'crud', {
      type: 'apply',
      fieldManager: 'sdk-test',
      force: true,
      patch: { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'crud' }, spec: { idle: { timeoutSeconds: 600 } } },
    });
    assert.deepEqual([applied.spec.stopped, applied.spec.idle?.timeoutSeconds, applied.metadata.labels?.step], [true, 600, '2']);
    assert.ok(applied.metadata.managedFields?.some((e) => e.manager === 'sdk-test' && e.operation === 'Apply'));
    const withStatus = await ai.notebooks.updateStatus({ ...applied, status: { phase: 'Running' } });
    assert.equal(withStatus.status?.phase, 'Running');
    await ai.notebooks.patchStatus(ns, 'crud', { type: 'merge', patch: { status: { readyReplicas: 1 } } });
    assert.deepEqual((await ai.notebooks.get(ns, 'crud')).status, { phase: 'Running', readyReplicas: 1 });
    const names: string[] = [];
    for await (const item of ai.notebooks.listAll(ns, { limit: 1 })) names.push(item.metadata.name!);
    assert.deepEqual(names, ['crud']);

    await ai.jobs.create(ns, {
      apiVersion: 'ai.example.io/v1alpha1',
      kind: 'Job',
      metadata: { name: 'train' },
      spec: { replicas: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'trainer', image: 'pytorch' }] } } },
    } as never);
    assert.equal((await ai.jobs.scale(ns, 'train', 3)).spec.replicas, 3);
    assert.equal((await ai.jobs.getScale(ns, 'train')).spec.replicas, 3);
    assert.equal((await ai.jobs.get(ns, 'train')).spec.replicas, 3);

    await ai.notebooks.delete(ns, 'crud');
    await assert.rejects(ai.notebooks.get(ns, 'crud'), (error: unknown) => error instanceof StatusError && error.code === 404 && error.reason === 'NotFound');
  });

  it('refusals carry the server\'s own Status, word for word', async () => {
    const bad = { ...notebook('bad'), spec: { ...notebook('bad').spec, idle: { timeoutSeconds: 5 } } } as Notebook;
    const raw = await cluster.request('admin', 'POST', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks?dryRun=All`, JSON.stringify(bad), { 'content-type': 'application/json' });
    const expected = JSON.parse(raw.body) as { message: string; code: number; details: { causes: unknown[] } };
    assert.equal(expected.code, 422, raw.body);
    await assert.rejects(ai.notebooks.create(ns, bad, { dryRun: true }), (error: unknown) => {
      assert.ok(error instanceof StatusError);
      assert.deepEqual([error.code, error.reason, error.message, error.causes], [422, 'Invalid', expected.message, expected.details.causes]);
      return true;
    });
    await assert.rejects(
      ai.notebooks.patch(ns, 'none', { type: 'apply', fieldManager: '', patch: notebook('none') as never }),
      (error: unknown) => error instanceof StatusError && error.code === 422 && /fieldManager: Required value: is required for apply patch/.test(error.message),
    );
  });

  it('a watch survives a restart of this server and a forced 410, missing and repeating nothing', async () => {
    const abort = new AbortController();
    const events: string[] = [];
    const watch = ai.notebooks.watch(ns, { labelSelector: 'watched=yes', signal: abort.signal, timeoutSeconds: 30 });
    const pump = (async () => {
      for await (const event of watch as AsyncGenerator<WatchEvent<Notebook>>) events.push(`${event.type} ${event.object.metadata.name}`);
    })();
    const until = async (event: string): Promise<void> => {
      const deadline = Date.now() + 90_000;
      while (!events.includes(event)) {
        if (Date.now() > deadline) throw new Error(`never saw ${event}; saw ${events.join(', ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await ai.notebooks.create(ns, notebook('w1', { watched: 'yes' }));
    await until('ADDED w1');

    await cluster.stopServer();
    await cluster.startServer();
    await cluster.waitAvailable(true, 90_000);
    // kube-apiserver may answer 503 for a moment after the restart, until its availability check has run again.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await ai.notebooks.patch(ns, 'w1', { type: 'merge', patch: { spec: { stopped: true } } });
        break;
      } catch (error) {
        if (!(error instanceof StatusError && error.status.code === 503) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await until('MODIFIED w1');

    // While the server is down another writer (a second replica would) creates w2 and etcd is compacted: the
    // watch cannot resume from where it was (410) and must relist, reporting w2 once and w1 not again.
    await cluster.stopServer();
    const logger = pino({ level: 'silent' });
    const storage = new EtcdStorage({ endpoints: [cluster.serverEtcdEndpoint], logger });
    const registry = new Registry({ strategies: resources.strategies, storage, etcdPrefix: cluster.etcdPrefix, logger });
    await registry.start();
    await registry.store('notebooks').create(ns, notebook('w2', { watched: 'yes' }));
    await registry.store('notebooks').delete(ns, 'w1');
    await storage.compact(await storage.currentRevision());
    registry.stop();
    await storage.close();
    await cluster.startServer();
    await until('ADDED w2');
    await until('DELETED w1');
    await ai.notebooks.create(ns, notebook('w3', { watched: 'yes' }));
    await until('ADDED w3');
    abort.abort();
    await pump.catch(() => undefined);
    assert.deepEqual(events, ['ADDED w1', 'MODIFIED w1', 'ADDED w2', 'DELETED w1', 'ADDED w3']);
  });

  it('an informer\'s cache equals a fresh LIST after a burst of 500 changes', async () => {
    const informer = new Informer(ai.notebooks, ns, { labelSelector: 'burst=yes' });
    let adds = 0;
    informer.on('add', () => adds++);
    await informer.start();
    const names = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    const work: (() => Promise<unknown>)[] = [
      ...names.map((n) => () => ai.notebooks.create(ns, notebook(n, { burst: 'yes' }))),
      ...names.slice(0, 200).map((n) => () => ai.notebooks.patch(ns, n, { type: 'merge', patch: { metadata: { labels: { round: '1' } } } })),
      ...names.slice(0, 100).map((n) => () => ai.notebooks.delete(ns, n)),
    ];
    assert.equal(work.length, 500);
    // Creates, then updates, then deletes, 16 at a time within each phase.
    for (const phase of [work.slice(0, 200), work.slice(200, 400), work.slice(400)]) {
      for (let i = 0; i < phase.length; i += 16) await Promise.all(phase.slice(i, i + 16).map((f) => f()));
    }
    const fresh = await ai.notebooks.list(ns, { labelSelector: 'burst=yes' });
    const want = new Map(fresh.items.map((o) => [o.metadata.name, o.metadata.resourceVersion]));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const have = new Map(informer.list().map((o) => [o.metadata.name, o.metadata.resourceVersion]));
      if (JSON.stringify([...have].sort()) === JSON.stringify([...want].sort())) break;
      if (Date.now() > deadline) assert.fail(`the informer holds ${have.size} objects, a fresh LIST ${want.size}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(want.size, 100);
    assert.equal(adds, 200);
    await informer.stop();
  });
});
