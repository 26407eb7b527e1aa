// jobs/progress over a real registry on a real etcd: what a report stores in status.progress, what admission is
// shown, how reports are validated, and the throttle: a burst of reports costs a handful of stored writes (counted
// as etcd revisions, which nothing else in this suite moves), every report answered, the last one stored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { PluginChain } from '../../src/admission/chain.js';
import type { AdmissionPlugin } from '../../src/admission/plugin.js';
import { ApiError } from '../../src/api/meta/errors.js';
import type { KubeObject } from '../../src/api/meta/types.js';
import type { AdmissionAttributes } from '../../src/registry/admission.js';
import { ProgressSubresource } from '../../src/registry/progress.js';
import { Registry } from '../../src/registry/registry.js';
import { resources } from '../../src/resources/index.js';
import { applyPatch } from '../../src/server/patch.js';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import { startEtcd, type EtcdProcess } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { job } from '../support/registry.js';

const seen: AdmissionAttributes[] = [];
const recorder: AdmissionPlugin = {
  name: 'Recorder',
  handles: () => true,
  async mutate(attributes) {
    seen.push(attributes);
    return { object: attributes.object, warnings: [], auditAnnotations: {} };
  },
  async validate() {
    return { warnings: [], auditAnnotations: {} };
  },
};

const user = { name: 'system:serviceaccount:t:default', uid: 'u-1', groups: ['system:serviceaccounts'], extra: {} };
const admission = { user, options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' } };
const intervalMs = 1500;
let etcd: EtcdProcess;
let storage: EtcdStorage;
let registry: Registry;
let counter = 0;
const ns = (): string => `progress-${++counter}`;

const merge = (patch: unknown) => (current: KubeObject): unknown => applyPatch('merge', current, patch);
const progressOf = (sub: ProgressSubresource, namespace: string) => sub.patch.bind(sub, namespace, 'train');

describe('jobs/progress', () => {
  let sub: ProgressSubresource;
  before(async () => {
    etcd = await startEtcd();
    const logger = pino({ level: 'silent' });
    storage = new EtcdStorage({ endpoints: [etcd.endpoint], logger });
    registry = new Registry({
      strategies: resources.strategies,
      storage,
      etcdPrefix: '/registry',
      logger,
      consistentListFromCache: await storage.hasReliableProgressNotify(),
      admission: new PluginChain([recorder]),
      progressWriteIntervalMs: intervalMs,
    });
    await registry.start();
    sub = registry.subresources('jobs').get('progress') as ProgressSubresource;
  });
  after(async () => {
    registry.stop();
    await storage.close();
    await etcd.destroy();
  });

  const rv = async (namespace: string): Promise<number> => Number((await registry.store('jobs').get(namespace, 'train')).object.metadata.resourceVersion);

  it('a report lands in status.progress with the server\'s lastUpdateTime; GET answers JobProgress; admission sees the JobProgress', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('train'));
    const empty = await sub.get(n, 'train');
    assert.deepEqual([empty.apiVersion, empty.kind, empty.metadata.name, empty.step], ['ai.example.io/v1alpha1', 'JobProgress', 'train', undefined]);
    seen.length = 0;
    const { object } = await sub.patch(n, 'train', merge({ step: 10, totalSteps: 100, epoch: 1, metrics: { loss: 0.5 } }), { admission, fieldManager: 'trainer' });
    assert.equal(object.kind, 'JobProgress');
    assert.equal(object.step, 10);
    assert.match(String(object.lastUpdateTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const stored = (await registry.store('jobs').get(n, 'train')).object;
    assert.deepEqual(stored.status?.progress, { step: 10, totalSteps: 100, epoch: 1, metrics: { loss: 0.5 }, lastUpdateTime: object.lastUpdateTime });
    assert.equal(stored.spec?.replicas, 4, 'the spec is untouched');
    assert.ok(stored.metadata.managedFields?.some((f) => f.manager === 'trainer' && f.subresource === 'status'));
    assert.equal(seen.length, 1);
    assert.deepEqual([seen[0]!.subResource, seen[0]!.kind.kind, seen[0]!.operation, seen[0]!.object?.kind], ['progress', 'JobProgress', 'UPDATE', 'JobProgress']);
    const read = await sub.get(n, 'train');
    assert.deepEqual([read.step, read.metadata.resourceVersion], [10, stored.metadata.resourceVersion]);
  });

  it('a report out of bounds is Invalid, worded as kube words field errors; an unknown field is a warning', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('train'));
    await assert.rejects(
      sub.patch(n, 'train', merge({ step: -1, metrics: { loss: 'low' } }), {}),
      (error: unknown) =>
        error instanceof ApiError &&
        error.code === 422 &&
        error.message === 'JobProgress.ai.example.io "train" is invalid: [step: Invalid value: -1: must be greater than or equal to 0, metrics[loss]: Invalid value: "low": must be a finite number]',
    );
    const { warnings } = await sub.patch(n, 'train', merge({ step: 1, loss: 3 }), {});
    assert.deepEqual(warnings, ['unknown field "loss"']);
    await assert.rejects(sub.patch(n, 'missing', merge({ step: 1 }), {}), (error: unknown) => error instanceof ApiError && error.code === 404);
  });

  it('PUT replaces the whole report; server-side apply is refused as an unsupported media type', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('train'));
    const plain = new ProgressSubresource(registry.store('jobs'), { kind: 'JobProgress', schemaName: 'io.example.ai.v1alpha1.JobProgress' }, { intervalMs: 0, logger: pino({ level: 'silent' }) });
    await plain.patch(n, 'train', merge({ step: 5, totalSteps: 10, metrics: { loss: 1 } }), {});
    const { object } = await plain.update(n, 'train', { step: 6 }, {});
    assert.deepEqual([object.step, object.totalSteps, object.metrics], [6, undefined, undefined]);
    await assert.rejects(plain.apply(), (error: unknown) => error instanceof ApiError && error.code === 415);
  });

  it('1,000 reports in a row, as a trainer sends them: every one answered with what it made, two stored writes, the last report stored when the window ends', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('train'));
    // A window the 1,000 reports fit in even on a loaded machine (they took 3 s of the suite's 1.5 s once).
    const windowMs = 8_000;
    const burst = new ProgressSubresource(registry.store('jobs'), { kind: 'JobProgress', schemaName: 'io.example.ai.v1alpha1.JobProgress' }, { intervalMs: windowMs, logger: pino({ level: 'silent' }) });
    const report = progressOf(burst, n);
    const before = await rv(n);
    const results = [];
    const started = Date.now();
    for (let step = 1; step <= 1000; step++) results.push(await report(merge({ step, totalSteps: 1000, metrics: { [`m${step % 3}`]: step } }), { fieldManager: 'trainer' }));
    const tookMs = Date.now() - started;
    assert.deepEqual(results.map((r) => r.object.step), Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.deepEqual({ ...(results[999]!.object.metrics as object) }, { m1: 1000, m2: 998, m0: 999 }, 'reports are merged onto the latest one accepted');
    assert.ok(tookMs < windowMs, `the reports took ${tookMs} ms, longer than the window: the count below would not say anything`);
    assert.equal(await rv(n), before + 1, 'the first report is stored at once, the rest wait for the window');
    const stored = await eventually(() => registry.store('jobs').get(n, 'train'), (r) => (r.object.status?.progress as { step?: number } | undefined)?.step === 1000, 'the last report stored', 30_000, { everyMs: 100 });
    assert.deepEqual((stored.object.status?.progress as { metrics: unknown }).metrics, { m1: 1000, m2: 998, m0: 999 });
    assert.equal(Number(stored.object.metadata.resourceVersion), before + 2, 'one coalesced write');
  });

  it('a dry run is never throttled nor stored; a job recreated under the same name does not get the old one\'s reports', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('train'));
    const before = await rv(n);
    const dry = await sub.patch(n, 'train', merge({ step: 5 }), { dryRun: true });
    assert.equal(dry.object.step, 5);
    assert.equal(await rv(n), before);
    await sub.patch(n, 'train', merge({ step: 1 }), {});
    await sub.patch(n, 'train', merge({ step: 2 }), {});
    await registry.store('jobs').delete(n, 'train');
    const fresh = await registry.store('jobs').create(n, job('train'));
    await new Promise((resolve) => setTimeout(resolve, intervalMs * 2));
    assert.equal((await registry.store('jobs').get(n, 'train')).object.status?.progress, undefined);
    assert.equal((await registry.store('jobs').get(n, 'train')).object.metadata.resourceVersion, fresh.object.metadata.resourceVersion);
  });

  it('ETA: the trainer\'s own estimate is kept with its step; without one, the server estimates it from the rate of steps', async () => {
    const n = ns();
    await registry.store('jobs').create(n, job('train'));
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const timed = new ProgressSubresource(registry.store('jobs'), { kind: 'JobProgress', schemaName: 'io.example.ai.v1alpha1.JobProgress' }, { intervalMs: 0, logger: pino({ level: 'silent' }), now: () => clock });
    const report = progressOf(timed, n);
    const first = await report(merge({ step: 100, totalSteps: 1000, estimatedRemainingSeconds: 600 }), {});
    assert.equal(first.object.estimatedRemainingSeconds, 600);
    clock += 10_000;
    const second = await report(merge({ step: 200 }), {});
    assert.equal(second.object.estimatedRemainingSeconds, 80, '100 steps in 10 s, 800 steps to go');
    clock += 10_000;
    const third = await report(merge({ step: 250, estimatedRemainingSeconds: 42 }), {});
    assert.equal(third.object.estimatedRemainingSeconds, 42);
  });
});
