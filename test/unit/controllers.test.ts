// The controller runtime's pure parts: the work queue's de-duplication and requeue rules, the "already applied"
// comparison that keeps a no-op reconcile from writing, and the env every training worker gets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerEnv } from '../../src/controllers/job.js';
import { covers } from '../../src/controllers/runtime/kube-children.js';
import { WorkQueue } from '../../src/controllers/runtime/work-queue.js';
import { setCondition } from '../../src/controllers/common.js';

describe('work queue', () => {
  it('a key added many times while waiting is handed out once', async () => {
    const queue = new WorkQueue();
    for (let i = 0; i < 5; i++) queue.add('ns/a');
    queue.add('ns/b');
    assert.equal(queue.depth, 2);
    assert.equal(await queue.get(), 'ns/a');
    assert.equal(await queue.get(), 'ns/b');
    assert.equal(queue.depth, 0);
  });

  it('a key added while it is being processed comes back once, after done()', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    const key = await queue.get();
    queue.add('ns/a');
    queue.add('ns/a');
    assert.equal(queue.depth, 0, 'handed out twice at once');
    queue.done(key!);
    assert.equal(queue.depth, 1);
    assert.equal(await queue.get(), 'ns/a');
  });

  it('failures come back after a growing delay; forget() resets it; shutdown ends get()', async () => {
    const queue = new WorkQueue();
    // The queue's timers do not hold the process open (a server's sockets do); this test has to.
    const keepAlive = setTimeout(() => undefined, 5_000);
    const started = Date.now();
    queue.addRateLimited('ns/a');
    queue.addRateLimited('ns/a');
    queue.addRateLimited('ns/a');
    assert.equal(await queue.get(), 'ns/a');
    clearTimeout(keepAlive);
    assert.ok(Date.now() - started >= 15, 'the third failure should wait 20 ms');
    queue.forget('ns/a');
    queue.shutdown();
    assert.equal(await queue.get(), undefined);
  });
});

describe('covers', () => {
  const live = { metadata: { name: 'a', labels: { x: '1', extra: 'y' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'i', imagePullPolicy: 'Always' }] } } } };
  const cases: { name: string; want: unknown; covered: boolean }[] = [
    { name: 'a subset with defaults on the live side', want: { spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } } }, covered: true },
    { name: 'a changed scalar', want: { spec: { replicas: 2 } }, covered: false },
    { name: 'a removed label', want: { metadata: { labels: { x: '1', gone: 'z' } } }, covered: false },
    { name: 'a list of another length', want: { spec: { template: { spec: { containers: [] } } } }, covered: false },
    { name: 'a quantity written as a number', want: { spec: { replicas: '1' } }, covered: true },
  ];
  for (const tc of cases) {
    it(`${tc.name}: ${tc.covered ? 'nothing to apply' : 'apply'}`, () => assert.equal(covers(live, tc.want), tc.covered));
  }
});

describe('worker env', () => {
  it('elastic pytorch workers rendezvous at rank 0 through the headless Service, rank from the completion index', () => {
    const env = Object.fromEntries(
      workerEnv('train', { template: {}, elastic: { minReplicas: 2, maxReplicas: 8 }, nprocPerNode: 4 }, 6).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]),
    );
    assert.deepEqual(env, {
      MASTER_ADDR: 'train-0.train',
      MASTER_PORT: '23456',
      WORLD_SIZE: '6',
      RANK: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
      PET_NNODES: '2:8',
      PET_NPROC_PER_NODE: '4',
      PET_NODE_RANK: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
      PET_MASTER_ADDR: 'train-0.train',
      PET_MASTER_PORT: '23456',
      PET_RDZV_ENDPOINT: 'train-0.train:23456',
      PET_RDZV_BACKEND: 'c10d',
      PET_RDZV_ID: 'train',
    });
  });

  it('generic workers get rank and world size only', () => {
    assert.deepEqual(workerEnv('w', { template: {}, framework: 'generic' }, 2).map((e) => e.name), ['MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'RANK']);
  });
});

describe('conditions', () => {
  it('lastTransitionTime moves only when the status changes', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1);
    const old = { ...first[0]!, lastTransitionTime: '2020-01-01T00:00:00Z' };
    const same = setCondition([old], { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2);
    assert.equal(same[0]!.lastTransitionTime, '2020-01-01T00:00:00Z');
    assert.equal(same[0]!.reason, 'B');
    const flipped = setCondition([old], { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, 3);
    assert.notEqual(flipped[0]!.lastTransitionTime, '2020-01-01T00:00:00Z');
    assert.equal(flipped[0]!.observedGeneration, 3);
  });
});
