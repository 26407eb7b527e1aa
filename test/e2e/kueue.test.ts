// Kueue, built from its Go module, queueing plain batch Jobs on the test control plane with kwok's GPU nodes: the
// test bed the Job controller's queueing builds on. Two tenants' LocalQueues share one ClusterQueue of 8 GPUs.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { testBed } from '../support/test-bed.js';

const tenants = { a: 'kueue-tenant-a', b: 'kueue-tenant-b' };
const queueLabel = 'kueue.x-k8s.io/queue-name';

const queues = `apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: kwok-gpu}
spec:
  nodeLabels: {type: kwok}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: gpus}
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
spec: {clusterQueue: gpus}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: team, namespace: ${tenants.b}}
spec: {clusterQueue: gpus}
`;

const bed = testBed({
  name: 'kueue',
  serverArgs: ['--no-controllers'],
  namespaces: Object.values(tenants),
  async setup(cluster) {
    await cluster.startKueue();
    await cluster.ok('admin', ['apply', '-f', '-'], queues);
    await eventually(
      () => getJson(cluster, ['get', 'clusterqueue', 'gpus']),
      (cq) => condition(cq, 'Active')?.status === 'True',
      'ClusterQueue gpus Active',
    );
  },
});
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function getJson<T = Record<string, any>>(on: LocalCluster, args: string[]): Promise<T> {
  return JSON.parse(await on.ok('admin', [...args, '-o', 'json'])) as T;
}

function condition(object: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

// kwok leaves pods with this annotation alone: the test plays their kubelet, so a job holds its quota until told.
const frozen = { 'kwok.x-k8s.io/status': 'custom' };

/** A batch Job of `pods` pods of `gpus` GPUs each, in a queue when given one; never suspended by its author. */
function batchJob(name: string, namespace: string, options: { queue?: string; pods: number; gpus: number; podAnnotations?: Record<string, string> }): string {
  const resources = { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': String(options.gpus) };
  return JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace, labels: options.queue ? { [queueLabel]: options.queue } : {} },
    spec: {
      parallelism: options.pods,
      completions: options.pods,
      template: {
        metadata: { annotations: options.podAnnotations ?? {} },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0', resources: { requests: resources, limits: { 'nvidia.com/gpu': String(options.gpus) } } }],
        },
      },
    },
  });
}

/** The Workload Kueue made for the batch Job `name` (Kueue labels it with the Job's UID). */
async function workloadOf(namespace: string, name: string): Promise<Record<string, any>> {
  const uid = (await getJson(cluster, ['get', 'job.batch', name, '-n', namespace])).metadata.uid as string;
  const list = await getJson<{ items: Record<string, any>[] }>(cluster, ['get', 'workloads.kueue.x-k8s.io', '-n', namespace, '-l', `kueue.x-k8s.io/job-uid=${uid}`]);
  if (list.items.length !== 1) throw new Error(`${list.items.length} Workloads for job ${namespace}/${name}`);
  return list.items[0]!;
}

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status: { phase: string };
}

async function podsOf(namespace: string, job: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(cluster, ['get', 'pods', '-n', namespace, '-l', `batch.kubernetes.io/job-name=${job}`])).items;
}

/** What kwok would write for a pod it runs, then for one that exited 0, on a pod it leaves alone. */
async function setPodPhase(namespace: string, pod: Pod, phase: 'Running' | 'Succeeded'): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const containerStatuses = pod.spec.containers.map(({ name, image }) => ({
    name,
    image,
    imageID: '',
    ready: phase === 'Running',
    restartCount: 0,
    state: phase === 'Running' ? { running: { startedAt: now } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
  }));
  const conditions = [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: now }];
  await cluster.ok('admin', ['patch', 'pod', pod.metadata.name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase, conditions, containerStatuses } })]);
}

describe('Kueue', () => {
  it('suspends a queued Job on creation, admits it within quota, and a job that does not fit waits until the first finishes', async () => {
    // Two pods of 4 GPUs: the ClusterQueue's 8 GPUs, held while the test keeps the pods Running.
    const created = JSON.parse(await cluster.ok('admin', ['create', '-o', 'json', '-f', '-'], batchJob('first', tenants.a, { queue: 'team', pods: 2, gpus: 4, podAnnotations: frozen })));
    assert.equal(created.spec.suspend, true, "Kueue's webhook suspends a Job with a queue name as it is created");

    const first = await eventually(() => workloadOf(tenants.a, 'first'), (wl) => condition(wl, 'Admitted')?.status === 'True', 'Workload of first Admitted', 90_000);
    assert.equal(condition(first, 'QuotaReserved')?.status, 'True');
    assert.equal(first.status.admission.clusterQueue, 'gpus');
    assert.deepEqual(
      first.status.admission.podSetAssignments.map((a: Record<string, any>) => [a.name, a.count, a.flavors['nvidia.com/gpu'], a.resourceUsage['nvidia.com/gpu']]),
      [['main', 2, 'kwok-gpu', '8']],
    );
    assert.equal(first.spec.queueName, 'team');
    await eventually(() => getJson(cluster, ['get', 'job.batch', 'first', '-n', tenants.a]), (job) => job.spec.suspend === false, 'Kueue unsuspends first', 90_000);
    const running = await eventually(
      () => podsOf(tenants.a, 'first'),
      (pods) => pods.length === 2 && pods.every((p) => p.spec.nodeName?.startsWith('kwok-node-')),
      "first's pods scheduled on kwok nodes",
      90_000,
    );
    // The flavor's node labels reach the pods as a node selector.
    const firstJob = await getJson(cluster, ['get', 'job.batch', 'first', '-n', tenants.a]);
    assert.deepEqual(firstJob.spec.template.spec.nodeSelector, { type: 'kwok' });
    for (const pod of running) await setPodPhase(tenants.a, pod, 'Running');

    // Another tenant's job of 4 GPUs does not fit in what is left (none).
    const second = JSON.parse(await cluster.ok('admin', ['create', '-o', 'json', '-f', '-'], batchJob('second', tenants.b, { queue: 'team', pods: 1, gpus: 4 })));
    assert.equal(second.spec.suspend, true);
    const waiting = await eventually(
      () => workloadOf(tenants.b, 'second'),
      (wl) => condition(wl, 'QuotaReserved')?.status === 'False',
      'Workload of second without quota',
      90_000,
    );
    assert.equal(condition(waiting, 'QuotaReserved')?.reason, 'Pending');
    assert.match(condition(waiting, 'QuotaReserved')!.message, /insufficient unused quota for nvidia\.com\/gpu in flavor kwok-gpu, 4 more needed/);
    assert.equal(condition(waiting, 'Admitted'), undefined);
    assert.equal(waiting.status.admission, undefined);
    const localQueue = await eventually(() => getJson(cluster, ['get', 'localqueue', 'team', '-n', tenants.b]), (lq) => lq.status?.pendingWorkloads === 1, 'LocalQueue of tenant b with one pending Workload');
    assert.equal(localQueue.status.admittedWorkloads, 0);
    assert.equal((await getJson(cluster, ['get', 'job.batch', 'second', '-n', tenants.b])).spec.suspend, true);
    assert.deepEqual(await podsOf(tenants.b, 'second'), []);

    // The first job's pods exit 0: its Job completes, Kueue marks its Workload Finished and releases the quota.
    for (const pod of running) await setPodPhase(tenants.a, pod, 'Succeeded');
    const finished = await eventually(() => workloadOf(tenants.a, 'first'), (wl) => condition(wl, 'Finished')?.status === 'True', 'Workload of first Finished', 90_000);
    assert.equal(condition(finished, 'Finished')?.reason, 'Succeeded');

    const admitted = await eventually(() => workloadOf(tenants.b, 'second'), (wl) => condition(wl, 'Admitted')?.status === 'True', 'Workload of second Admitted', 90_000);
    assert.equal(admitted.status.admission.podSetAssignments[0].count, 1);
    // Unsuspended, its pod runs and completes on kwok.
    const done = await eventually(
      () => getJson(cluster, ['get', 'job.batch', 'second', '-n', tenants.b]),
      (job) => condition(job, 'Complete')?.status === 'True',
      'second Complete on kwok',
      90_000,
    );
    assert.equal(done.spec.suspend, false);
    assert.equal(done.status.succeeded, 1);
  });

  it('leaves a batch Job without a queue name alone: not suspended, no Workload, runs at once', async () => {
    const created = JSON.parse(await cluster.ok('admin', ['create', '-o', 'json', '-f', '-'], batchJob('unqueued', tenants.a, { pods: 1, gpus: 1 })));
    assert.equal(created.spec.suspend, false);
    assert.equal(created.metadata.annotations, undefined);
    const done = await eventually(
      () => getJson(cluster, ['get', 'job.batch', 'unqueued', '-n', tenants.a]),
      (job) => condition(job, 'Complete')?.status === 'True',
      'unqueued Complete on kwok',
      90_000,
    );
    assert.equal(done.spec.suspend, false);
    const workloads = await getJson<{ items: unknown[] }>(cluster, ['get', 'workloads.kueue.x-k8s.io', '-n', tenants.a, '-l', `kueue.x-k8s.io/job-uid=${created.metadata.uid as string}`]);
    assert.deepEqual(workloads.items, []);
  });
});
