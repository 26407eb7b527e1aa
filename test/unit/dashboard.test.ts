// What the dashboard shows of an object (src/dashboard/format.ts) and how its watches apply events
// (src/dashboard/watch.ts): the DOM-free parts of the page, run in Node; and what the notebooks' origin of
// `kubectl ai dashboard` forwards. The page itself is tested in Chromium
// (test/e2e/dashboard.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job, Notebook } from '../../src/api/v1alpha1/types.js';
import { bytes, duration, idle, idleText, progressFraction, queueState, recordSample, remainingSeconds, replicas, replicasText } from '../../src/dashboard/format.js';
import { applyEvent, type KubeObject } from '../../src/dashboard/watch.js';
import { notebookProxyPaths } from '../../src/plugin/commands/dashboard.js';
import { isUnder } from '../../src/plugin/local-proxy.js';

const template = { spec: { containers: [] } };
const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: '2026-11-30T10:00:00Z' });

describe('dashboard formatting', () => {
  it('durations read as kubectl prints ages', () => {
    const cases: [number, string][] = [[-3, '0s'], [0, '0s'], [59.9, '59s'], [60, '1m'], [3599, '59m'], [3600, '1h'], [3660 + 59, '1h1m'], [86400, '1d'], [90000, '1d1h']];
    for (const [seconds, want] of cases) assert.equal(duration(seconds), want, String(seconds));
  });

  it('bytes in binary units, three significant digits', () => {
    const cases: [number | undefined, string][] = [[undefined, '—'], [-1, '—'], [Number.NaN, '—'], [0, '0 B'], [1023, '1023 B'], [1024, '1.00 KiB'], [1536 * 1024 * 1024, '1.50 GiB'], [2 ** 60, '1024 PiB']];
    for (const [n, want] of cases) assert.equal(bytes(n), want, String(n));
  });

  it("a job's queue state comes from its Admitted and Queued conditions", () => {
    const queued = condition('Queued', 'True', 'Pending', "couldn't assign flavors to pod set main: insufficient unused quota");
    const cases: { name: string; job: Job; want: ReturnType<typeof queueState> }[] = [
      { name: 'no queue', job: { spec: { template } }, want: { state: '—' } },
      { name: 'labelled, no condition yet', job: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'team' } }, spec: { template } }, want: { state: 'Waiting', queue: 'team' } },
      {
        name: 'queued',
        job: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'team' } }, spec: { template }, status: { conditions: [queued] } },
        want: { state: 'Queued', queue: 'team', detail: "Pending: couldn't assign flavors to pod set main: insufficient unused quota" },
      },
      {
        name: 'admitted wins over a stale Queued',
        job: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'team' } }, spec: { template }, status: { conditions: [queued, condition('Admitted', 'True', 'Admitted', 'ClusterQueue gpus admitted 2 of 8 worker(s)')] } },
        want: { state: 'Admitted', queue: 'team', detail: 'ClusterQueue gpus admitted 2 of 8 worker(s)' },
      },
      {
        name: 'taken back',
        job: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'team' } }, spec: { template }, status: { conditions: [condition('Admitted', 'False', 'Preempted', 'Preempted to accommodate a higher priority Workload')] } },
        want: { state: 'Evicted', queue: 'team', detail: 'Preempted: Preempted to accommodate a higher priority Workload' },
      },
    ];
    for (const { name, job, want } of cases) assert.deepEqual(queueState(job), want, name);
  });

  it('replicas as the REPLICAS column prints them, with elastic bounds', () => {
    assert.equal(replicasText(replicas({ spec: { template, replicas: 3 } })), '3');
    assert.equal(replicasText(replicas({ spec: { template, elastic: { minReplicas: 2, maxReplicas: 8 } } })), '8 (2-8)');
    assert.deepEqual(replicas({ spec: { template, replicas: 6, elastic: { minReplicas: 2, maxReplicas: 8 } }, status: { replicas: 2, active: 1 } }), { current: 2, active: 1, min: 2, max: 8 });
  });

  it('progress: a fraction of steps, else of epochs; the ETA counts down from its report', () => {
    assert.equal(progressFraction(undefined), undefined);
    assert.equal(progressFraction({ step: 120 }), undefined);
    assert.equal(progressFraction({ step: 250, totalSteps: 1000 }), 0.25);
    assert.equal(progressFraction({ step: 2000, totalSteps: 1000 }), 1);
    assert.equal(progressFraction({ epoch: 1, totalEpochs: 4 }), 0.25);
    const at = Date.parse('2026-11-30T10:00:00Z');
    assert.equal(remainingSeconds({ estimatedRemainingSeconds: 600, lastUpdateTime: '2026-11-30T10:00:00Z' }, at + 60_000), 540);
    assert.equal(remainingSeconds({ estimatedRemainingSeconds: 600, lastUpdateTime: '2026-11-30T10:00:00Z' }, at + 3_600_000), 0);
    assert.equal(remainingSeconds({ step: 1 }, at), undefined);
  });

  it("a notebook's idle time counts from its last activity, against its culling timeout", () => {
    const now = Date.parse('2026-11-30T10:30:00Z');
    const nb = (status: Notebook['status'], idlePolicy?: number): Notebook => ({ spec: { template, ...(idlePolicy ? { idle: { timeoutSeconds: idlePolicy } } : {}) }, ...(status ? { status } : {}) });
    assert.equal(idleText(idle(nb(undefined), now)), 'no activity yet');
    assert.equal(idleText(idle(nb({ lastActivityTime: '2026-11-30T10:18:00Z' }), now)), '12m');
    assert.equal(idleText(idle(nb({ lastActivityTime: '2026-11-30T10:18:00Z' }, 3600), now)), '12m of 1h');
    assert.equal(idleText(idle(nb({ phase: 'Stopped', conditions: [condition('Culled', 'True', 'Idle', 'idle for 1h')] }, 3600), now)), 'culled');
  });

  it('the progress chart keeps one sample per stored report, the latest ones', () => {
    let samples = recordSample([], { step: 1, metrics: { loss: 2 } });
    assert.deepEqual(samples, [], 'a report the server has not stamped');
    samples = recordSample(samples, { step: 1, metrics: { loss: 2 }, lastUpdateTime: '2026-11-30T10:00:00Z' });
    samples = recordSample(samples, { step: 1, metrics: { loss: 2 }, lastUpdateTime: '2026-11-30T10:00:00Z' });
    // Stamps have whole seconds: a second report within the same second is a point of its own.
    samples = recordSample(samples, { step: 2, metrics: { loss: 1.5 }, lastUpdateTime: '2026-11-30T10:00:00Z' });
    samples = recordSample(samples, { step: 5, lastUpdateTime: '2026-11-30T10:00:05Z' });
    assert.deepEqual(samples, [
      { time: Date.parse('2026-11-30T10:00:00Z'), step: 1, metrics: { loss: 2 } },
      { time: Date.parse('2026-11-30T10:00:00Z'), step: 2, metrics: { loss: 1.5 } },
      { time: Date.parse('2026-11-30T10:00:05Z'), step: 5, metrics: {} },
    ]);
    for (let i = 0; i < 5; i++) samples = recordSample(samples, { step: i, lastUpdateTime: new Date(Date.parse('2026-11-30T11:00:00Z') + i * 1000).toISOString() }, 3);
    assert.deepEqual(samples.map((s) => s.step), [2, 3, 4]);
  });
});

describe('dashboard watch events', () => {
  const object = (name: string, resourceVersion: string): KubeObject => ({ metadata: { name, resourceVersion } });

  it('ADDED, MODIFIED and DELETED change the set; BOOKMARK moves only the resourceVersion', () => {
    const items = new Map<string, KubeObject>();
    assert.deepEqual(applyEvent(items, { type: 'ADDED', object: object('a', '5') }), { kind: 'applied', resourceVersion: '5' });
    assert.deepEqual(applyEvent(items, { type: 'ADDED', object: object('__proto__', '6') }), { kind: 'applied', resourceVersion: '6' });
    assert.deepEqual(applyEvent(items, { type: 'MODIFIED', object: object('a', '7') }), { kind: 'applied', resourceVersion: '7' });
    assert.deepEqual([...items.keys()], ['a', '__proto__']);
    assert.equal(items.get('a')?.metadata?.resourceVersion, '7');
    assert.deepEqual(applyEvent(items, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }), { kind: 'bookmark', resourceVersion: '9' });
    assert.deepEqual(applyEvent(items, { type: 'DELETED', object: object('a', '10') }), { kind: 'applied', resourceVersion: '10' });
    assert.deepEqual([...items.keys()], ['__proto__']);
  });

  it('an ERROR 410 (the resourceVersion compacted away) relists; any other ERROR is an error', () => {
    const items = new Map<string, KubeObject>();
    // kube-apiserver's words for both: the watch cache's "too old resource version", etcd's compaction.
    assert.deepEqual(applyEvent(items, { type: 'ERROR', object: { code: 410, message: 'too old resource version: 5 (120)' } }), { kind: 'relist' });
    assert.deepEqual(applyEvent(items, { type: 'ERROR', object: { code: 500, message: 'internal error' } }), { kind: 'error', message: 'internal error' });
    assert.equal(applyEvent(items, { type: 'SURPRISE', object: object('a', '1') }).kind, 'error');
    assert.equal(items.size, 0);
  });
});

describe("the dashboard's notebooks origin", () => {
  const group = '/apis/ai.example.io/v1alpha1';
  const cases: [string, boolean][] = [
    [`${group}/namespaces/a/notebooks/lab/proxy`, true],
    [`${group}/namespaces/a/notebooks/lab/proxy/`, true],
    [`${group}/namespaces/team-b/notebooks/other/proxy/api/kernels/k1/channels?session_id=x`, true],
    [`${group}/namespaces/a/notebooks/lab/proxyx`, false],
    [`${group}/namespaces/a/notebooks/lab`, false],
    [`${group}/namespaces/a/notebooks`, false],
    [`${group}/namespaces/a/jobs`, false],
    [`${group}/namespaces/a/jobs/resnet/logs`, false],
    ['/api/v1/namespaces/a/secrets', false],
    [`${group}/watch/namespaces/a/notebooks/lab/proxy`, false],
    [`${group}/namespaces/a/notebooks/lab/proxy/../../../jobs`, false],
    [`${group}/namespaces/a/notebooks/lab/proxy/%2e%2e/%2E%2E/x`, false],
    [`${group}/namespaces/a/notebooks/../secrets/proxy/`, false],
    [`${group}/namespaces/a/notebooks/x%2F..%2F..%2Fjobs/proxy/`, false],
    [`/x${group}/namespaces/a/notebooks/lab/proxy/`, false],
  ];
  for (const [path, forwarded] of cases) it(`${path}: ${forwarded ? 'forwarded' : 'refused'}`, () => assert.equal(isUnder(path, notebookProxyPaths), forwarded));
});
