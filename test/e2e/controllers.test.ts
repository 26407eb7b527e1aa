// The controllers on the real control plane with kwok nodes: notebooks, distributed jobs and datasets handed to
// StatefulSets, Indexed batch Jobs, Services and PVCs; status that says what really happens; leader election.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, beforeEach, describe, it } from 'node:test';
import { users, type LocalCluster } from '../support/cluster.js';
import { freePort } from '../support/etcd.js';
import { eventually } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

let jupyter: Server | undefined;
const activity = new Map<string, string>();
const ns = 'work';

/** A stand-in for Jupyter's /api/status, reporting the last activity a test set for each notebook. */
async function startJupyter(): Promise<number> {
  jupyter = createServer((req, res) => {
    const match = /^\/([^/]+)\/([^/]+)\/api\/status$/.exec(req.url ?? '');
    const last = match ? activity.get(`${match[1]}/${match[2]}`) : undefined;
    res.writeHead(last ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ last_activity: last, started: last, kernels: 0, connections: 0 }));
  });
  await new Promise<void>((resolve) => jupyter!.listen(0, '127.0.0.1', resolve));
  const address = jupyter.address();
  return typeof address === 'object' && address ? address.port : 0;
}

// Short Lease timings, so the failover test waits seconds for the Lease to expire rather than kube's 15.
const lease = { durationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 };

const bed = testBed({
  name: 'controllers',
  serverArgs: async () => [
    `--notebook-activity-url=http://127.0.0.1:${await startJupyter()}/{namespace}/{name}/api/status`,
    `--leader-elect-lease-duration=${lease.durationMs}ms`,
    `--leader-elect-renew-deadline=${lease.renewDeadlineMs}ms`,
    `--leader-elect-retry-period=${lease.retryPeriodMs}ms`,
  ],
  namespaces: [ns],
});
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await bed.stop();
  await new Promise((resolve) => (jupyter ? jupyter.close(resolve) : resolve(undefined)));
});

async function getJson<T = Record<string, any>>(args: string[]): Promise<T> {
  return JSON.parse(await cluster.ok('admin', [...args, '-o', 'json'])) as T;
}

const notebook = (name: string, spec = ''): string => notebookYaml(name, { spec });

const job = (name: string, spec: string, podAnnotations = ''): string => `apiVersion: ai.example.io/v1alpha1
kind: Job
metadata:
  name: ${name}
spec:
${spec}  template:
    metadata:
      annotations: {${podAnnotations}}
    spec:
      restartPolicy: OnFailure
      containers:
        - name: trainer
          image: pytorch/pytorch:2.4.0
`;

// kwok leaves pods with this annotation alone, so a test can give them the status it needs.
const frozen = '"kwok.x-k8s.io/status": "custom"';

describe('notebooks', () => {
  it('reach Running with a ready StatefulSet, a Service and a workspace; stop keeps the workspace; start resumes', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebook('lab'));
    await eventually(() => getJson(['get', 'ainb', 'lab', '-n', ns]), (nb) => nb.status?.phase === 'Running', 'notebook lab Running');
    // The controller applies status on /status under its own name and owns status only.
    const owned = (await getJson(['get', 'ainb', 'lab', '-n', ns, '--show-managed-fields'])).metadata.managedFields as Record<string, any>[];
    const controller = owned.find((e) => e.manager === 'notebook-controller');
    assert.deepEqual([controller?.operation, controller?.subresource, Object.keys(controller?.fieldsV1 ?? {})], ['Apply', 'status', ['f:status']]);
    assert.ok(controller?.fieldsV1['f:status']['f:phase'], JSON.stringify(controller?.fieldsV1));
    const sts = await getJson(['get', 'statefulset', 'lab', '-n', ns]);
    assert.equal(sts.spec.replicas, 1);
    assert.equal(sts.status.readyReplicas, 1);
    assert.equal(sts.metadata.ownerReferences[0].kind, 'Notebook');
    const container = sts.spec.template.spec.containers[0];
    assert.deepEqual(container.env.find((e: { name: string }) => e.name === 'NB_PREFIX'), { name: 'NB_PREFIX', value: `/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks/lab/proxy` });
    assert.deepEqual(container.volumeMounts.find((m: { name: string }) => m.name === 'workspace'), { name: 'workspace', mountPath: '/home/jovyan' });
    const svc = await getJson(['get', 'service', 'lab', '-n', ns]);
    assert.deepEqual([svc.spec.ports[0].port, svc.spec.ports[0].targetPort], [80, 8888]);
    const pvc = await getJson(['get', 'pvc', 'lab-workspace', '-n', ns]);
    const pvcUid = pvc.metadata.uid as string;

    await cluster.ok('admin', ['patch', 'ainb', 'lab', '-n', ns, '--type=merge', '-p', '{"spec":{"stopped":true}}']);
    await eventually(() => getJson(['get', 'ainb', 'lab', '-n', ns]), (nb) => nb.status?.phase === 'Stopped', 'notebook lab Stopped');
    assert.equal((await getJson(['get', 'statefulset', 'lab', '-n', ns])).spec.replicas, 0);
    assert.equal((await getJson(['get', 'pvc', 'lab-workspace', '-n', ns])).metadata.uid, pvcUid, 'the workspace was not kept');

    await cluster.ok('admin', ['patch', 'ainb', 'lab', '-n', ns, '--type=merge', '-p', '{"spec":{"stopped":false}}']);
    await eventually(() => getJson(['get', 'ainb', 'lab', '-n', ns]), (nb) => nb.status?.phase === 'Running', 'notebook lab Running again');
    assert.match(await cluster.ok("admin", ["describe", "ainb", "lab", "-n", ns]), /Normal\s+Reconciled\s+\S+\s+ai-apiserver\s+StatefulSet lab set to 0 replica/);
  });

  it('an idle notebook is culled after its timeout, a busy one is not', async () => {
    activity.set(`${ns}/idle`, new Date(Date.now() - 2 * 3600_000).toISOString());
    activity.set(`${ns}/busy`, new Date().toISOString());
    const idle = 'idle:\n    timeoutSeconds: 600\n';
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], `${notebook('idle', `  ${idle}`)}---\n${notebook('busy', `  ${idle}`)}`);
    const culled = await eventually(() => getJson(['get', 'ainb', 'idle', '-n', ns]), (nb) => nb.status?.phase === 'Stopped', 'the idle notebook to be culled', 90_000);
    assert.equal(culled.spec.stopped, true);
    const condition = culled.status.conditions.find((c: { type: string }) => c.type === 'Culled');
    assert.equal(condition.status, 'True');
    assert.equal(condition.reason, 'Idle');
    assert.ok(culled.status.lastActivityTime);
    await eventually(() => getJson(['get', 'statefulset', 'idle', '-n', ns]), (s) => s.spec.replicas === 0, 'the culled notebook scaled to 0');
    const busy = await getJson(['get', 'ainb', 'busy', '-n', ns]);
    assert.equal(busy.status.phase, 'Running');
    assert.notEqual(busy.spec.stopped, true);
  });
});

describe('jobs', () => {
  it('a 4-replica pytorch job runs as an Indexed batch Job behind a headless Service, with rank env, and succeeds', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], job('train', '  replicas: 4\n  nprocPerNode: 2\n'));
    const batch = await eventually(() => getJson(['get', 'job.batch', 'train', '-n', ns]), () => true, 'batch Job train');
    assert.equal(batch.spec.completionMode, 'Indexed');
    assert.deepEqual([batch.spec.completions, batch.spec.parallelism], [4, 4]);
    assert.equal(batch.spec.template.spec.subdomain, 'train');
    const env = Object.fromEntries(
      (batch.spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[]).map((e) => [
        e.name,
        e.value ?? e.valueFrom?.fieldRef.fieldPath,
      ]),
    );
    assert.deepEqual(
      [env.MASTER_ADDR, env.MASTER_PORT, env.WORLD_SIZE, env.RANK, env.PET_NNODES, env.PET_NPROC_PER_NODE, env.PET_RDZV_ENDPOINT, env.PET_RDZV_BACKEND],
      ['train-0.train', '23456', '4', "metadata.annotations['batch.kubernetes.io/job-completion-index']", '4', '2', 'train-0.train:23456', 'c10d'],
    );
    const svc = await getJson(['get', 'service', 'train', '-n', ns]);
    assert.equal(svc.spec.clusterIP, 'None');
    const done = await eventually(() => getJson(['get', 'aijob', 'train', '-n', ns]), (j) => j.status?.phase === 'Succeeded', 'job train Succeeded', 90_000);
    assert.equal(done.status.succeeded, 4);
    assert.ok(done.status.completionTime);
  });

  it('an unschedulable request and an image that never pulls show why the job is pending', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], job('huge', '  replicas: 1\n').replace('image: pytorch/pytorch:2.4.0', 'image: pytorch/pytorch:2.4.0\n          resources:\n            limits:\n              nvidia.com/gpu: "100"'));
    const huge = await eventually(
      () => getJson(['get', 'aijob', 'huge', '-n', ns]),
      (j) => j.status?.conditions?.some((c: { type: string; reason: string }) => c.type === 'Pending' && c.reason === 'Unschedulable'),
      'job huge Pending: Unschedulable',
    );
    assert.equal(huge.status.phase, 'Pending');
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], job('nopull', '  replicas: 1\n', frozen));
    const pod = await eventually(
      async () => (await getJson<{ items: { metadata: { name: string }; spec: { nodeName?: string } }[] }>(['get', 'pods', '-n', ns, '-l', 'ai.example.io/job=nopull'])).items,
      (pods) => pods.length === 1 && pods[0]!.spec.nodeName !== undefined,
      'the nopull pod scheduled',
    );
    await cluster.ok('admin', [
      'patch', 'pod', pod[0]!.metadata.name, '-n', ns, '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { phase: 'Pending', containerStatuses: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "pytorch/pytorch:2.4.0"' } } }] } }),
    ]);
    await eventually(
      () => getJson(['get', 'aijob', 'nopull', '-n', ns]),
      (j) => j.status?.conditions?.some((c: { type: string; reason: string }) => c.type === 'Pending' && c.reason === 'ImagePullBackOff'),
      'job nopull Pending: ImagePullBackOff',
    );
  });

  it('an elastic job scales within its bounds through the scale subresource; outside them is 422; suspend and resume', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], job('elastic', '  elastic:\n    minReplicas: 1\n    maxReplicas: 4\n', frozen));
    await eventually(() => getJson(['get', 'job.batch', 'elastic', '-n', ns]), (b) => b.spec.parallelism === 4, 'batch Job elastic at 4');
    assert.match(await cluster.ok('admin', ['scale', 'aijob', 'elastic', '-n', ns, '--replicas=2']), /scaled/);
    const scaled = await eventually(() => getJson(['get', 'job.batch', 'elastic', '-n', ns]), (b) => b.spec.parallelism === 2, 'batch Job elastic at 2');
    assert.equal(scaled.spec.completions, 2);
    const out = await cluster.kubectl('admin', ['scale', 'aijob', 'elastic', '-n', ns, '--replicas=9']);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /is invalid: spec\.replicas: Invalid value: 9: must be between elastic\.minReplicas \(1\) and elastic\.maxReplicas \(4\)/);
    await cluster.ok('admin', ['patch', 'aijob', 'elastic', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await eventually(() => getJson(['get', 'aijob', 'elastic', '-n', ns]), (j) => j.status?.phase === 'Suspended', 'job elastic Suspended');
    assert.equal((await getJson(['get', 'job.batch', 'elastic', '-n', ns])).spec.suspend, true);
    await cluster.ok('admin', ['patch', 'aijob', 'elastic', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await eventually(() => getJson(['get', 'aijob', 'elastic', '-n', ns]), (j) => j.status?.phase !== 'Suspended', 'job elastic resumed');
    assert.equal((await getJson(['get', 'job.batch', 'elastic', '-n', ns])).spec.suspend, false);
  });
});

describe('datasets', () => {
  it('a job naming a dataset waits for it, starts when it is Ready, and mounts it', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], job('uses-data', '  replicas: 2\n  datasets:\n    - name: corpus\n      mountPath: /data/corpus\n'));
    const waiting = await eventually(() => getJson(['get', 'aijob', 'uses-data', '-n', ns]), (j) => j.status?.phase === 'Pending', 'job uses-data Pending');
    assert.equal(waiting.status.conditions.find((c: { type: string }) => c.type === 'WaitingForDataset')?.status, 'True');
    assert.notEqual((await cluster.kubectl('admin', ['get', 'job.batch', 'uses-data', '-n', ns])).code, 0, 'the batch Job was created before the dataset was Ready');
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], 'apiVersion: ai.example.io/v1alpha1\nkind: Dataset\nmetadata:\n  name: corpus\nspec:\n  source:\n    uri: s3://bucket/corpus\n  size: 5Gi\n');
    await eventually(() => getJson(['get', 'aidata', 'corpus', '-n', ns]), (d) => d.status?.phase === 'Ready', 'dataset corpus Ready', 90_000);
    const loader = await getJson(['get', 'job.batch', 'corpus-prefetch', '-n', ns]);
    assert.equal(loader.spec.template.spec.containers[0].env[0].value, 's3://bucket/corpus');
    const batch = await eventually(() => getJson(['get', 'job.batch', 'uses-data', '-n', ns]), () => true, 'batch Job uses-data', 60_000);
    const volume = batch.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'dataset-corpus');
    assert.deepEqual(volume.persistentVolumeClaim, { claimName: 'corpus', readOnly: true });
    assert.deepEqual(batch.spec.template.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'dataset-corpus'), {
      name: 'dataset-corpus',
      mountPath: '/data/corpus',
      readOnly: true,
    });
  });

  it('a pvc:// dataset that is not copied is mounted from its source claim, at the path the source names', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], 'apiVersion: ai.example.io/v1alpha1\nkind: Dataset\nmetadata:\n  name: shared\nspec:\n  source:\n    uri: pvc://team-share/train/\n  prefetch: false\n');
    await eventually(() => getJson(['get', 'aidata', 'shared', '-n', ns]), (d) => d.status?.phase === 'Ready', 'dataset shared Ready');
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], job('uses-shared', '  replicas: 1\n  datasets:\n    - name: shared\n      mountPath: /data/shared\n'));
    const batch = await eventually(() => getJson(['get', 'job.batch', 'uses-shared', '-n', ns]), () => true, 'batch Job uses-shared', 60_000);
    const volume = batch.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'dataset-shared');
    assert.deepEqual(volume.persistentVolumeClaim, { claimName: 'team-share', readOnly: true });
    assert.deepEqual(batch.spec.template.spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'dataset-shared'), {
      name: 'dataset-shared',
      mountPath: '/data/shared',
      readOnly: true,
      subPath: 'train',
    });
  });
});

/** What one replica's /metrics says: whether it leads, and how many reconciles it has run, over all controllers. */
async function replicaState(port: number): Promise<{ leading: boolean; reconciles: number }> {
  const admin = { 'X-Remote-User': users.admin.name, 'X-Remote-Group': 'system:masters' };
  const res = await cluster.direct('/metrics', admin, cluster.frontProxyClient, port);
  assert.equal(res.status, 200, `/metrics of the replica on ${port}: ${res.body.slice(0, 500)}`);
  const leader = /^leader_election_master_status (\S+)$/m.exec(res.body);
  assert.ok(leader, `the replica on ${port} reports no leader_election_master_status`);
  const reconciles = [...res.body.matchAll(/^controller_runtime_reconcile_time_seconds_count\{[^}]*\} (\S+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { leading: Number(leader[1]) === 1, reconciles };
}

/** The Lease identity a replica's log says it won the lease with. */
function identityOf(port: number): string | undefined {
  const won = cluster
    .logs(`ai-apiserver:${port}`)
    .split('\n')
    .filter((line) => line.includes('"became leader"'))
    .pop();
  return won ? (JSON.parse(won) as { identity: string }).identity : undefined;
}

/** A notebook that has reached Running, so its controller has nothing left to do. */
async function runningNotebook(name: string): Promise<void> {
  await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebook(name));
  await eventually(() => getJson(['get', 'ainb', name, '-n', ns]), (nb) => nb.status?.phase === 'Running', `notebook ${name} Running`);
}

describe('ownership', () => {
  it('a reconcile with nothing to change writes nothing', async () => {
    await runningNotebook('steady');
    const children = (): Promise<{ items: { metadata: { name: string; resourceVersion: string } }[] }> =>
      getJson(['get', 'statefulset,service,pvc', '-n', ns, '-l', 'ai.example.io/notebook=steady']);
    const versions = (list: Awaited<ReturnType<typeof children>>): string[] => list.items.map((i) => `${i.metadata.name}@${i.metadata.resourceVersion}`);
    const before = await children();
    assert.equal(before.items.length, 3, 'the notebook has a StatefulSet, a Service and a claim');
    const reconciled = (await replicaState(cluster.serverPort)).reconciles;
    // An annotation does not change the spec but does make the controller look at the notebook again; the count of
    // finished reconciles moving proves it did before the children are read again.
    await cluster.ok('admin', ['annotate', 'ainb', 'steady', '-n', ns, '--overwrite', `example.io/poke=${Date.now()}`]);
    await eventually(() => replicaState(cluster.serverPort), (state) => state.reconciles > reconciled, 'a reconcile after the annotation');
    assert.deepEqual(versions(await children()), versions(before));
  });

  it('children changed by hand are put back; deleting an owner removes its children', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebook('owned'));
    await eventually(() => getJson(['get', 'statefulset', 'owned', '-n', ns]), () => true, 'statefulset owned');
    await cluster.ok('admin', ['scale', 'statefulset', 'owned', '-n', ns, '--replicas=3']);
    await eventually(() => getJson(['get', 'statefulset', 'owned', '-n', ns]), (s) => s.spec.replicas === 1, 'the statefulset put back to 1 replica');
    await cluster.ok('admin', ['delete', 'ainb', 'owned', '-n', ns]);
    for (const kind of ['statefulset', 'service', 'pvc']) {
      const name = kind === 'pvc' ? 'owned-workspace' : 'owned';
      await eventually(() => cluster.kubectl('admin', ['get', kind, name, '-n', ns]), (r) => r.code !== 0, `${kind} ${name} collected`);
    }
  });

  it('two replicas: only the leader reconciles; when it dies the standby takes over within the lease and nothing is created twice', async () => {
    const { durationMs: leaseDurationMs, retryPeriodMs } = lease;
    const holder = async (): Promise<string> =>
      cluster.ok('admin', ['get', 'lease', 'ai-apiserver-controllers', '-n', 'ai-system', '-o', 'jsonpath={.spec.holderIdentity}']);
    const children = async (): Promise<string[]> =>
      ((await getJson(['get', 'statefulset,service,pvc', '-n', ns])).items as { kind: string; metadata: { name: string; uid: string } }[])
        .map((i) => `${i.kind}/${i.metadata.name}@${i.metadata.uid}`)
        .sort();

    // Two replicas against the same etcd and Lease, each on a port of its own; startServer fails if one cannot start.
    const first = cluster.serverPort;
    const second = await freePort();
    await cluster.startServer(second);
    const replicas = [first, second];
    await eventually(() => Promise.all(replicas.map(replicaState)), (states) => states.filter((s) => s.leading).length === 1, 'exactly one replica leading');
    const states = await Promise.all(replicas.map(replicaState));
    assert.deepEqual(states.map((s) => s.leading).sort(), [false, true], `leadership as the replicas report it: ${JSON.stringify(states)}`);
    const leader = replicas[states.findIndex((s) => s.leading)]!;
    const standby = replicas.find((p) => p !== leader)!;
    assert.equal(await holder(), identityOf(leader), 'the Lease holder is the replica that says it leads');
    assert.equal(identityOf(standby), undefined, 'the standby never won the Lease');

    // Work while both run: the leader reconciles it, the standby does nothing.
    await runningNotebook('steady');
    const before = await Promise.all(replicas.map(replicaState));
    await cluster.ok('admin', ['annotate', 'ainb', 'steady', '-n', ns, '--overwrite', `example.io/poke=${Date.now()}`]);
    await eventually(() => replicaState(leader), (s) => s.reconciles > before[replicas.indexOf(leader)]!.reconciles, 'the leader reconciling');
    assert.equal((await replicaState(standby)).reconciles, 0, 'the standby reconciled while another replica led');
    const childrenBefore = await children();

    await cluster.stopServer(leader, 'SIGKILL');
    const killedAt = Date.now();
    const standbyIdentity = await eventually(
      async () => ((await replicaState(standby)).leading ? identityOf(standby) : undefined),
      (identity) => identity !== undefined,
      'the standby to lead',
      leaseDurationMs + retryPeriodMs + 10_000,
    );
    const takeoverMs = Date.now() - killedAt;
    // The dead leader renewed at most one retry period before it died; the standby tries once per retry period.
    assert.ok(takeoverMs <= leaseDurationMs + 2 * retryPeriodMs, `takeover took ${takeoverMs} ms`);
    assert.equal(await holder(), standbyIdentity);

    // kube-apiserver reaches the registered port: if the leader served it, a new replica serves it now, and it
    // must stay a standby while the survivor leads.
    if (leader === first) {
      await cluster.startServer(first);
      await cluster.waitAvailable(true, 90_000);
    }
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebook('after-failover'));
    await eventually(() => getJson(['get', 'ainb', 'after-failover', '-n', ns]), (nb) => nb.status?.phase === 'Running', 'a notebook reconciled by the new leader', 90_000).catch(
      async (error: Error) => {
        const children = await cluster.kubectl('admin', ['get', 'statefulset,pod,pvc', '-n', ns, '-o', 'wide']);
        const leaderLog = cluster.logs(`ai-apiserver:${standby}`).slice(-6000);
        throw new Error(`${error.message}\n${children.stdout}${children.stderr}\nthe new leader's log:\n${leaderLog}`);
      },
    );
    assert.ok((await replicaState(standby)).reconciles > 0, 'the new leader reconciled');
    if (leader === first) assert.deepEqual(await replicaState(first), { leading: false, reconciles: 0 }, 'the replica started after the failover stayed a standby');
    assert.equal(await holder(), standbyIdentity);
    const childrenAfter = await children();
    assert.deepEqual(childrenAfter.filter((c) => !c.includes('/after-failover')), childrenBefore, 'children of existing notebooks were recreated');
    assert.deepEqual(
      childrenAfter.filter((c) => c.includes('/after-failover')).map((c) => c.replace(/@.*/, '')),
      ['PersistentVolumeClaim/after-failover-workspace', 'Service/after-failover', 'StatefulSet/after-failover'],
    );
    await cluster.stopServer(standby);
  });
});
