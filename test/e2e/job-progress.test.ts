// jobs/progress on the real control plane: rank 0 reports with its ServiceAccount's token through kube-apiserver,
// which RBAC allows through the Role and RoleBinding the controller made for that job only; kubectl shows it in the
// PROGRESS and ETA columns; another tenant's ServiceAccount (and the same one for another job) is refused as
// kube-apiserver refuses a CRD's request; a burst of reports is answered 200 every time and stored a few times
// (counted from a watch); a view user reads the JobProgress.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { httpsCall, type HttpsAnswer } from '../support/https.js';
import { testBed } from '../support/test-bed.js';

const golden = 'crd-progress.example.io';
const tenant = 'progress-a';
const other = 'progress-b';
// One worker: the throttle's windows are per server process, and the burst test counts one process's writes.
const bed = testBed({ name: 'job-progress', namespaces: [tenant, other], crdGroup: golden, serverArgs: ['--workers=1'] });
let cluster: LocalCluster;
const tokens: Record<string, string> = {};

const job = (name: string, serviceAccount: string): string => `apiVersion: ai.example.io/v1alpha1
kind: Job
metadata:
  name: ${name}
spec:
  replicas: 1
  template:
    metadata:
      annotations:
        # kwok leaves the pod alone: by default it completes a batch Job's pods, and a Succeeded job shows no ETA.
        kwok.x-k8s.io/status: custom
    spec:
      serviceAccountName: ${serviceAccount}
      restartPolicy: OnFailure
      containers:
        - name: trainer
          image: pytorch/pytorch:2.4.0
`;

const progressPath = (group: string, namespace: string, name: string): string => `/apis/${group}/v1alpha1/namespaces/${namespace}/jobs/${name}/progress`;

/** What rank 0's two lines do: PATCH its report to kube-apiserver with the pod's ServiceAccount token. */
function report(token: string, path: string, body: unknown): Promise<HttpsAnswer> {
  return httpsCall(
    `${cluster.apiserverUrl}${path}`,
    { method: 'PATCH', ca: cluster.caPem, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json', accept: 'application/json' } },
    JSON.stringify(body),
  );
}

/** The Status with the group named as GROUP, so the CRD's answer and ours compare. */
const statusOf = (answer: HttpsAnswer, group: string): unknown => JSON.parse(answer.body.replaceAll(group, 'GROUP')) as unknown;

before(async () => {
  cluster = await bed.ready();
  for (const namespace of [tenant, other]) {
    await cluster.ok('admin', ['create', 'serviceaccount', 'trainer', '-n', namespace]);
    tokens[namespace] = (await cluster.ok('admin', ['create', 'token', 'trainer', '-n', namespace])).trim();
  }
  await cluster.ok('admin', ['apply', '-n', tenant, '-f', '-'], `${job('train', 'trainer')}---\n${job('other-job', 'default')}`);
  await cluster.ok('admin', ['create', 'rolebinding', 'alice-view', '--clusterrole=view', '--user=alice', '-n', tenant]);
});
after(() => bed.stop());

describe('jobs/progress', () => {
  it('the controller gives the job a Role for its own progress, bound to its ServiceAccount and owned by the job', async () => {
    const role = await eventually(
      async () => JSON.parse(await cluster.ok('admin', ['get', 'role', 'aijob-train-progress', '-n', tenant, '-o', 'json'])) as Record<string, any>,
      () => true,
      'the progress Role of job train',
      90_000,
    );
    assert.deepEqual(role.rules, [{ apiGroups: ['ai.example.io'], resources: ['jobs/progress'], resourceNames: ['train'], verbs: ['update', 'patch'] }]);
    assert.equal(role.metadata.ownerReferences[0].kind, 'Job');
    const binding = JSON.parse(await cluster.ok('admin', ['get', 'rolebinding', 'aijob-train-progress', '-n', tenant, '-o', 'json'])) as Record<string, any>;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'trainer', namespace: tenant }]);
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'aijob-train-progress' });
  });

  it('rank 0 reports with its ServiceAccount token; kubectl get shows PROGRESS and ETA', async () => {
    const answer = await eventually(
      () => report(tokens[tenant]!, progressPath('ai.example.io', tenant, 'train'), { step: 120, totalSteps: 1000, epoch: 1, metrics: { loss: 0.42 }, estimatedRemainingSeconds: 3600 }),
      (a) => a.status === 200,
      'a report accepted once the RoleBinding is in force',
      60_000,
    );
    const object = JSON.parse(answer.body) as Record<string, any>;
    assert.deepEqual([object.apiVersion, object.kind, object.step, object.metrics], ['ai.example.io/v1alpha1', 'JobProgress', 120, { loss: 0.42 }]);
    const status = JSON.parse(await cluster.ok('admin', ['get', 'aijob', 'train', '-n', tenant, '-o', 'json'])) as Record<string, any>;
    assert.equal(status.status.progress.step, 120);
    assert.equal(status.status.progress.lastUpdateTime, object.lastUpdateTime);
    const table = (await cluster.ok('admin', ['get', 'aijob', 'train', '-n', tenant])).split('\n');
    assert.match(table[0]!, /^NAME\s+PHASE\s+REPLICAS\s+ACTIVE\s+SUCCEEDED\s+PROGRESS\s+ETA\s+AGE$/);
    assert.match(table[1]!, /^train\s+\S+\s+1\s+\d+\s+\d+\s+120\/1000\s+(59m|60m)\s+\S+$/);
    // kubectl writes it too, as any subresource (an admin here: RBAC lets only the job's pods).
    assert.match(await cluster.ok('admin', ['patch', 'aijob', 'train', '-n', tenant, '--subresource=progress', '--type=merge', '-p', '{"epoch":2}']), /patched/);
  });

  it('another tenant\'s ServiceAccount, and the job\'s own for another job, are refused as kube-apiserver refuses them', async () => {
    await cluster.installCrds(golden);
    const cases = [
      { token: tokens[other]!, name: 'train' },
      { token: tokens[tenant]!, name: 'other-job' },
    ];
    for (const c of cases) {
      const want = await report(c.token, progressPath(golden, tenant, c.name), { step: 1 });
      assert.equal(want.status, 403, want.body);
      const got = await report(c.token, progressPath('ai.example.io', tenant, c.name), { step: 1 });
      assert.equal(got.status, 403, got.body);
      assert.deepEqual(statusOf(got, 'ai.example.io'), statusOf(want, golden));
    }
  });

  it('1,000 reports as fast as a trainer can send them (20 at a time): every one 200, a few stored writes, the last one stored', async () => {
    const path = progressPath('ai.example.io', tenant, 'train');
    const start = JSON.parse(await cluster.ok('admin', ['get', 'aijob', 'train', '-n', tenant, '-o', 'json'])) as Record<string, any>;
    // Every change of the job from here, as a watch sees it; it ends by itself well after the burst and the trailing write.
    const watchSeconds = 45;
    const watch = cluster.request('admin', 'GET', `/apis/ai.example.io/v1alpha1/namespaces/${tenant}/jobs?watch=1&fieldSelector=metadata.name%3Dtrain&resourceVersion=${start.metadata.resourceVersion}&timeoutSeconds=${watchSeconds}`);
    const began = Date.now();
    const statuses: number[] = [];
    const inFlight = 20;
    let next = 1;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next <= 1000) {
          const step = next++;
          statuses.push((await report(tokens[tenant]!, path, { step, totalSteps: 1000, metrics: { loss: 1 / step } })).status);
        }
      }),
    );
    const burstMs = Date.now() - began;
    assert.equal(statuses.length, 1000);
    assert.deepEqual([...new Set(statuses)], [200]);
    // The trailing write stores the last report the server accepted.
    const last = await eventually(
      async () => JSON.parse(await cluster.ok('admin', ['get', 'aijob', 'train', '-n', tenant, '-o', 'json'])) as Record<string, any>,
      (j) => j.status?.progress?.step >= 980,
      'the end of the burst stored',
      30_000,
    );
    const events = (await watch).body.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; object: Record<string, any> });
    const progresses = events.map((e) => JSON.stringify(e.object.status?.progress ?? null));
    const writes = progresses.filter((p, i) => p !== (i === 0 ? JSON.stringify(start.status?.progress ?? null) : progresses[i - 1])).length;
    // At most one write at the start of each 5 s window the burst spans (none for the first when a report before
    // the burst opened it), and one when the last window ends.
    const windows = Math.ceil(burstMs / 5000);
    console.log(`1000 reports in ${burstMs} ms: ${writes} stored progress write(s), last stored step ${last.status.progress.step}`);
    assert.ok(writes >= 1 && writes <= windows + 1, `${writes} progress writes for a burst of ${burstMs} ms`);
  });

  it('a view user reads the JobProgress but may not write it; a user without a role may not read it', async () => {
    const read = JSON.parse(await cluster.ok('alice', ['get', '--raw', progressPath('ai.example.io', tenant, 'train')])) as Record<string, any>;
    assert.equal(read.kind, 'JobProgress');
    assert.equal(typeof read.step, 'number');
    const denied = await cluster.request('alice', 'PATCH', progressPath('ai.example.io', tenant, 'train'), '{"step":1}', { 'content-type': 'application/merge-patch+json' });
    assert.equal(denied.status, 403, denied.body);
    assert.match((JSON.parse(denied.body) as { message: string }).message, /cannot patch resource "jobs\/progress" in API group "ai.example.io"/);
    const bob = await cluster.kubectl('bob', ['get', '--raw', progressPath('ai.example.io', tenant, 'train')]);
    assert.notEqual(bob.code, 0);
    assert.match(bob.stderr, /forbidden/);
  });
});
