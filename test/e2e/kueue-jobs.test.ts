// Jobs queued by Kueue through their batch Job: two tenants' jobs compete for one ClusterQueue of 8 GPUs on kwok,
// an elastic job is partially admitted with what is left, and suspending a job deactivates its Workload. What the
// job's status says is compared with what Kueue itself wrote on the Workload.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { testBed } from '../support/test-bed.js';

const tenants = { a: 'kq-jobs-a', b: 'kq-jobs-b' };
const queueLabel = 'kueue.x-k8s.io/queue-name';
const priorityLabel = 'kueue.x-k8s.io/priority-class';

const queues = `apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: kwok-gpu}
spec:
  nodeLabels: {type: kwok}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: training}
spec:
  namespaceSelector: {}
  resourceGroups:
    - coveredResources: [cpu, memory, nvidia.com/gpu]
      flavors:
        - name: kwok-gpu
          resources:
            - {name: cpu, nominalQuota: 16}
            - {name: memory, nominalQuota: 64Gi}
            - {name: nvidia.com/gpu, nominalQuota: 8}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: team, namespace: ${tenants.a}}
spec: {clusterQueue: training}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: team, namespace: ${tenants.b}}
spec: {clusterQueue: training}
`;

// A second ClusterQueue of 4 GPUs where a higher WorkloadPriorityClass preempts a lower one.
const urgent = `apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: low}
value: 100
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: urgent}
spec:
  namespaceSelector: {}
  preemption: {withinClusterQueue: LowerPriority}
  resourceGroups:
    - coveredResources: [cpu, memory, nvidia.com/gpu]
      flavors:
        - name: kwok-gpu
          resources:
            - {name: cpu, nominalQuota: 8}
            - {name: memory, nominalQuota: 32Gi}
            - {name: nvidia.com/gpu, nominalQuota: 4}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: urgent, namespace: ${tenants.a}}
spec: {clusterQueue: urgent}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: urgent, namespace: ${tenants.b}}
spec: {clusterQueue: urgent}
`;

const bed = testBed({
  name: 'kueue-jobs',
  namespaces: Object.values(tenants),
  async setup(cluster) {
    await cluster.startKueue();
    await cluster.ok('admin', ['apply', '-f', '-'], queues + '---\n' + urgent);
    for (const queue of ['training', 'urgent']) {
      await eventually(() => getJson(cluster, ['get', 'clusterqueue', queue]), (cq) => condition(cq, 'Active')?.status === 'True', `ClusterQueue ${queue} Active`);
    }
  },
});
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  try {
    if (cluster) await removeJobs();
  } finally {
    await bed.stop();
  }
});

/**
 * Every job of the tenants, and their pods. Frozen pods hold kwok nodes' GPUs, which kube-scheduler counts until
 * they are gone, for the tests and suites after; kwok leaves their deletion to the test too.
 */
async function removeJobs(): Promise<void> {
  for (const namespace of Object.values(tenants)) {
    await cluster.ok('admin', ['delete', 'jobs.ai.example.io', '--all', '-n', namespace, '--wait=false']);
    await eventually(
      async () => {
        await cluster.ok('admin', ['delete', 'pods', '--all', '-n', namespace, '--force', '--grace-period=0', '--wait=false']);
        return podsIn(namespace);
      },
      (pods) => pods.length === 0,
      `no pods left in ${namespace}`,
      90_000,
    );
  }
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function getJson<T = Record<string, any>>(on: LocalCluster, args: string[]): Promise<T> {
  return JSON.parse(await on.ok('admin', [...args, '-o', 'json'])) as T;
}

const get = (args: string[]): Promise<Record<string, any>> => getJson(cluster, args);

function condition(object: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

// kwok leaves pods with this annotation alone: the test plays their kubelet, so a job holds its quota until told.
const frozen = { 'kwok.x-k8s.io/status': 'custom' };

interface QueuedJobOptions {
  replicas?: number;
  elastic?: [number, number];
  gpus: number;
  frozen?: boolean;
  /** The LocalQueue; `team` unless said. */
  queue?: string;
  /** A WorkloadPriorityClass. */
  priority?: string;
  failurePolicy?: { maxRestarts: number };
}

/** One of our Jobs in a LocalQueue: `replicas` workers (or elastic bounds) of `gpus` GPUs each. */
function queuedJob(name: string, namespace: string, options: QueuedJobOptions): string {
  const resources = { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': String(options.gpus) };
  const labels = { [queueLabel]: options.queue ?? 'team', ...(options.priority ? { [priorityLabel]: options.priority } : {}) };
  return JSON.stringify({
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Job',
    metadata: { name, namespace, labels },
    spec: {
      ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
      ...(options.elastic ? { elastic: { minReplicas: options.elastic[0], maxReplicas: options.elastic[1] } } : {}),
      ...(options.failurePolicy ? { failurePolicy: options.failurePolicy } : {}),
      template: {
        metadata: { annotations: options.frozen ? frozen : {} },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0', resources: { requests: resources, limits: { 'nvidia.com/gpu': String(options.gpus) } } }],
        },
      },
    },
  });
}

/** The Workload Kueue made for the batch Job of our Job `name`. */
async function workloadOf(namespace: string, name: string): Promise<Record<string, any>> {
  const uid = (await get(['get', 'job.batch', name, '-n', namespace])).metadata.uid as string;
  const list = await getJson<{ items: Record<string, any>[] }>(cluster, ['get', 'workloads.kueue.x-k8s.io', '-n', namespace, '-l', `kueue.x-k8s.io/job-uid=${uid}`]);
  if (list.items.length !== 1) throw new Error(`${list.items.length} Workloads for job ${namespace}/${name}`);
  return list.items[0]!;
}

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
}

async function podsIn(namespace: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(cluster, ['get', 'pods', '-n', namespace])).items;
}

/**
 * The pods of batch Job `job`. Pods kwok was told to leave alone stay Terminating once deleted (kube's Job controller
 * deletes them when Kueue suspends their job): they are removed here, as the kubelet would, and not returned.
 */
async function podsOf(namespace: string, job: string): Promise<Pod[]> {
  const pods = (await getJson<{ items: Pod[] }>(cluster, ['get', 'pods', '-n', namespace, '-l', `batch.kubernetes.io/job-name=${job}`])).items;
  for (const pod of pods.filter((p) => p.metadata.deletionTimestamp)) {
    await cluster.kubectl('admin', ['delete', 'pod', pod.metadata.name, '-n', namespace, '--force', '--grace-period=0', '--wait=false']);
  }
  return pods.filter((p) => !p.metadata.deletionTimestamp);
}

/** What kwok would write for a pod it runs, then for one that exited 0 (or 1, Failed), on a pod it leaves alone. */
async function setPodPhase(namespace: string, pod: Pod, phase: 'Running' | 'Succeeded' | 'Failed'): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const exitCode = phase === 'Failed' ? 1 : 0;
  const containerStatuses = pod.spec.containers.map(({ name, image }) => ({
    name,
    image,
    imageID: '',
    ready: phase === 'Running',
    restartCount: 0,
    state: phase === 'Running' ? { running: { startedAt: now } } : { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: now, finishedAt: now } },
  }));
  const conditions = [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: now }];
  await cluster.ok('admin', ['patch', 'pod', pod.metadata.name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase, conditions, containerStatuses } })]);
}

/** Our Job's Queued condition once it carries the reason and message of its Workload's QuotaReserved. */
async function queuedAsKueueSays(namespace: string, name: string): Promise<{ job: Record<string, any>; reserved: Condition }> {
  const [job, workload] = await eventually(
    async () => [await get(['get', 'aijob', name, '-n', namespace]), await workloadOf(namespace, name)] as const,
    ([j, wl]) => {
      const reserved = condition(wl, 'QuotaReserved');
      const queued = condition(j, 'Queued');
      return reserved?.status === 'False' && queued?.status === 'True' && queued.reason === reserved.reason && queued.message === reserved.message;
    },
    `job ${namespace}/${name} Queued with its Workload's QuotaReserved reason`,
    90_000,
  );
  return { job, reserved: condition(workload, 'QuotaReserved')! };
}

describe('jobs queued by Kueue', () => {
  it('two tenants compete for 8 GPUs: the first is admitted and runs, the second is Queued with Kueue\'s reason until the first finishes', async () => {
    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('first', tenants.a, { replicas: 2, gpus: 4, frozen: true }));
    const batch = await eventually(() => get(['get', 'job.batch', 'first', '-n', tenants.a]), () => true, 'batch Job first created');
    assert.equal(batch.metadata.labels[queueLabel], 'team');
    assert.equal(batch.metadata.annotations?.['kueue.x-k8s.io/job-min-parallelism'], undefined, 'a fixed-size job is admitted whole or not at all');

    const admitted = await eventually(() => get(['get', 'aijob', 'first', '-n', tenants.a]), (j) => condition(j, 'Admitted')?.status === 'True', 'job first Admitted', 90_000);
    assert.equal(condition(admitted, 'Admitted')!.message, 'ClusterQueue training admitted 2 of 2 worker(s)');
    assert.equal(condition(admitted, 'Queued')?.status, 'False');
    assert.equal(admitted.status.replicas, 2);
    const workload = await workloadOf(tenants.a, 'first');
    assert.equal(workload.status.admission.clusterQueue, 'training');
    const pods = await eventually(() => podsOf(tenants.a, 'first'), (p) => p.length === 2 && p.every((x) => x.spec.nodeName?.startsWith('kwok-node-')), "first's pods scheduled on kwok nodes", 90_000);
    for (const pod of pods) await setPodPhase(tenants.a, pod, 'Running');
    const running = await eventually(() => get(['get', 'aijob', 'first', '-n', tenants.a]), (j) => j.status?.phase === 'Running', 'job first Running', 90_000);
    assert.equal(condition(running, 'Running')!.message, '2 of 2 worker(s) running');
    // What Kueue set on admission is still there after the controller's reconciles of the running job.
    const live = await get(['get', 'job.batch', 'first', '-n', tenants.a]);
    assert.equal(live.spec.suspend, false);
    assert.deepEqual(live.spec.template.spec.nodeSelector, { type: 'kwok' });

    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('second', tenants.b, { replicas: 1, gpus: 4 }));
    const { job: waiting, reserved } = await queuedAsKueueSays(tenants.b, 'second');
    assert.equal(reserved.reason, 'Pending');
    assert.match(reserved.message, /insufficient unused quota for nvidia\.com\/gpu in flavor kwok-gpu, 4 more needed/);
    assert.equal(waiting.status.phase, 'Pending');
    assert.equal(condition(waiting, 'Pending')?.reason, 'Queued');
    assert.equal(condition(waiting, 'Admitted'), undefined);
    assert.equal((await get(['get', 'job.batch', 'second', '-n', tenants.b])).spec.suspend, true);

    for (const pod of pods) await setPodPhase(tenants.a, pod, 'Succeeded');
    await eventually(() => get(['get', 'aijob', 'first', '-n', tenants.a]), (j) => j.status?.phase === 'Succeeded', 'job first Succeeded', 90_000);
    const next = await eventually(() => get(['get', 'aijob', 'second', '-n', tenants.b]), (j) => condition(j, 'Admitted')?.status === 'True', 'job second Admitted', 90_000);
    assert.equal(condition(next, 'Queued')?.reason, 'Admitted');
    await eventually(() => get(['get', 'aijob', 'second', '-n', tenants.b]), (j) => j.status?.phase === 'Succeeded', 'job second Succeeded on kwok', 90_000);
  });

  it('an elastic job (2..8) starts with the 2 GPUs left; suspending a job deactivates its Workload and frees its quota; resuming queues it again', async () => {
    // Six GPUs held by a job whose pods never finish.
    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('holder', tenants.a, { replicas: 3, gpus: 2, frozen: true }));
    await eventually(() => get(['get', 'aijob', 'holder', '-n', tenants.a]), (j) => condition(j, 'Admitted')?.status === 'True', 'job holder Admitted', 90_000);

    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('elastic', tenants.b, { elastic: [2, 8], gpus: 1, frozen: true }));
    const created = await eventually(() => get(['get', 'job.batch', 'elastic', '-n', tenants.b]), () => true, 'batch Job elastic created');
    assert.equal(created.metadata.annotations['kueue.x-k8s.io/job-min-parallelism'], '2');
    assert.equal(created.metadata.annotations['kueue.x-k8s.io/job-completions-equal-parallelism'], 'true');
    const elastic = await eventually(() => get(['get', 'aijob', 'elastic', '-n', tenants.b]), (j) => condition(j, 'Admitted')?.status === 'True', 'job elastic Admitted', 90_000);
    const workload = await workloadOf(tenants.b, 'elastic');
    assert.deepEqual([workload.spec.podSets[0].count, workload.spec.podSets[0].minCount], [8, 2]);
    assert.equal(workload.status.admission.podSetAssignments[0].count, 2);
    assert.equal(condition(elastic, 'Admitted')!.message, 'ClusterQueue training admitted 2 of 8 worker(s)');
    assert.equal(elastic.status.replicas, 2);
    const batch = await eventually(() => get(['get', 'job.batch', 'elastic', '-n', tenants.b]), (b) => b.spec.suspend === false, 'batch Job elastic unsuspended', 90_000);
    assert.deepEqual([batch.spec.parallelism, batch.spec.completions], [2, 2]);
    // torchrun's elastic range: the rendezvous admits the 2 workers that run, up to 8.
    const env = Object.fromEntries((batch.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.equal(env.PET_NNODES, '2:8');
    await eventually(() => podsOf(tenants.b, 'elastic'), (p) => p.length === 2, 'two pods of elastic', 90_000);

    // Nothing is left: a job of 4 GPUs waits.
    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('waiter', tenants.b, { replicas: 1, gpus: 4, frozen: true }));
    await queuedAsKueueSays(tenants.b, 'waiter');

    // Suspending the holder deactivates its Workload: Kueue suspends its batch Job and frees the 6 GPUs.
    await cluster.ok('admin', ['patch', 'aijob', 'holder', '-n', tenants.a, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    const deactivated = await eventually(() => workloadOf(tenants.a, 'holder'), (wl) => condition(wl, 'Evicted')?.status === 'True', 'Workload of holder evicted', 90_000);
    assert.equal(deactivated.spec.active, false);
    assert.equal(condition(deactivated, 'Evicted')!.reason, 'Deactivated');
    const suspended = await eventually(
      () => get(['get', 'aijob', 'holder', '-n', tenants.a]),
      (j) => j.status?.phase === 'Suspended' && condition(j, 'Admitted')?.status === 'False',
      'job holder Suspended and no longer Admitted',
      90_000,
    );
    assert.equal(condition(suspended, 'Admitted')!.reason, 'Deactivated');
    assert.equal(condition(suspended, 'Admitted')!.message, condition(deactivated, 'Evicted')!.message);
    assert.equal(condition(suspended, 'Queued')?.reason, 'Deactivated');
    await eventually(() => get(['get', 'job.batch', 'holder', '-n', tenants.a]), (b) => b.spec.suspend === true, 'batch Job holder suspended by Kueue', 90_000);
    await eventually(() => get(['get', 'aijob', 'waiter', '-n', tenants.b]), (j) => condition(j, 'Admitted')?.status === 'True', 'job waiter admitted into the freed quota', 90_000);

    // Resumed, the holder is back in the queue, and waits for its 6 GPUs.
    await cluster.ok('admin', ['patch', 'aijob', 'holder', '-n', tenants.a, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await eventually(() => workloadOf(tenants.a, 'holder'), (wl) => wl.spec.active !== false, 'Workload of holder active again', 90_000);
    const { reserved } = await queuedAsKueueSays(tenants.a, 'holder');
    assert.match(reserved.message, /insufficient unused quota for nvidia\.com\/gpu in flavor kwok-gpu, 4 more needed/);
  });

  it('a job preempted by a higher WorkloadPriorityClass is Disrupted with Kueue\'s reason, waits in its queue without spending a gang restart, and runs again', async () => {
    // The jobs of the tests before hold GPUs on the kwok nodes through their frozen pods.
    await removeJobs();
    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('low', tenants.a, { replicas: 2, gpus: 2, frozen: true, queue: 'urgent', priority: 'low', failurePolicy: { maxRestarts: 1 } }));
    const batch = await eventually(() => get(['get', 'job.batch', 'low', '-n', tenants.a]), () => true, 'batch Job low created');
    assert.equal(batch.metadata.labels[priorityLabel], 'low');
    assert.equal((await workloadOf(tenants.a, 'low')).spec.priority, 100, 'Kueue read the priority class from the batch Job');
    const first = await eventually(() => podsOf(tenants.a, 'low'), (p) => p.length === 2 && p.every((x) => x.spec.nodeName), "low's pods scheduled", 90_000);
    for (const pod of first) await setPodPhase(tenants.a, pod, 'Running');
    await eventually(() => get(['get', 'aijob', 'low', '-n', tenants.a]), (j) => j.status?.phase === 'Running', 'job low Running', 90_000);

    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('high', tenants.b, { replicas: 1, gpus: 4, frozen: true, queue: 'urgent', priority: 'high' }));
    const evicted = condition(await eventually(() => workloadOf(tenants.a, 'low'), (wl) => condition(wl, 'Evicted')?.status === 'True', 'Workload of low evicted', 90_000), 'Evicted')!;
    assert.equal(evicted.reason, 'Preempted');
    // Kueue keeps the Workload Admitted (holding its quota) until the suspended batch Job's pods are gone.
    const preempted = await eventually(
      async () => {
        await podsOf(tenants.a, 'low');
        return get(['get', 'aijob', 'low', '-n', tenants.a]);
      },
      (j) => condition(j, 'Disrupted')?.status === 'True' && condition(j, 'Admitted')?.status === 'False',
      'job low Disrupted and no longer Admitted',
      90_000,
    );
    assert.deepEqual([condition(preempted, 'Disrupted')!.reason, condition(preempted, 'Disrupted')!.message], ['Preempted', `Kueue evicted the job: ${evicted.message}; it runs again once its queue admits it`]);
    assert.deepEqual([condition(preempted, 'Admitted')?.status, condition(preempted, 'Admitted')?.reason], ['False', 'Preempted']);
    const waiting = await eventually(() => get(['get', 'aijob', 'low', '-n', tenants.a]), (j) => j.status?.phase === 'Pending' && condition(j, 'Queued')?.status === 'True', 'job low Queued again', 90_000);
    assert.equal(waiting.status.restarts, 0, 'a preemption is not a gang restart');
    assert.match(await cluster.ok('admin', ['describe', 'aijob', 'low', '-n', tenants.a]), /Warning\s+Preempted\s+.*Kueue evicted the job: Preempted to accommodate a workload/);

    const urgentPods = await eventually(() => podsOf(tenants.b, 'high'), (p) => p.length === 1 && p.every((x) => x.spec.nodeName), "high's pod scheduled", 90_000);
    await eventually(() => podsOf(tenants.a, 'low'), (p) => p.length === 0, "low's pods gone while it is evicted", 90_000);
    for (const pod of urgentPods) await setPodPhase(tenants.b, pod, 'Succeeded');
    await eventually(() => get(['get', 'aijob', 'high', '-n', tenants.b]), (j) => j.status?.phase === 'Succeeded', 'job high Succeeded', 90_000);

    const again = await eventually(() => podsOf(tenants.a, 'low'), (p) => p.length === 2 && p.every((x) => x.spec.nodeName), "low's pods again, once readmitted", 120_000);
    assert.ok(again.every((p) => !first.some((f) => f.metadata.name === p.metadata.name)), 'new pods');
    const restarting = await get(['get', 'aijob', 'low', '-n', tenants.a]);
    assert.equal(condition(restarting, 'Disrupted')?.status, 'True', 'still Disrupted until every worker runs');
    for (const pod of again) await setPodPhase(tenants.a, pod, 'Running');
    const recovered = await eventually(() => get(['get', 'aijob', 'low', '-n', tenants.a]), (j) => j.status?.phase === 'Running' && condition(j, 'Disrupted')?.status === 'False', 'job low Running and Recovered', 90_000);
    assert.equal(condition(recovered, 'Disrupted')!.reason, 'Recovered');
    assert.equal(condition(recovered, 'Admitted')?.status, 'True');
    assert.equal(recovered.status.restarts, 0);
    assert.equal(condition(recovered, 'GangRestarted'), undefined);
    assert.equal((await get(['get', 'job.batch', 'low', '-n', tenants.a])).metadata.uid, batch.metadata.uid, 'the same batch Job, suspended and resumed by Kueue');
  });

  it('a gang restart of a queued job queues its new batch Job as a new Workload, which Kueue admits and runs', async () => {
    await removeJobs();
    await cluster.ok('admin', ['create', '-f', '-'], queuedJob('gang', tenants.a, { replicas: 2, gpus: 1, frozen: true, failurePolicy: { maxRestarts: 1 } }));
    const firstBatch = await eventually(() => get(['get', 'job.batch', 'gang', '-n', tenants.a]), () => true, 'batch Job gang created');
    const firstWorkload = await eventually(() => workloadOf(tenants.a, 'gang'), (wl) => condition(wl, 'Admitted')?.status === 'True', 'first Workload of gang admitted', 90_000);
    const ranks = await eventually(() => podsOf(tenants.a, 'gang'), (p) => p.length === 2 && p.every((x) => x.spec.nodeName), "gang's ranks scheduled", 90_000);
    for (const pod of ranks) await setPodPhase(tenants.a, pod, 'Running');
    await eventually(() => get(['get', 'aijob', 'gang', '-n', tenants.a]), (j) => j.status?.phase === 'Running', 'job gang Running', 90_000);

    await setPodPhase(tenants.a, ranks[0]!, 'Failed');
    const secondBatch = await eventually(
      async () => {
        await podsOf(tenants.a, 'gang');
        return get(['get', 'job.batch', 'gang', '-n', tenants.a]).catch(() => undefined);
      },
      (b) => b !== undefined && b.metadata.uid !== firstBatch.metadata.uid,
      'a new batch Job gang',
      120_000,
    );
    assert.equal(secondBatch!.metadata.labels[queueLabel], 'team');
    assert.equal(secondBatch!.metadata.annotations['ai.example.io/gang-generation'], '1');
    const secondWorkload = await eventually(() => workloadOf(tenants.a, 'gang'), (wl) => condition(wl, 'Admitted')?.status === 'True', 'second Workload of gang admitted', 90_000);
    assert.notEqual(secondWorkload.metadata.uid, firstWorkload.metadata.uid);
    const again = await eventually(() => podsOf(tenants.a, 'gang'), (p) => p.length === 2 && p.every((x) => x.spec.nodeName), "gang's new ranks scheduled", 90_000);
    for (const pod of again) await setPodPhase(tenants.a, pod, 'Running');
    const running = await eventually(() => get(['get', 'aijob', 'gang', '-n', tenants.a]), (j) => j.status?.phase === 'Running' && condition(j, 'Admitted')?.status === 'True', 'job gang Running again', 90_000);
    assert.equal(running.status.restarts, 1);
    assert.equal(condition(running, 'GangRestarted')?.reason, 'RankFailed');
  });
});
