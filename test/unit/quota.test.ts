// ResourceQuota admission's arithmetic against Kubernetes itself (a Go oracle on k8s.io/apimachinery and
// k8s.io/apiserver v0.32.2, test/unit/quota-oracle): quantities parsed, printed, added, subtracted and compared as
// resource.Quantity does, and a create checked against a namespace's quotas as resourcequota.CheckRequest checks it
// with the generic object-count evaluator (the charges it makes, or its refusal word for word).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { checkRequest, countUsage, QuotaRefusal } from '../../src/admission/quota/check.js';
import { computeWarnings, podPlan, podUsage } from '../../src/admission/quota/compute.js';
import type { ResourceQuota } from '../../src/admission/quota/resource-list.js';
import { toStrings } from '../../src/admission/quota/resource-list.js';
import { addQuantities, compareQuantities, formatQuantity, parseQuantity, QuantityError, subtractQuantities } from '../../src/admission/quantity.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';

let oracle: GoOracle;
before(() => void (oracle = buildGoOracle('quota-oracle')));
after(() => oracle.remove());

interface Answer {
  error?: string;
  a?: string;
  b?: string;
  sum?: string;
  diff?: string;
  cmp: number;
  used?: Record<string, string>[];
}

const pairs: [string, string][] = [
  ['0', '1'],
  ['1', '1'],
  ['2', '1'],
  ['1.5k', '500m'],
  ['1500', '1.5k'],
  ['100m', '0.1'],
  ['1Gi', '1024Mi'],
  ['1536Mi', '512Mi'],
  ['1.5Gi', '1'],
  ['1000Ki', '24Ki'],
  ['1023', '1Ki'],
  ['2048', '1Ki'],
  ['1e3', '1k'],
  ['1E', '1P'],
  ['12e6', '3'],
  ['0.000000001', '1n'],
  ['0.0000000001', '1n'],
  ['-1', '2'],
  ['-1.5Gi', '1Gi'],
  ['5', '8'],
  ['16', '8'],
  ['250m', '750m'],
  ['3Ti', '1Pi'],
  ['1.1', '10u'],
];

describe('quantity: resource.Quantity as k8s.io/apimachinery defines it', () => {
  it('parses, prints, adds, subtracts and compares as kube does', () => {
    const answers = oracle.ask<Answer>(pairs.map(([a, b]) => ({ quantity: { a, b } })));
    for (const [i, [a, b]] of pairs.entries()) {
      const want = answers[i]!;
      const qa = parseQuantity(a);
      const qb = parseQuantity(b);
      const mine = {
        a: formatQuantity(qa),
        b: formatQuantity(qb),
        sum: formatQuantity(addQuantities(qa, qb)),
        diff: formatQuantity(subtractQuantities(qa, qb)),
        cmp: compareQuantities(qa, qb),
      };
      assert.deepEqual(mine, { a: want.a, b: want.b, sum: want.sum, diff: want.diff, cmp: want.cmp }, `${a} and ${b}`);
    }
  });

  it('refuses a tenant\'s quantity too large to compute with, rather than building it digit by digit', () => {
    // Exact arithmetic on these would take minutes or exhaust the heap (kube keeps them as lazy decimals).
    for (const text of ['1e299999999', '1e999999999', `1${'0'.repeat(1_000_000)}`, `0.${'0'.repeat(1_000_000)}1`]) {
      assert.throws(() => parseQuantity(text), QuantityError, text.slice(0, 20));
    }
    assert.equal(compareQuantities(parseQuantity('1e999'), parseQuantity(`1${'0'.repeat(999)}`)), 0);
  });
});

const quota = (name: string, hard: Record<string, string>, used?: Record<string, string>, spec: Record<string, unknown> = {}): ResourceQuota => ({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name, namespace: 'quota', resourceVersion: '7' },
  spec: { hard, ...spec },
  status: { hard, ...(used ? { used } : {}) },
});

const notebooks = 'count/notebooks.ai.example.io';
const checks: { name: string; quotas: ResourceQuota[]; resource?: string }[] = [
  { name: 'no quota', quotas: [] },
  { name: 'room left: charged', quotas: [quota('q', { [notebooks]: '2' }, { [notebooks]: '1' })] },
  { name: 'full: refused with the numbers', quotas: [quota('q', { [notebooks]: '2' }, { [notebooks]: '2' })] },
  { name: 'over already: refused', quotas: [quota('q', { [notebooks]: '1' }, { [notebooks]: '3' })] },
  { name: 'zero allowed', quotas: [quota('zero', { [notebooks]: '0' }, { [notebooks]: '0' })] },
  { name: 'no usage yet: status unknown', quotas: [quota('new', { [notebooks]: '2', 'count/jobs.ai.example.io': '1' }, {})] },
  { name: 'another resource only: not charged', quotas: [quota('jobs', { 'count/jobs.ai.example.io': '1' }, { 'count/jobs.ai.example.io': '1' })] },
  { name: 'scoped quota: never matches a count of ours', quotas: [quota('scoped', { [notebooks]: '1' }, { [notebooks]: '1' }, { scopes: ['NotTerminating'] })] },
  {
    name: 'two quotas: both charged',
    quotas: [quota('a', { [notebooks]: '5', pods: '3' }, { [notebooks]: '1', pods: '0' }), quota('b', { [notebooks]: '3' }, { [notebooks]: '2' })],
  },
  {
    name: 'two quotas: the second refuses',
    quotas: [quota('a', { [notebooks]: '5' }, { [notebooks]: '1' }), quota('b', { [notebooks]: '2' }, { [notebooks]: '2' })],
  },
  { name: 'a decimal count', quotas: [quota('q', { [notebooks]: '1500m' }, { [notebooks]: '500m' })] },
  { name: 'jobs', resource: 'jobs', quotas: [quota('q', { 'count/jobs.ai.example.io': '1' }, { 'count/jobs.ai.example.io': '1' })] },
];

describe('quota check: a create against the namespace quotas as resourcequota.CheckRequest decides it', () => {
  it('charges the same quotas, or refuses with the same words, as kube', () => {
    const answers = oracle.ask<Answer>(checks.map((c) => ({ check: { quotas: c.quotas, group: 'ai.example.io', resource: c.resource ?? 'notebooks', name: 'nb' } })));
    for (const [i, c] of checks.entries()) {
      const want = answers[i]!;
      let mine: { error?: string; used?: Record<string, string>[] };
      try {
        mine = { used: checkRequest(c.quotas, countUsage('ai.example.io', c.resource ?? 'notebooks')).map((q) => ({ ...q.status?.used })) };
      } catch (error) {
        assert.ok(error instanceof QuotaRefusal, String(error));
        // kube's error is the whole Forbidden; the plugin puts the resource and name in front of the refusal.
        mine = { error: `${c.resource ?? 'notebooks'}.ai.example.io "nb" is forbidden: ${error.message}` };
      }
      const expected = want.error !== undefined ? { error: want.error } : { used: want.used ?? [] };
      assert.deepEqual(mine, expected, c.name);
    }
  });
});

describe('compute quota: what a job\'s pods will be charged', () => {
  const job = (replicas: number, resources: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({
    spec: { replicas, ...extra, template: { spec: { containers: [{ name: 'w', image: 'x', resources }] } } },
  });

  it('a pod is charged its requests, its limits where it requests none, times the replicas', () => {
    const plan = podPlan('jobs', job(2, { limits: { 'nvidia.com/gpu': '8', cpu: '2' }, requests: { cpu: '500m', memory: '1Gi' } }))!;
    assert.equal(plan.replicas, 2);
    assert.deepEqual({ ...toStrings(podUsage(plan.pod)) }, {
      pods: '1',
      'count/pods': '1',
      cpu: '500m',
      'requests.cpu': '500m',
      'limits.cpu': '2',
      memory: '1Gi',
      'requests.memory': '1Gi',
      'requests.nvidia.com/gpu': '8',
    });
  });

  it('warns with the numbers when the pods will not fit, and not when they will', () => {
    const gpu = quota('gpu', { 'requests.nvidia.com/gpu': '8' }, { 'requests.nvidia.com/gpu': '2' });
    const big = podPlan('jobs', job(2, { limits: { 'nvidia.com/gpu': '4' } }))!;
    assert.deepEqual(computeWarnings(big, [gpu]), [
      '2 pod(s) will exceed quota: gpu, requested: requests.nvidia.com/gpu=8, used: requests.nvidia.com/gpu=2, limited: requests.nvidia.com/gpu=8; kube-apiserver refuses the pods that do not fit',
    ]);
    const small = podPlan('jobs', job(1, { limits: { 'nvidia.com/gpu': '4' } }))!;
    assert.deepEqual(computeWarnings(small, [gpu]), []);
    assert.deepEqual(computeWarnings(podPlan('jobs', job(2, { limits: { 'nvidia.com/gpu': '4' } }, { suspend: true }))!, [gpu]), []);
  });

  it('a pod is charged its largest init container, with the sidecars started before it, when larger than the rest', () => {
    const pod: Parameters<typeof podUsage>[0] = {
      containers: [{ resources: { requests: { cpu: '1' } } }],
      initContainers: [
        { restartPolicy: 'Always', resources: { requests: { cpu: '1', memory: '1Gi' } } },
        { resources: { requests: { cpu: '3' } } },
        { restartPolicy: 'Always', resources: { requests: { memory: '1Gi' } } },
      ],
    };
    // kube's PodRequests: max(containers + sidecars = cpu 2, memory 2Gi; init cpu 3 + sidecar before it 1 = 4).
    const usage = toStrings(podUsage(pod));
    assert.deepEqual([usage.cpu, usage.memory], ['4', '2Gi']);
  });

  it("sums a tenant's thousands of containers and init containers in time linear in the pod spec", { timeout: 60_000 }, async () => {
    // 3,000 containers and 3,000 init containers (every other one a sidecar) of 50 resources each, about 8 MB:
    // summing into a copy of the total at each container held the event loop for minutes. The sum runs in a worker
    // so that the test's deadline can end it.
    const worker = new Worker(
      `import { workerData, parentPort } from 'node:worker_threads';
      (await import(workerData.tsx)).register();
      const { podUsage } = await import(workerData.module);
      const containers = (prefix) => Array.from({ length: 3000 }, (_, c) => ({
        ...(prefix === 'init' && c % 2 === 1 ? { restartPolicy: 'Always' } : {}),
        resources: { requests: Object.fromEntries(Array.from({ length: 50 }, (_, k) => ['example.com/' + prefix + '-' + c + '-' + k, '1'])) },
      }));
      const usage = podUsage({ containers: containers('main'), initContainers: containers('init') });
      parentPort.postMessage([...usage.keys()].filter((name) => name.startsWith('requests.example.com/')).length);`,
      { eval: true, workerData: { tsx: import.meta.resolve('tsx/esm/api'), module: new URL('../../src/admission/quota/compute.ts', import.meta.url).href } },
    );
    try {
      const [summed] = (await once(worker, 'message')) as [number];
      assert.equal(summed, 2 * 3000 * 50);
    } finally {
      await worker.terminate();
    }
  });

  it('an update warns about what it adds, and a quota scoped away from the pods says nothing', () => {
    const gpu = quota('gpu', { 'requests.nvidia.com/gpu': '8' }, { 'requests.nvidia.com/gpu': '8' });
    const before = podPlan('jobs', job(2, { limits: { 'nvidia.com/gpu': '4' } }))!;
    assert.deepEqual(computeWarnings(before, [gpu], before), []);
    const after = podPlan('jobs', job(3, { limits: { 'nvidia.com/gpu': '4' } }))!;
    assert.equal(computeWarnings(after, [gpu], before).length, 1);
    // Pods without an activeDeadlineSeconds are not Terminating.
    const terminating = quota('terminating', { pods: '0' }, { pods: '0' }, { scopes: ['Terminating'] });
    assert.deepEqual(computeWarnings(after, [terminating]), []);
  });
});
