// The audit log of this server, with kube-apiserver's own audit log on the same requests as the reference: a create
// through kube-apiserver is recorded here with its bodies under the auditID kube-apiserver gave it, and the policy's
// users, omitStages and levels decide what is written, stage by stage, as kube's policy checker decides it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { LocalCluster } from '../support/cluster.js';
import type { HttpsAnswer } from '../support/https.js';
import { until } from '../support/eventually.js';
import { testBed } from '../support/test-bed.js';

const ns = 'audit';
const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-audit-'));
const logPath = join(dir, 'audit.log');
const policyPath = join(dir, 'policy.yaml');
writeFileSync(
  policyPath,
  stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    rules: [
      { level: 'None', users: ['carol'] },
      { level: 'Metadata', resources: [{ group: 'ai.example.io', resources: ['datasets'] }], omitStages: ['RequestReceived'] },
      { level: 'RequestResponse', resources: [{ group: 'ai.example.io', resources: ['notebooks', 'jobs'] }], namespaces: [ns] },
      { level: 'None' },
    ],
  }),
);

let cluster: LocalCluster;
const bed = testBed({
  name: 'audit',
  serverArgs: ['--no-controllers', '--audit-policy-file', policyPath, '--audit-log-path', logPath],
  namespaces: [ns],
});
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await bed.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface AuditEvent {
  level: string;
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { code: number; status?: string; reason?: string; message?: string };
  requestObject?: { metadata?: { name?: string; labels?: Record<string, string> } };
  responseObject?: { metadata?: { name?: string; uid?: string; resourceVersion?: string } };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

function events(path: string): AuditEvent[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEvent);
}

/** The response's Audit-Id: through kube-apiserver, its own and this server's (the same ID) arrive joined by ", ". */
const auditId = (res: HttpsAnswer): string => String(res.headers['audit-id']).split(',')[0]!.trim();

const frontProxy = (user: string, groups: string[] = []) => ({ 'X-Remote-User': user, ...(groups.length > 0 ? { 'X-Remote-Group': groups.join(',') } : {}) });

describe('audit log', () => {
  it('records a kubectl create at RequestResponse with both bodies, under the auditID kube-apiserver logged for it', async () => {
    const manifest = { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'audited', labels: { team: 'vision' } }, spec: { template: { spec: { containers: [{ name: 'nb', image: 'jupyter/base-notebook' }] } } } };
    await cluster.ok('admin', ['-n', ns, 'create', '-f', '-'], JSON.stringify(manifest));
    const theirs = await until(
      // kube-apiserver proxies the request without decoding it, so its objectRef has no name: this suite's only create
      // of a notebook in its namespace is the one.
      () => events(cluster.auditLogPath).find((e) => e.verb === 'create' && e.objectRef?.resource === 'notebooks' && e.objectRef.namespace === ns),
      'kube-apiserver\'s audit event for the create',
    );
    assert.equal(theirs.responseStatus?.code, 201);
    const ours = await until(() => {
      const all = events(logPath).filter((e) => e.auditID === theirs.auditID);
      return all.some((e) => e.stage === 'ResponseComplete') && all;
    }, 'our events for the same auditID');
    assert.deepEqual(ours.map((e) => e.stage), ['RequestReceived', 'ResponseComplete']);
    const done = ours[1]!;
    assert.equal(done.level, 'RequestResponse');
    assert.equal(done.verb, 'create');
    assert.equal(done.user.username, theirs.user.username);
    assert.deepEqual(done.objectRef, { resource: 'notebooks', namespace: ns, name: 'audited', apiGroup: 'ai.example.io', apiVersion: 'v1alpha1' });
    assert.deepEqual(done.responseStatus, { metadata: {}, code: 201 });
    assert.deepEqual(done.requestObject?.metadata?.labels, { team: 'vision' });
    const stored = JSON.parse(await cluster.ok('admin', ['-n', ns, 'get', 'notebook', 'audited', '-o', 'json'])) as { metadata: { uid: string } };
    assert.equal(done.responseObject?.metadata?.uid, stored.metadata.uid);
    assert.equal(done.annotations?.['authorization.k8s.io/decision'], 'allow');
    // The request came through kube-apiserver, which names the client first.
    assert.equal(done.sourceIPs?.[0], '127.0.0.1');
    assert.match(done.stageTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(done.userAgent?.startsWith('kubectl'));
  });

  it('writes nothing for a user a None rule names', async () => {
    const res = await cluster.direct(`/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks`, frontProxy('carol'), cluster.frontProxyClient);
    const id = auditId(res);
    // A request for another user after it: once that one is logged, carol's would have been too.
    const marker = await cluster.direct(`/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks`, frontProxy('dave'), cluster.frontProxyClient);
    await until(() => events(logPath).some((e) => e.auditID === auditId(marker) && e.stage === 'ResponseComplete'), 'the marker request\'s event');
    assert.deepEqual(events(logPath).filter((e) => e.auditID === id), []);
  });

  it('audits a refused request with the Status it was refused with', async () => {
    const res = await cluster.direct(`/apis/ai.example.io/v1alpha1/namespaces/${ns}/jobs`, frontProxy('dave'), cluster.frontProxyClient);
    assert.equal(res.status, 403);
    const status = JSON.parse(res.body) as { status: string; message: string; reason: string; details: unknown; code: number };
    const done = await until(() => events(logPath).find((e) => e.auditID === auditId(res) && e.stage === 'ResponseComplete'), 'the refusal\'s event');
    assert.equal(done.user.username, 'dave');
    assert.equal(status.reason, 'Forbidden');
    assert.deepEqual(done.responseStatus, { metadata: {}, status: status.status, message: status.message, reason: status.reason, details: status.details, code: 403 });
    assert.equal(done.annotations?.['authorization.k8s.io/decision'], 'forbid');
  });

  it('leaves out the stages a rule omits', async () => {
    const res = await cluster.request('admin', 'GET', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/datasets`);
    assert.equal(res.status, 200);
    const id = auditId(res);
    const done = await until(() => events(logPath).find((e) => e.auditID === id && e.stage === 'ResponseComplete'), 'the list\'s event');
    assert.equal(done.level, 'Metadata');
    assert.equal(done.requestObject, undefined);
    assert.equal(done.responseObject, undefined);
    assert.deepEqual(events(logPath).filter((e) => e.auditID === id).map((e) => e.stage), ['ResponseComplete']);
  });

  it('records a watch at RequestReceived, ResponseStarted and ResponseComplete', async () => {
    const res = await cluster.request('admin', 'GET', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/jobs?watch=1&timeoutSeconds=1`);
    assert.equal(res.status, 200);
    const id = auditId(res);
    const all = await until(() => {
      const mine = events(logPath).filter((e) => e.auditID === id);
      return mine.some((e) => e.stage === 'ResponseComplete') && mine;
    }, 'the watch\'s events');
    assert.deepEqual(all.map((e) => e.stage), ['RequestReceived', 'ResponseStarted', 'ResponseComplete']);
    assert.equal(all[1]!.verb, 'watch');
    assert.deepEqual(all[1]!.responseStatus, { metadata: {}, code: 200 });
  });

  it('counts events and levels in kube\'s metrics', async () => {
    const res = await cluster.direct('/metrics', frontProxy('admin', ['system:masters']), cluster.frontProxyClient);
    assert.match(res.body, /^apiserver_audit_event_total [1-9]\d*$/m);
    assert.match(res.body, /^apiserver_audit_level_total\{level="RequestResponse"\} [1-9]\d*$/m);
    assert.match(res.body, /^apiserver_audit_level_total\{level="None"\} [1-9]\d*$/m);
  });
});
