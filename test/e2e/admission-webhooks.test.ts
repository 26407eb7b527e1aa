// Admission webhooks against the real thing: the test runs an HTTPS webhook server and registers each webhook
// configuration for this server's group and for CRDs of the same schemas (group webhooks.example.io), so kube-apiserver
// calls the same webhook for the CRD; every request then goes to both through kube-apiserver and the answers (code,
// reason, message) must be the same. Each webhook configuration also carries a webhook that only records what it is
// sent: once it has seen a request to a group, that group's server knows the whole configuration.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { testBed } from '../support/test-bed.js';

const ours = 'ai.example.io';
const golden = 'webhooks.example.io';
const groups = [ours, golden] as const;
const ns = 'admission-webhooks';
let cluster: LocalCluster;

interface Review {
  request: Record<string, any>;
}

/** What the webhook server was sent, by path. */
const seen: Array<{ path: string; review: Review }> = [];
let webhookBase = '';
let caBundle = '';
let webhookServer: Server | undefined;
const sockets = new Set<Socket>();
/** A port nothing listens on: a webhook that is down. */
let deadPort = 0;

const answer = (review: Review, response: Record<string, unknown>): string =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, ...response } });

/** The webhooks, by path: each answers as a webhook of that behaviour would. */
function respond(path: string, review: Review): string | undefined {
  const object = review.request.object as { metadata?: { labels?: Record<string, string> } } | null;
  switch (path) {
    case '/record':
    case '/again':
      return answer(review, { allowed: true });
    case '/deny':
      if (object?.metadata?.labels?.['cost-center']) return answer(review, { allowed: true, warnings: ['cost-center checked'] });
      return answer(review, { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'notebooks need a cost-center label' } });
    case '/deny-all':
      return answer(review, { allowed: false, status: { message: 'status is frozen' } });
    case '/label': {
      const patch = object?.metadata?.labels
        ? [{ op: 'add', path: '/metadata/labels/mutated-by', value: 'webhook' }]
        : [{ op: 'add', path: '/metadata/labels', value: { 'mutated-by': 'webhook' } }];
      return answer(review, { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
    }
    case '/two-replicas':
      return answer(review, { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 2 }])).toString('base64') });
    case '/malformed':
      return '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": ';
    case '/wrong-uid':
      return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'not-the-uid', allowed: true } });
    case '/hang':
      return undefined;
    default:
      return answer(review, { allowed: false, status: { code: 404, message: `no webhook at ${path}` } });
  }
}

async function startWebhookServer(c: LocalCluster): Promise<void> {
  const ca = c.pki.ca('webhook-ca', 'webhook test CA');
  const serving = c.pki.issue('webhook-serving', ca, { cn: 'webhook', usage: 'server', ips: ['127.0.0.1'] });
  caBundle = Buffer.from(ca.pem).toString('base64');
  const server = createServer({ cert: readFileSync(serving.cert), key: readFileSync(serving.key) }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'https://webhook').pathname;
      const review = JSON.parse(body) as Review;
      seen.push({ path, review });
      const text = respond(path, review);
      // A hanging webhook answers never; the caller's timeout ends the exchange.
      if (text !== undefined) res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhookServer = server;
  webhookBase = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Bound and closed at once: nothing listens there for the rest of the run.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

const bed = testBed({
  name: 'admission-webhooks',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
  crdGroup: golden,
  setup: startWebhookServer,
});
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (webhookServer ? webhookServer.close(() => resolve()) : resolve()));
  await bed.stop();
});

type Hook = Record<string, unknown> & { name: string };

/** A webhook for notebooks of both groups in the suite's namespace. */
function hook(name: string, path: string, extra: Record<string, unknown> = {}): Hook {
  return {
    name: `${name}.hooks.example.io`,
    clientConfig: { url: `${webhookBase}${path}`, caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [...groups], apiVersions: ['v1alpha1'], resources: ['notebooks'], scope: 'Namespaced' }],
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: 5,
    ...extra,
  };
}

/**
 * Registers a configuration whose first webhook records what it is sent (the readiness probe), then `hooks`; resolves
 * once both groups' servers have called the recorder, and removes the configuration when the test ends.
 */
async function register(t: { after(fn: () => Promise<void>): void }, kind: 'Validating' | 'Mutating', name: string, hooks: Hook[], rules?: unknown[]): Promise<void> {
  const probe = hook(`probe-${name}`, '/record', { failurePolicy: 'Ignore', ...(rules ? { rules } : {}) });
  const configuration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name: `e2e-${name}` },
    webhooks: [probe, ...hooks],
  };
  await cluster.ok('admin', ['apply', '-f', '-'], JSON.stringify(configuration));
  t.after(async () => void (await cluster.ok('admin', ['delete', `${kind.toLowerCase()}webhookconfiguration`, `e2e-${name}`, '--ignore-not-found'])));
  for (const group of groups) {
    await eventually(
      async () => {
        // A dry run reaches every webhook (all have sideEffects None) and stores nothing.
        await create(group, `probe-${randomUUID().slice(0, 8)}`, { 'cost-center': 'probe' }, '?dryRun=All');
        return seen.some((s) => s.path === '/record' && s.review.request.resource?.group === group && s.review.request.dryRun === true && s.review.request.object?.metadata?.labels?.['cost-center'] === 'probe' && s.review.request.uid && s.review.request.name?.startsWith('probe-'));
      },
      (ok) => ok,
      `${group}'s server calls the webhooks of ${configuration.metadata.name}`,
      120_000,
    );
    seen.length = 0;
  }
}

const spec = { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook:2024-01-01' }] } }, workspace: { size: '1Gi' } };

async function create(group: string, name: string, labels: Record<string, string> = {}, query = ''): Promise<{ status: number; body: any }> {
  const body = { apiVersion: `${group}/v1alpha1`, kind: 'Notebook', metadata: { name, labels }, spec };
  const res = await cluster.request('admin', 'POST', `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks${query}`, JSON.stringify(body), {
    'content-type': 'application/json',
  });
  return { status: res.status, body: res.body ? JSON.parse(res.body) : null };
}

async function get(group: string, name: string): Promise<{ status: number; body: any }> {
  const res = await cluster.request('admin', 'GET', `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks/${name}`);
  return { status: res.status, body: JSON.parse(res.body) };
}

/** A refusal as kube's Status, with the group and the request's uid (which differ by design) replaced. */
function refusal(answer: { status: number; body: any }): unknown {
  const text = JSON.stringify(answer.body).replaceAll(golden, 'GROUP').replaceAll(ours, 'GROUP');
  const body = JSON.parse(text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UID'));
  return { code: answer.status, body };
}

/** Creates `name` in both groups and asserts the same refusal; returns this server's. */
async function sameRefusal(name: string, labels: Record<string, string> = {}): Promise<{ code: number; body: any }> {
  const crd = await create(golden, name, labels);
  const mine = await create(ours, name, labels);
  assert.notEqual(crd.status, 201, `kube-apiserver created ${name}: ${JSON.stringify(crd.body)}`);
  assert.deepEqual(refusal(mine), refusal(crd), "the refusal differs from kube-apiserver's");
  for (const group of groups) assert.equal((await get(group, name)).status, 404, `${name} was stored in ${group}`);
  return refusal(mine) as { code: number; body: any };
}

describe('admission webhooks', () => {
  it('a validating webhook denies with its code and message, as kube-apiserver passes them on; the request it saw', async (t) => {
    await register(t, 'Validating', 'deny', [hook('deny', '/deny')]);
    const denied = await sameRefusal('no-cost-center');
    assert.equal(denied.code, 403);
    assert.equal(denied.body.message, 'admission webhook "deny.hooks.example.io" denied the request: notebooks need a cost-center label');
    const review = seen.find((s) => s.path === '/deny' && s.review.request.resource.group === ours)!.review.request;
    assert.deepEqual(
      { kind: review.kind, resource: review.resource, requestKind: review.requestKind, requestResource: review.requestResource },
      {
        kind: { group: ours, version: 'v1alpha1', kind: 'Notebook' },
        resource: { group: ours, version: 'v1alpha1', resource: 'notebooks' },
        requestKind: { group: ours, version: 'v1alpha1', kind: 'Notebook' },
        requestResource: { group: ours, version: 'v1alpha1', resource: 'notebooks' },
      },
    );
    assert.equal(review.name, 'no-cost-center');
    assert.equal(review.namespace, ns);
    assert.equal(review.operation, 'CREATE');
    assert.equal(review.dryRun, false);
    assert.equal(review.userInfo.username, 'admin');
    assert.equal(review.options.kind, 'CreateOptions');
    assert.equal(review.options.apiVersion, 'meta.k8s.io/v1');
    assert.equal(review.oldObject, null);
    const crdReview = seen.find((s) => s.path === '/deny' && s.review.request.resource.group === golden)!.review.request;
    assert.deepEqual(Object.keys(review).sort(), Object.keys(crdReview).sort(), 'the AdmissionReview request has the fields kube-apiserver sends');
    for (const group of groups) {
      const created = await create(group, 'with-cost-center', { 'cost-center': 'ml' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    // kube's admission metrics, with its names and labels.
    const metrics = await cluster.direct('/metrics', { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' }, cluster.frontProxyClient);
    assert.equal(metrics.status, 200);
    const hookName = 'deny.hooks.example.io';
    assert.match(metrics.body, new RegExp(`apiserver_admission_webhook_rejection_count\\{name="${hookName}",type="validating",operation="CREATE",error_type="no_error",rejection_code="403"\\} 1`));
    assert.match(metrics.body, new RegExp(`apiserver_admission_webhook_request_total\\{name="${hookName}",type="validating",operation="CREATE",code="200",rejected="false"\\} [1-9]`));
    assert.match(metrics.body, /apiserver_admission_controller_admission_duration_seconds_count\{name="ValidatingAdmissionWebhook",type="validate",operation="CREATE",rejected="true"\} [1-9]/);
    assert.match(metrics.body, /apiserver_admission_step_admission_duration_seconds_count\{type="validate",operation="CREATE",rejected="true"\} [1-9]/);
  });

  it('a mutating webhook adds a label by JSONPatch, which the stored object has', async (t) => {
    await register(t, 'Mutating', 'label', [hook('label', '/label')]);
    for (const group of groups) {
      const created = await create(group, 'mutated', { team: 'a' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.metadata.labels['mutated-by'], 'webhook', group);
      const stored = await get(group, 'mutated');
      assert.deepEqual(stored.body.metadata.labels, { team: 'a', 'mutated-by': 'webhook' }, group);
    }
  });

  it('reinvocationPolicy IfNeeded calls a webhook again when a later one changed the object; warnings reach the client', async (t) => {
    await register(t, 'Mutating', 'reinvoke', [hook('again', '/again', { reinvocationPolicy: 'IfNeeded' }), hook('relabel', '/label')]);
    for (const group of groups) {
      const created = await create(group, 'reinvoked');
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const calls = seen.filter((s) => s.path === '/again' && s.review.request.resource.group === group && s.review.request.name === 'reinvoked');
      assert.equal(calls.length, 2, `${group}: the IfNeeded webhook was called ${calls.length} times`);
      assert.equal(calls[1]!.review.request.object.metadata.labels['mutated-by'], 'webhook');
    }
    await cluster.ok('admin', ['delete', 'mutatingwebhookconfiguration', 'e2e-reinvoke']);
    await register(t, 'Validating', 'warn', [hook('warn', '/deny')]);
    for (const group of groups) {
      const result = await cluster.kubectl('admin', ['create', '-f', '-'], JSON.stringify({
        apiVersion: `${group}/v1alpha1`,
        kind: 'Notebook',
        metadata: { name: 'warned', namespace: ns, labels: { 'cost-center': 'ml' } },
        spec,
      }));
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Warning: cost-center checked/, group);
    }
  });

  it('matchConditions: a false condition skips the webhook; one that fails to evaluate refuses as kube-apiserver does', async (t) => {
    const matchConditions = [
      { name: 'not-exempt', expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)" },
      { name: 'tier', expression: "!has(object.metadata.labels) || !('tier' in object.metadata.labels) || object.metadata.labels.tier.size() > 0 && object.metadata.labels.missing == 'x'" },
    ];
    await register(t, 'Validating', 'conditions', [hook('conditions', '/deny', { matchConditions })]);
    for (const group of groups) {
      const exempt = await create(group, 'exempt', { exempt: 'yes' });
      assert.equal(exempt.status, 201, JSON.stringify(exempt.body));
    }
    assert.equal((await sameRefusal('not-exempt')).code, 403);
    const failed = await sameRefusal('tiered', { tier: 'gold' });
    assert.equal(failed.code, 403);
  });

  it('a webhook that is down: failurePolicy Fail refuses as kube-apiserver does, Ignore lets the request through', async (t) => {
    const down = { clientConfig: { url: `https://127.0.0.1:${deadPort}/down`, caBundle } };
    await register(t, 'Validating', 'down-fail', [hook('down-fail', '/down', down)]);
    const refused = await sameRefusal('down-fail');
    assert.equal(refused.code, 500);
    assert.equal(
      refused.body.message,
      `Internal error occurred: failed calling webhook "down-fail.hooks.example.io": failed to call webhook: Post "https://127.0.0.1:${deadPort}/down?timeout=5s": dial tcp 127.0.0.1:${deadPort}: connect: connection refused`,
    );
    await cluster.ok('admin', ['delete', 'validatingwebhookconfiguration', 'e2e-down-fail']);
    await register(t, 'Validating', 'down-ignore', [hook('down-ignore', '/down', { ...down, failurePolicy: 'Ignore' })]);
    for (const group of groups) {
      const created = await create(group, 'down-ignore');
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
  });

  it('a webhook that does not answer in its timeoutSeconds fails the request at the timeout, as kube-apiserver does', async (t) => {
    await register(t, 'Validating', 'hang', [hook('hang', '/hang', { timeoutSeconds: 1 })]);
    const refused = await sameRefusal('hang');
    assert.equal(refused.code, 500);
    assert.match(refused.body.message, /failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/hang\?timeout=1s": context deadline exceeded$/);
  });

  it('--dry-run=server reaches a webhook with sideEffects None, marked dryRun, and stores nothing', async (t) => {
    await register(t, 'Validating', 'dry-run', [hook('dry-run', '/deny', { sideEffects: 'None' })]);
    for (const group of groups) {
      const result = await cluster.kubectl('admin', ['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify({
        apiVersion: `${group}/v1alpha1`,
        kind: 'Notebook',
        metadata: { name: 'dry', namespace: ns, labels: { 'cost-center': 'ml' } },
        spec,
      }));
      assert.equal(result.code, 0, result.stderr);
      const review = seen.find((s) => s.path === '/deny' && s.review.request.resource.group === group && s.review.request.name === 'dry');
      assert.ok(review, `the webhook was not called for ${group}`);
      assert.equal(review.review.request.dryRun, true);
      assert.deepEqual(review.review.request.options.dryRun, ['All']);
      assert.equal((await get(group, 'dry')).status, 404);
    }
    // kubectl prints the webhook's warning for both.
    const denied = await cluster.kubectl('admin', ['create', '--dry-run=server', '-f', '-'], JSON.stringify({
      apiVersion: `${ours}/v1alpha1`,
      kind: 'Notebook',
      metadata: { name: 'dry-denied', namespace: ns },
      spec,
    }));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /admission webhook "dry-run.hooks.example.io" denied the request: notebooks need a cost-center label/);
  });

  it('an objectSelector that does not select the object skips the webhook', async (t) => {
    await register(t, 'Validating', 'selected', [hook('selected', '/deny', { objectSelector: { matchLabels: { checked: 'yes' } } })]);
    for (const group of groups) {
      const skipped = await create(group, 'unchecked');
      assert.equal(skipped.status, 201, JSON.stringify(skipped.body));
    }
    const denied = await sameRefusal('checked', { checked: 'yes' });
    assert.equal(denied.code, 403);
  });

  it('a webhook for notebooks/status sees status writes, not writes of the notebook', async (t) => {
    const statusRules = [{ operations: ['UPDATE'], apiGroups: [...groups], apiVersions: ['v1alpha1'], resources: ['notebooks/status'], scope: 'Namespaced' }];
    for (const group of groups) assert.equal((await create(group, 'frozen', { 'cost-center': 'ml' })).status, 201);
    const probeRules = [{ operations: ['CREATE'], apiGroups: [...groups], apiVersions: ['v1alpha1'], resources: ['notebooks'], scope: 'Namespaced' }];
    await register(t, 'Validating', 'status', [hook('status', '/deny-all', { rules: statusRules })], probeRules);
    const answers: unknown[] = [];
    for (const group of groups) {
      const current = (await get(group, 'frozen')).body;
      const res = await cluster.request('admin', 'PUT', `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks/frozen/status`, JSON.stringify({ ...current, status: { phase: 'Running' } }), {
        'content-type': 'application/json',
      });
      answers.push(refusal({ status: res.status, body: JSON.parse(res.body) }));
      const review = seen.find((s) => s.path === '/deny-all' && s.review.request.resource.group === group)?.review.request;
      assert.ok(review, `the status webhook was not called for ${group}`);
      assert.equal(review.subResource, 'status');
      assert.equal(review.requestSubResource, 'status');
      assert.equal(review.operation, 'UPDATE');
      assert.equal(review.oldObject.metadata.name, 'frozen');
      const patched = await cluster.request('admin', 'PATCH', `/apis/${group}/v1alpha1/namespaces/${ns}/notebooks/frozen`, JSON.stringify({ metadata: { labels: { touched: 'yes' } } }), {
        'content-type': 'application/merge-patch+json',
      });
      assert.equal(patched.status, 200, patched.body);
    }
    assert.deepEqual(answers[0], answers[1], "the refusal differs from kube-apiserver's");
    assert.deepEqual((answers[0] as any).code, 400);
    assert.equal((answers[0] as any).body.message, 'admission webhook "status.hooks.example.io" denied the request: status is frozen');
  });

  it('jobs/scale is admitted as autoscaling/v1 Scale: a mutating webhook changes the replicas, a validating one refuses', async (t) => {
    const job = (group: string): string =>
      JSON.stringify({
        apiVersion: `${group}/v1alpha1`,
        kind: 'Job',
        metadata: { name: 'scaled' },
        spec: { elastic: { minReplicas: 1, maxReplicas: 4 }, template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0' }] } } },
      });
    for (const group of groups) {
      const res = await cluster.request('admin', 'POST', `/apis/${group}/v1alpha1/namespaces/${ns}/jobs`, job(group), { 'content-type': 'application/json' });
      assert.equal(res.status, 201, res.body);
    }
    const scaleRules = [{ operations: ['UPDATE'], apiGroups: [...groups], apiVersions: ['v1alpha1'], resources: ['jobs/scale'], scope: 'Namespaced' }];
    const scale = (group: string, replicas: number) =>
      cluster.request('admin', 'PATCH', `/apis/${group}/v1alpha1/namespaces/${ns}/jobs/scaled/scale`, JSON.stringify({ spec: { replicas } }), {
        'content-type': 'application/merge-patch+json',
      });
    await register(t, 'Mutating', 'scale', [hook('scale', '/two-replicas', { rules: scaleRules })]);
    for (const group of groups) {
      const res = await scale(group, 3);
      assert.equal(res.status, 200, res.body);
      assert.equal(JSON.parse(res.body).spec.replicas, 2, group);
      const stored = await cluster.request('admin', 'GET', `/apis/${group}/v1alpha1/namespaces/${ns}/jobs/scaled`);
      assert.equal(JSON.parse(stored.body).spec.replicas, 2, group);
    }
    const reviews = groups.map((group) => seen.find((s) => s.path === '/two-replicas' && s.review.request.resource.group === group)!.review.request);
    for (const review of reviews) {
      assert.deepEqual(review.kind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
      assert.equal(review.subResource, 'scale');
      assert.equal(review.object.kind, 'Scale');
      assert.equal(review.object.spec.replicas, 3);
      assert.equal(review.oldObject.kind, 'Scale');
    }
    await cluster.ok('admin', ['delete', 'mutatingwebhookconfiguration', 'e2e-scale']);
    await register(t, 'Validating', 'scale-deny', [hook('scale-deny', '/deny-all', { rules: scaleRules })]);
    const answers = [];
    for (const group of groups) {
      const res = await scale(group, 1);
      answers.push(refusal({ status: res.status, body: JSON.parse(res.body) }));
    }
    assert.deepEqual(answers[1], answers[0], "the refusal differs from kube-apiserver's");
    assert.equal((answers[1] as { code: number }).code, 400);
  });

  it('connect subresources are admitted as CONNECT with their options (notebooks/proxy)', async (t) => {
    assert.equal((await create(ours, 'proxied', { 'cost-center': 'ml' })).status, 201);
    const connectRules = [{ operations: ['CONNECT'], apiGroups: [ours], apiVersions: ['v1alpha1'], resources: ['notebooks/proxy'], scope: 'Namespaced' }];
    await register(t, 'Validating', 'connect', [hook('connect', '/deny-all', { rules: connectRules })]);
    const res = await cluster.request('admin', 'GET', `/apis/${ours}/v1alpha1/namespaces/${ns}/notebooks/proxied/proxy/lab/tree`);
    assert.equal(res.status, 400, res.body);
    assert.equal(JSON.parse(res.body).message, 'admission webhook "connect.hooks.example.io" denied the request: status is frozen');
    const review = seen.find((s) => s.path === '/deny-all')!.review.request;
    assert.equal(review.operation, 'CONNECT');
    assert.equal(review.subResource, 'proxy');
    assert.deepEqual(review.kind, { group: ours, version: 'v1alpha1', kind: 'NotebookProxyOptions' });
    assert.deepEqual(review.object, { kind: 'NotebookProxyOptions', apiVersion: `${ours}/v1alpha1`, path: '/lab/tree' });
    assert.equal(review.oldObject, null);
  });

  it('a malformed AdmissionReview or one for another request fails the request (Fail), never stores the object', async (t) => {
    await register(t, 'Validating', 'malformed', [hook('malformed', '/malformed')]);
    const crd = await create(golden, 'malformed');
    const mine = await create(ours, 'malformed');
    assert.equal(mine.status, crd.status);
    assert.equal(mine.body.reason, crd.body.reason);
    const prefix = 'Internal error occurred: failed calling webhook "malformed.hooks.example.io": failed to call webhook: ';
    assert.ok(crd.body.message.startsWith(prefix), crd.body.message);
    assert.ok(mine.body.message.startsWith(prefix), mine.body.message);
    for (const group of groups) assert.equal((await get(group, 'malformed')).status, 404);
    await cluster.ok('admin', ['delete', 'validatingwebhookconfiguration', 'e2e-malformed']);
    await register(t, 'Validating', 'wrong-uid', [hook('wrong-uid', '/wrong-uid')]);
    const refused = await sameRefusal('wrong-uid');
    assert.equal(refused.code, 500);
    assert.equal(
      refused.body.message,
      'Internal error occurred: failed calling webhook "wrong-uid.hooks.example.io": received invalid webhook response: expected response.uid="UID", got "not-the-uid"',
    );
  });
});
