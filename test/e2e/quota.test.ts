// ResourceQuota for our resources on the real control plane: object-count quotas refuse a create as kube-apiserver
// refuses it for the same quota on the CRD equivalent (group golden.example.io, where kube enforces
// count/<plural>.<group> itself), hold under 20 racing creates, and kube-controller-manager's quota controller
// keeps status.used; a job asking for more GPUs than the quota allows is warned at create and says QuotaExceeded
// once kube refuses its pods (kwok nodes advertise nvidia.com/gpu).
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import type { LocalCluster } from '../support/cluster.js';
import { freePort } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { httpsCall } from '../support/https.js';
import { applyQuota, controllerCounts, quotaJson, usedBecomes } from '../support/quota.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'golden.example.io';
const ns = 'quota';
const raceNs = 'quota-race';
const gpuNs = 'quota-gpu';
const replicasNs = 'quota-replicas';

const bed = testBed({ name: 'quota', namespaces: [ns, raceNs, gpuNs, replicasNs], crdGroup: golden });
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

type Json = Record<string, any>;

/** A notebook that runs no pod: the suite is about its count, not its StatefulSet. */
const notebook = (group: string, name: string): string =>
  JSON.stringify({
    apiVersion: `${group}/v1alpha1`,
    kind: 'Notebook',
    metadata: { name },
    spec: { stopped: true, template: { spec: { containers: [{ name: 'main', image: 'jupyter:1' }] } } },
  });

const create = (group: string, namespace: string, name: string, query = ''): Promise<{ status: number; body: string }> =>
  cluster.request('admin', 'POST', `/apis/${group}/v1alpha1/namespaces/${namespace}/notebooks${query}`, notebook(group, name), { 'content-type': 'application/json' });

describe('object count quota', () => {
  it('the third create over count/notebooks "2" is refused with the code and message kube gives for the CRD; status.used is kept by kube-controller-manager', async () => {
    // kube-controller-manager's quota controller fills status.used for both, having discovered our resources
    // through the aggregated API like any other: until then, admission (kube's and ours) refuses as status unknown.
    await controllerCounts(cluster, ns, [`count/notebooks.${ours}`, `count/notebooks.${golden}`]);
    await applyQuota(cluster, ns, 'notebooks', { [`count/notebooks.${ours}`]: '2', [`count/notebooks.${golden}`]: '2' });
    await usedBecomes(cluster, ns, 'notebooks', { [`count/notebooks.${ours}`]: '0', [`count/notebooks.${golden}`]: '0' }, 'the quota controller to count both groups');
    for (const name of ['nb-1', 'nb-2']) {
      for (const group of [golden, ours]) assert.equal((await create(group, ns, name)).status, 201, `${group} ${name}`);
    }
    await usedBecomes(cluster, ns, 'notebooks', { [`count/notebooks.${ours}`]: '2', [`count/notebooks.${golden}`]: '2' }, 'both creates charged');

    const crd = await create(golden, ns, 'nb-3');
    const mine = await create(ours, ns, 'nb-3');
    const normalize = (body: string): unknown => JSON.parse(body.replaceAll(golden, 'GROUP').replaceAll(ours, 'GROUP')) as unknown;
    assert.equal(crd.status, 403, crd.body);
    assert.deepEqual({ code: mine.status, body: normalize(mine.body) }, { code: crd.status, body: normalize(crd.body) });
    assert.equal(
      (JSON.parse(mine.body) as Json).message,
      `notebooks.${ours} "nb-3" is forbidden: exceeded quota: notebooks, requested: count/notebooks.${ours}=1, used: count/notebooks.${ours}=2, limited: count/notebooks.${ours}=2`,
    );
    assert.equal((await cluster.request('admin', 'GET', `/apis/${ours}/v1alpha1/namespaces/${ns}/notebooks/nb-3`)).status, 404);

    // A delete is not admission's: the quota controller sees it through its informer and counts again.
    await cluster.ok('admin', ['delete', `notebooks.${ours}`, 'nb-1', '-n', ns, '--wait=true']);
    await cluster.ok('admin', ['delete', `notebooks.${golden}`, 'nb-1', '-n', ns, '--wait=true']);
    // Its informer of our notebooks may still be catching up with this suite's server (every suite serves the group
    // from an etcd prefix of its own): once, in CI, it recounted ours as 0 for over two minutes.
    await usedBecomes(cluster, ns, 'notebooks', { [`count/notebooks.${ours}`]: '1', [`count/notebooks.${golden}`]: '1' }, 'the quota controller to count the deletes', 360_000);

    // A dry run is checked and not charged.
    const dry = await create(ours, ns, 'nb-dry', '?dryRun=All');
    assert.equal(dry.status, 201, dry.body);
    assert.equal((await quotaJson(cluster, ns, 'notebooks')).status.used[`count/notebooks.${ours}`], '1');
    assert.equal((await create(ours, ns, 'nb-4')).status, 201);
    await usedBecomes(cluster, ns, 'notebooks', { [`count/notebooks.${ours}`]: '2' }, 'the create after the dry run charged');
  });

  it('20 creates racing for the last slot create exactly one; the others get kube\'s refusal', async () => {
    const count = `count/notebooks.${ours}`;
    await controllerCounts(cluster, raceNs, [count]);
    await applyQuota(cluster, raceNs, 'race', { [count]: '3' });
    await usedBecomes(cluster, raceNs, 'race', { [count]: '0' }, 'the quota controller to count notebooks');
    for (const name of ['a', 'b']) assert.equal((await create(ours, raceNs, name)).status, 201);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => create(ours, raceNs, `racer-${i}`)));
    const created = answers.filter((a) => a.status === 201);
    assert.equal(created.length, 1, answers.map((a) => `${a.status} ${a.body.slice(0, 200)}`).join('\n'));
    for (const refused of answers.filter((a) => a.status !== 201)) {
      assert.equal(refused.status, 403, refused.body);
      assert.match((JSON.parse(refused.body) as Json).message, new RegExp(`is forbidden: exceeded quota: race, requested: ${count}=1, used: ${count}=3, limited: ${count}=3$`));
    }
    const list = JSON.parse((await cluster.request('admin', 'GET', `/apis/${ours}/v1alpha1/namespaces/${raceNs}/notebooks`)).body) as Json;
    assert.equal(list.items.length, 3);
    assert.equal((await quotaJson(cluster, raceNs, 'race')).status.used[count], '3');
  });
});

describe('object count quota across replicas', () => {
  let second: number | undefined;
  after(async () => {
    if (second !== undefined) await cluster.stopServer(second);
  });

  /** A create sent straight to the replica on `port`, as kube-apiserver's proxy would send it (front-proxy identity). */
  const createOn = (port: number, name: string): Promise<{ status: number; body: string }> =>
    httpsCall(
      `https://127.0.0.1:${port}/apis/${ours}/v1alpha1/namespaces/${replicasNs}/notebooks`,
      {
        method: 'POST',
        rejectUnauthorized: false,
        cert: readFileSync(cluster.frontProxyClient.cert),
        key: readFileSync(cluster.frontProxyClient.key),
        headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters', 'content-type': 'application/json', accept: 'application/json' },
      },
      notebook(ours, name),
    );

  /** ai_apiserver_quota_rejections_total for notebooks, summed over the replicas. */
  const refusals = async (ports: number[]): Promise<number> => {
    let sum = 0;
    for (const port of ports) {
      const metrics = await cluster.direct('/metrics', { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' }, cluster.frontProxyClient, port);
      assert.equal(metrics.status, 200, metrics.body);
      sum += Number(/^ai_apiserver_quota_rejections_total\{resource="notebooks"\} (\d+)$/m.exec(metrics.body)?.[1] ?? 0);
    }
    return sum;
  };

  it('20 creates split between two replicas racing for the last slot create exactly one', async () => {
    const count = `count/notebooks.${ours}`;
    second = await freePort();
    await cluster.startServer(second);
    await controllerCounts(cluster, replicasNs, [count]);
    await applyQuota(cluster, replicasNs, 'replicas', { [count]: '2' });
    await usedBecomes(cluster, replicasNs, 'replicas', { [count]: '0' }, 'the quota controller to count notebooks');
    assert.equal((await create(ours, replicasNs, 'first')).status, 201);
    const ports = [cluster.serverPort, second];
    const refusedBefore = await refusals(ports);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => createOn(ports[i % 2]!, `racer-${i}`)));
    const created = answers.filter((a) => a.status === 201);
    assert.equal(created.length, 1, answers.map((a) => `${a.status} ${a.body.slice(0, 200)}`).join('\n'));
    for (const refused of answers.filter((a) => a.status !== 201)) {
      assert.equal(refused.status, 403, refused.body);
      assert.match((JSON.parse(refused.body) as Json).message, new RegExp(`is forbidden: exceeded quota: replicas, requested: ${count}=1, used: ${count}=2, limited: ${count}=2$`));
    }
    const list = JSON.parse((await cluster.request('admin', 'GET', `/apis/${ours}/v1alpha1/namespaces/${replicasNs}/notebooks`)).body) as Json;
    assert.equal(list.items.length, 2);
    assert.equal((await quotaJson(cluster, replicasNs, 'replicas')).status.used[count], '2');
    // Each replica counts the refusals it made: 19 in all.
    assert.equal((await refusals(ports)) - refusedBefore, 19);
  });
});

describe('compute quota', () => {
  it('a job or notebook asking for more GPUs than the quota allows is warned at create and says QuotaExceeded once kube refuses its pods', async () => {
    const gpu = 'requests.nvidia.com/gpu';
    await applyQuota(cluster, gpuNs, 'gpu', { [gpu]: '8' });
    await usedBecomes(cluster, gpuNs, 'gpu', { [gpu]: '0' }, 'the quota controller to fill the GPU quota');
    const job = JSON.stringify({
      apiVersion: `${ours}/v1alpha1`,
      kind: 'Job',
      metadata: { name: 'train' },
      spec: {
        replicas: 2,
        // kwok leaves pods with this annotation alone: the first worker stays, holding its GPUs, instead of
        // completing at once and making room for the second.
        template: { metadata: { annotations: { 'kwok.x-k8s.io/status': 'custom' } }, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0', resources: { limits: { 'nvidia.com/gpu': '8' } } }] } },
      },
    });
    const res = await cluster.kubectl('admin', ['create', '-n', gpuNs, '-f', '-'], job);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`Warning: 2 pod\\(s\\) will exceed quota: gpu, requested: ${gpu}=16, used: ${gpu}=0, limited: ${gpu}=8`));

    // One worker fits; kube-apiserver refuses the second, and the job says why, with kube's numbers.
    const pending = await eventually(
      async () => JSON.parse(await cluster.ok('admin', ['get', `jobs.${ours}`, 'train', '-n', gpuNs, '-o', 'json'])) as Json,
      (j) => (j.status?.conditions ?? []).some((c: Json) => c.type === 'Pending' && c.reason === 'QuotaExceeded'),
      'the job to report QuotaExceeded',
      180_000,
      { everyMs: 1000 },
    );
    const condition = (pending.status.conditions as Json[]).find((c) => c.type === 'Pending')!;
    assert.equal(pending.status.phase, 'Pending');
    assert.match(condition.message, new RegExp(`^1 of 2 worker pod\\(s\\) not created: exceeded quota: gpu, requested: ${gpu}=8, used: ${gpu}=8, limited: ${gpu}=8$`));

    // A scale that adds a worker is warned about what it adds.
    const scaled = await cluster.kubectl('admin', ['scale', `jobs.${ours}`, 'train', '-n', gpuNs, '--replicas=3']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.match(scaled.stderr, new RegExp(`Warning: 3 pod\\(s\\) will exceed quota: gpu, requested: ${gpu}=8, used: ${gpu}=8, limited: ${gpu}=8`));
    await cluster.ok('admin', ['scale', `jobs.${ours}`, 'train', '-n', gpuNs, '--replicas=2']);

    // A notebook asking for one more GPU: warned, and its StatefulSet's pod refused, which its Ready condition says.
    const notebook = JSON.stringify({
      apiVersion: `${ours}/v1alpha1`,
      kind: 'Notebook',
      metadata: { name: 'lab' },
      spec: { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }] } } },
    });
    const nb = await cluster.kubectl('admin', ['create', '-n', gpuNs, '-f', '-'], notebook);
    assert.equal(nb.code, 0, nb.stderr);
    assert.match(nb.stderr, new RegExp(`Warning: 1 pod\\(s\\) will exceed quota: gpu, requested: ${gpu}=1, used: ${gpu}=8, limited: ${gpu}=8`));
    const refused = await eventually(
      async () => JSON.parse(await cluster.ok('admin', ['get', `notebooks.${ours}`, 'lab', '-n', gpuNs, '-o', 'json'])) as Json,
      (n) => (n.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.reason === 'QuotaExceeded'),
      'the notebook to report QuotaExceeded',
      180_000,
      { everyMs: 1000 },
    );
    assert.match(
      (refused.status.conditions as Json[]).find((c) => c.type === 'Ready')!.message,
      new RegExp(`^the notebook pod is not created: exceeded quota: gpu, requested: ${gpu}=1, used: ${gpu}=8, limited: ${gpu}=8$`),
    );
  });
});
