// Gang failure policy, deadline and TTL on the real control plane: kwok runs the pods, and a test that needs a rank
// to fail (or to be evicted) takes that pod from kwok with kwok's "custom status" annotation and writes its status as
// the kubelet would. kube's Job controller then applies the batch Job's backoffLimit and podFailurePolicy; what our
// Job says is compared with what kube's batch Job says.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { testBed } from '../support/test-bed.js';

const ns = 'gang';
const golden = 'golden.example.io';
const bed = testBed({ name: 'gang-restarts', namespaces: [ns], crdGroup: golden });
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  try {
    if (cluster) {
      await cluster.ok('admin', ['delete', 'jobs.ai.example.io', '--all', '-n', ns, '--wait=false']);
      await eventually(
        async () => {
          await cluster.ok('admin', ['delete', 'pods', '--all', '-n', ns, '--force', '--grace-period=0', '--wait=false']);
          return pods();
        },
        (left) => left.length === 0,
        `no pods left in ${ns}`,
        90_000,
      );
    }
  } finally {
    await bed.stop();
  }
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

interface Pod {
  metadata: { name: string; uid: string; annotations?: Record<string, string>; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: { name: string; image: string }[] };
  status?: { phase?: string };
}

async function getJson<T = Record<string, any>>(args: string[]): Promise<T> {
  return JSON.parse(await cluster.ok('admin', [...args, '-o', 'json'])) as T;
}

function condition(object: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

async function pods(selector?: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(['get', 'pods', '-n', ns, ...(selector ? ['-l', selector] : [])])).items;
}

/**
 * The live ranks of the batch Job `job` (uid `uid`). Pods kwok was told to leave alone stay Terminating once deleted
 * (kube's Job controller deletes the other ranks of a failed generation): they are removed here, as the kubelet would.
 */
async function ranksOf(job: string, uid: string): Promise<Pod[]> {
  const all = await pods(`ai.example.io/job=${job}`);
  for (const p of all.filter((p) => p.metadata.deletionTimestamp)) {
    await cluster.kubectl('admin', ['delete', 'pod', p.metadata.name, '-n', ns, '--force', '--grace-period=0', '--wait=false']);
  }
  return all.filter((p) => !p.metadata.deletionTimestamp && p.metadata.labels?.['batch.kubernetes.io/controller-uid'] === uid);
}

/**
 * Our Job `name`, read after removing its Terminating pods as the kubelet would: kube's Job controller sets a batch
 * Job's Failed condition only once every pod of it has terminated.
 */
async function aiJob(name: string): Promise<Record<string, any>> {
  await ranksOf(name, '');
  return getJson(['get', 'aijob', name, '-n', ns]);
}

const frozen = { 'kwok.x-k8s.io/status': 'custom' };

function gangJob(name: string, spec: Record<string, unknown>, options: { frozen?: boolean } = {}): string {
  return JSON.stringify({
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      ...spec,
      template: {
        metadata: { annotations: options.frozen ? frozen : {} },
        spec: { containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0' }] },
      },
    },
  });
}

/** What the kubelet writes for a running container, or for one that exited with `exitCode` (and, for an eviction, DisruptionTarget). */
async function setPod(pod: Pod, state: { running: true } | { exitCode: number; disruption?: string }): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const running = 'running' in state;
  const containerStatuses = pod.spec.containers.map(({ name, image }) => ({
    name,
    image,
    imageID: '',
    ready: running,
    restartCount: 0,
    state: running ? { running: { startedAt: now } } : { terminated: { exitCode: state.exitCode, reason: 'Error', startedAt: now, finishedAt: now } },
  }));
  const conditions = [
    { type: 'Ready', status: running ? 'True' : 'False', lastTransitionTime: now },
    ...(!running && state.disruption ? [{ type: 'DisruptionTarget', status: 'True', reason: state.disruption, message: 'Eviction API: evicting', lastTransitionTime: now }] : []),
  ];
  const status = { phase: running ? 'Running' : 'Failed', conditions, containerStatuses };
  await cluster.ok('admin', ['patch', 'pod', pod.metadata.name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

/** The batch Job of `name` once it is a new one (not `previousUid`), and its ranks, all created and set running. */
async function generation(name: string, previousUid?: string): Promise<{ batch: Record<string, any>; ranks: Pod[] }> {
  const batch = await eventually(
    () => getJson(['get', 'job.batch', name, '-n', ns]).catch(() => undefined),
    (b) => b !== undefined && b.metadata.uid !== previousUid && !b.metadata.deletionTimestamp,
    `a new batch Job ${name}`,
    120_000,
  );
  const ranks = await eventually(() => ranksOf(name, batch!.metadata.uid), (r) => r.length === 2, `2 ranks of batch Job ${name}`, 120_000);
  for (const p of ranks) await setPod(p, { running: true });
  await eventually(() => getJson(['get', 'aijob', name, '-n', ns]), (j) => j.status?.phase === 'Running', `job ${name} Running`, 90_000);
  return { batch: batch!, ranks };
}

describe('gang failure policy', () => {
  it('a rank failing with a retriable exit code restarts every rank in a new batch Job; once restarts are spent the job fails', async () => {
    await cluster.ok('admin', ['create', '-f', '-'], gangJob('retry', { failurePolicy: { maxRestarts: 1, permanentExitCodes: [42] } }, { frozen: true }));
    const first = await generation('retry');
    assert.equal(first.batch.spec.backoffLimit, 0, 'a counted rank failure ends the generation');
    assert.deepEqual(first.batch.spec.podFailurePolicy.rules, [
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } },
    ]);
    const rank1 = first.ranks.find((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1')!;
    await setPod(rank1, { exitCode: 1 });

    const restarted = await eventually(() => aiJob('retry'), (j) => j.status?.restarts === 1, 'job retry restarted once', 120_000);
    const why = condition(restarted, 'GangRestarted')!;
    assert.equal(why.status, 'True');
    assert.equal(why.reason, 'RankFailed');
    assert.equal(why.message, `gang restart 1 of 1: rank 1 (pod ${rank1.metadata.name}) exited with code 1`);
    const second = await generation('retry', first.batch.metadata.uid);
    assert.equal(second.batch.metadata.annotations['ai.example.io/gang-generation'], '1');
    const oldNames = new Set(first.ranks.map((p) => p.metadata.name));
    assert.ok(second.ranks.every((p) => !oldNames.has(p.metadata.name)), 'every rank is a new pod');
    assert.equal(second.batch.metadata.name, 'retry', 'the same name keeps the ranks\' hostnames and MASTER_ADDR');
    const events = await cluster.ok('admin', ['describe', 'aijob', 'retry', '-n', ns]);
    assert.match(events, /Warning\s+GangRestarted\s/, 'an Event in kubectl describe');

    const rank0 = second.ranks.find((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '0')!;
    await setPod(rank0, { exitCode: 1 });
    const failed = await eventually(() => aiJob('retry'), (j) => j.status?.phase === 'Failed', 'job retry Failed', 120_000);
    assert.equal(failed.status.restarts, 1);
    const reason = condition(failed, 'Failed')!;
    assert.equal(reason.reason, 'MaxRestartsReached');
    assert.equal(reason.message, `rank 0 (pod ${rank0.metadata.name}) exited with code 1; no gang restart left (maxRestarts 1)`);
    const batch = await getJson(['get', 'job.batch', 'retry', '-n', ns]);
    assert.equal(batch.metadata.uid, second.batch.metadata.uid, 'no third generation');
    assert.equal(condition(batch, 'Failed')?.reason, 'BackoffLimitExceeded');
  });

  it('a rank evicted with DisruptionTarget is replaced by the batch Job without counting: no gang restart', async () => {
    await cluster.ok('admin', ['create', '-f', '-'], gangJob('evicted', { failurePolicy: { maxRestarts: 3 } }, { frozen: true }));
    const { batch, ranks } = await generation('evicted');
    const victim = ranks.find((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1')!;
    await setPod(victim, { exitCode: 137, disruption: 'EvictionByEvictionAPI' });
    const disrupted = await eventually(() => getJson(['get', 'aijob', 'evicted', '-n', ns]), (j) => condition(j, 'Disrupted')?.status === 'True', 'job evicted Disrupted', 90_000);
    assert.deepEqual([condition(disrupted, 'Disrupted')!.reason, condition(disrupted, 'Disrupted')!.message], [
      'EvictionByEvictionAPI',
      `rank 1 (pod ${victim.metadata.name}) was disrupted: EvictionByEvictionAPI: Eviction API: evicting; the batch Job starts it again, without counting against failurePolicy.maxRestarts`,
    ]);
    // kube's podFailurePolicy Ignore: the failure does not count towards backoffLimit (0 here, so one counted failure
    // would fail the batch Job) and the Job controller creates a replacement pod for the same index.
    const replaced = await eventually(
      () => ranksOf('evicted', batch.metadata.uid),
      (r) => r.some((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'] === '1' && p.metadata.uid !== victim.metadata.uid),
      'a replacement pod for rank 1',
      120_000,
    );
    for (const p of replaced.filter((p) => p.metadata.uid !== victim.metadata.uid && p.status?.phase !== 'Running')) await setPod(p, { running: true });
    const live = await getJson(['get', 'job.batch', 'evicted', '-n', ns]);
    assert.equal(live.metadata.uid, batch.metadata.uid, 'the same batch Job: no new generation');
    assert.equal(condition(live, 'Failed'), undefined);
    const job = await eventually(() => getJson(['get', 'aijob', 'evicted', '-n', ns]), (j) => j.status?.phase === 'Running' && j.status?.active === 2, 'job evicted Running with 2 ranks', 90_000);
    assert.equal(job.status.restarts, 0);
    assert.equal(condition(job, 'GangRestarted'), undefined);
    const recovered = await eventually(() => getJson(['get', 'aijob', 'evicted', '-n', ns]), (j) => condition(j, 'Disrupted')?.status === 'False', 'job evicted Recovered', 90_000);
    assert.equal(condition(recovered, 'Disrupted')!.reason, 'Recovered');
    const described = await cluster.ok('admin', ['describe', 'aijob', 'evicted', '-n', ns]);
    assert.match(described, /Reason:\s+Recovered/);
    assert.match(described, /Warning\s+EvictionByEvictionAPI\s+.*rank 1 \(pod /);
  });

  it('an exit code marked permanent fails the job at once with the batch Job\'s reason, without a restart', async () => {
    await cluster.ok('admin', ['create', '-f', '-'], gangJob('permanent', { failurePolicy: { maxRestarts: 3, permanentExitCodes: [42, 3] } }, { frozen: true }));
    const { batch, ranks } = await generation('permanent');
    assert.deepEqual(batch.spec.podFailurePolicy.rules[1].onExitCodes.values, [3, 42], 'kube wants the values ordered');
    await setPod(ranks[0]!, { exitCode: 42 });
    const failed = await eventually(() => aiJob('permanent'), (j) => j.status?.phase === 'Failed', 'job permanent Failed', 120_000);
    const kube = condition(await getJson(['get', 'job.batch', 'permanent', '-n', ns]), 'Failed')!;
    assert.equal(kube.reason, 'PodFailurePolicy');
    assert.deepEqual([condition(failed, 'Failed')?.reason, condition(failed, 'Failed')?.message], [kube.reason, kube.message]);
    assert.equal(failed.status.restarts, 0);
  });

  it('refuses what kube refuses: maxRestarts below 0, exit codes outside 1..255', async () => {
    for (const failurePolicy of [{ maxRestarts: -1 }, { permanentExitCodes: [0] }, { permanentExitCodes: [256] }]) {
      const body = (group: string): string => gangJob('invalid', { failurePolicy }).replace('ai.example.io/v1alpha1', `${group}/v1alpha1`);
      const ours = await cluster.kubectl('admin', ['create', '-f', '-'], body('ai.example.io'));
      const crd = await cluster.kubectl('admin', ['create', '-f', '-'], body(golden));
      assert.notEqual(ours.code, 0, JSON.stringify(failurePolicy));
      // The field and the value refused are kube's; the wording of the rule after them is the server's, as for every
      // bound in the schema (kube's built-in types say "must be greater than or equal to 0", a CRD "… in body should …").
      const refused = (stderr: string): string => stderr.split(': ').slice(0, 3).join(': ');
      assert.equal(refused(ours.stderr), refused(crd.stderr.replaceAll(golden, 'ai.example.io')), JSON.stringify(failurePolicy));
    }
  });
});

describe('run policy', () => {
  it('activeDeadlineSeconds fails the job with DeadlineExceeded, as the batch Job says', async () => {
    await cluster.ok('admin', ['create', '-f', '-'], gangJob('deadline', { runPolicy: { activeDeadlineSeconds: 3 } }, { frozen: true }));
    const failed = await eventually(() => aiJob('deadline'), (j) => j.status?.phase === 'Failed', 'job deadline Failed', 120_000);
    const kube = condition(await getJson(['get', 'job.batch', 'deadline', '-n', ns]), 'Failed')!;
    assert.equal(kube.reason, 'DeadlineExceeded');
    assert.deepEqual([condition(failed, 'Failed')?.reason, condition(failed, 'Failed')?.message], [kube.reason, kube.message]);
  });

  it('ttlSecondsAfterFinished: a finished job, its batch Job and its pods disappear', async () => {
    await cluster.ok('admin', ['create', '-f', '-'], gangJob('ttl', { runPolicy: { ttlSecondsAfterFinished: 3 } }));
    const done = await eventually(() => getJson(['get', 'aijob', 'ttl', '-n', ns]), (j) => j.status?.phase === 'Succeeded', 'job ttl Succeeded', 120_000);
    assert.equal(done.status.succeeded, 2);
    const batch = await getJson(['get', 'job.batch', 'ttl', '-n', ns]).catch(() => undefined);
    if (batch) assert.equal(batch.spec.ttlSecondsAfterFinished, 3);
    const gone = async (args: string[]): Promise<boolean> => (await cluster.kubectl('admin', [...args, '-n', ns, '-o', 'name'])).stdout.trim() === '';
    await eventually(
      async () => [await gone(['get', 'aijob', 'ttl', '--ignore-not-found']), await gone(['get', 'job.batch', 'ttl', '--ignore-not-found']), await gone(['get', 'pods', '-l', 'ai.example.io/job=ttl'])],
      (all) => all.every(Boolean),
      'job ttl, its batch Job and its pods gone',
      120_000,
    );
  });
});
