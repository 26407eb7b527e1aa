// kubectl-ai's pure parts: who may use the local proxy, which paths go to kube-apiserver, which files it serves,
// and how `kubectl ai status` words a job's and a notebook's state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job, Notebook } from '../../src/api/v1alpha1/types.js';
import { etaCell, idleCell, progressCell, queueCell, replicasCell, stateCell } from '../../src/plugin/commands/status.js';
import { isApiPath, isUnder } from '../../src/plugin/local-proxy.js';
import { foreignRequest } from '../../src/plugin/local-origin.js';
import { fileFor } from '../../src/plugin/static-files.js';
import { table } from '../../src/plugin/table.js';

describe('the local proxy admits only its own origin', () => {
  const cases: { name: string; headers: Record<string, string>; admitted: boolean }[] = [
    { name: 'a program (no Origin) at 127.0.0.1', headers: { host: '127.0.0.1:8001' }, admitted: true },
    { name: 'a program at localhost', headers: { host: 'localhost:8001' }, admitted: true },
    { name: 'a page of the proxy itself', headers: { host: '127.0.0.1:8001', origin: 'http://127.0.0.1:8001' }, admitted: true },
    { name: 'a page at localhost on 127.0.0.1', headers: { host: '127.0.0.1:8001', origin: 'http://localhost:8001' }, admitted: true },
    { name: 'DNS rebinding: a hostile name resolving to 127.0.0.1', headers: { host: 'evil.example:8001' }, admitted: false },
    { name: 'another port in Host', headers: { host: '127.0.0.1:9999' }, admitted: false },
    { name: 'no Host at all', headers: {}, admitted: false },
    { name: 'a cross-site page posting to 127.0.0.1', headers: { host: '127.0.0.1:8001', origin: 'https://evil.example' }, admitted: false },
    { name: 'another local web app (same site, other port)', headers: { host: '127.0.0.1:8001', origin: 'http://127.0.0.1:3000' }, admitted: false },
    { name: 'an opaque origin (sandboxed frame, file:)', headers: { host: '127.0.0.1:8001', origin: 'null' }, admitted: false },
    { name: 'https with the proxy\'s host', headers: { host: '127.0.0.1:8001', origin: 'https://127.0.0.1:8001' }, admitted: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.admitted ? 'admitted' : 'refused'}`, () => {
      assert.equal(foreignRequest(c.headers, 8001) === undefined, c.admitted, foreignRequest(c.headers, 8001));
    });
  }
});

describe('the local proxy sends /api and /apis to kube-apiserver, nothing else', () => {
  const cases: [string, boolean][] = [
    ['/api', true],
    ['/api/v1/namespaces', true],
    ['/apis', true],
    ['/apis?timeout=32s', true],
    ['/apis/ai.example.io/v1alpha1/namespaces/a/notebooks/nb/proxy/lab', true],
    ['/', false],
    ['/index.html', false],
    ['/apiary', false],
    ['/apisix', false],
    ['http://127.0.0.1/api', false],
  ];
  for (const [path, api] of cases) it(`${path}: ${api ? 'kube-apiserver' : 'not kube-apiserver'}`, () => assert.equal(isApiPath(path), api));
});

describe('kubectl ai open\'s proxy forwards only its notebook\'s path', () => {
  const prefix = '/apis/ai.example.io/v1alpha1/namespaces/a/notebooks/nb/proxy';
  const cases: [string, boolean][] = [
    [prefix, true],
    [`${prefix}/`, true],
    [`${prefix}/lab?reset=1`, true],
    [`${prefix}/api/contents/my%20file.ipynb`, true],
    [`${prefix}/files/..hidden`, true],
    [`${prefix}x/lab`, false],
    ['/apis/ai.example.io/v1alpha1/namespaces/a/notebooks/other/proxy/', false],
    ['/api/v1/namespaces/a/secrets', false],
    [`${prefix}/../../other/proxy/`, false],
    [`${prefix}/%2e%2e/%2E%2E/other/proxy/`, false],
    [`${prefix}/..%2f..%2fother`, false],
    [`${prefix}/.%2F`, false],
    [`${prefix}/..\\..\\x`, false],
    [`${prefix}/%E0%A4%A`, false],
  ];
  for (const [path, under] of cases) it(`${path}: ${under ? 'forwarded' : 'refused'}`, () => assert.equal(isUnder(path, prefix), under));
});

describe('static files stay inside their folder', () => {
  const cases: [string, string | undefined][] = [
    ['/', '/srv/ui'],
    ['/index.html', '/srv/ui/index.html'],
    ['/assets/app.js?v=1', '/srv/ui/assets/app.js'],
    ['/../etc/passwd', undefined],
    ['/%2e%2e/%2e%2e/etc/passwd', undefined],
    ['/a/%2E%2E/%2E%2E/%2E%2E/x', undefined],
    ['/..%2fui2/x', undefined],
    ['/%00', undefined],
    ['/%E0%A4%A', undefined],
  ];
  for (const [path, file] of cases) it(`${path} → ${file ?? 'refused'}`, () => assert.equal(fileFor('/srv/ui', path), file));
});

describe('kubectl ai status cells', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const job = (status: Job['status'], spec: Partial<Job['spec']> = {}): Job => ({ spec: { template: {}, replicas: 4, ...spec }, status });
  const condition = (type: string, status: 'True' | 'False', reason: string) => ({ type, status, reason, message: '', lastTransitionTime: '2026-11-30T11:00:00Z' });

  it('replicas: running of requested, with elastic bounds', () => {
    assert.equal(replicasCell(job({ replicas: 2 })), '2/4');
    assert.equal(replicasCell(job({ replicas: 2 }, { elastic: { minReplicas: 2, maxReplicas: 8 } })), '2/4 (2-8)');
    assert.equal(replicasCell(job(undefined)), '0/4');
  });

  it('queue: from the Queued and Admitted conditions', () => {
    const cases: [Job['status'], string][] = [
      [undefined, '-'],
      [{ conditions: [condition('Queued', 'True', 'Pending')] }, 'Queued: Pending'],
      [{ conditions: [condition('Queued', 'False', 'Admitted'), condition('Admitted', 'True', 'Admitted')] }, 'Admitted'],
      [{ conditions: [condition('Queued', 'True', 'Pending'), condition('Admitted', 'False', 'Preempted')] }, 'Queued: Pending (Preempted)'],
      [{ conditions: [condition('Queued', 'True', 'Pending'), condition('Admitted', 'False', 'Pending')] }, 'Queued: Pending'],
      [{ conditions: [condition('Queued', 'False', 'Deactivated')] }, 'Deactivated'],
    ];
    for (const [status, want] of cases) assert.equal(queueCell(job(status)), want, JSON.stringify(status));
  });

  it('progress and ETA: from status.progress, the ETA counting down from the last report', () => {
    assert.equal(progressCell(job({})), '-');
    assert.equal(progressCell(job({ progress: { step: 120, totalSteps: 1000 } })), '120/1000 12%');
    assert.equal(progressCell(job({ progress: { step: 7, epoch: 1, totalEpochs: 3 } })), '7 epoch 1/3');
    assert.equal(etaCell(job({ phase: 'Running', progress: { step: 1, estimatedRemainingSeconds: 3600, lastUpdateTime: '2026-11-30T11:59:00Z' } }), now), '59m');
    assert.equal(etaCell(job({ phase: 'Succeeded', progress: { step: 1, estimatedRemainingSeconds: 3600 } }), now), '-');
  });

  it('notebooks: state with culling, idle time against the timeout', () => {
    const nb = (status: Notebook['status'], timeoutSeconds?: number): Notebook => ({
      spec: { template: {}, ...(timeoutSeconds === undefined ? {} : { idle: { timeoutSeconds } }) },
      status,
    });
    assert.equal(stateCell(nb({ phase: 'Running' })), 'Running');
    assert.equal(stateCell(nb({ phase: 'Stopped', conditions: [condition('Culled', 'True', 'Idle')] })), 'Stopped (culled)');
    assert.equal(idleCell(nb({ phase: 'Running', lastActivityTime: '2026-11-30T11:48:00Z' }, 3600), now), '12m of 60m');
    assert.equal(idleCell(nb({ phase: 'Running', lastActivityTime: '2026-11-30T11:48:00Z' }), now), '12m');
    assert.equal(idleCell(nb({ phase: 'Stopped', lastActivityTime: '2026-11-30T11:48:00Z' }, 3600), now), '-');
  });

  it('tables align as kubectl\'s', () => {
    assert.equal(table(['NAME', 'PHASE'], [['a', 'Running'], ['longer-name', 'Pending']]), 'NAME          PHASE\na             Running\nlonger-name   Pending\n');
  });
});
