// A Dataset loaded by the real loader through the real control plane. kwok has no containers, so this test plays
// the kubelet for the prefetch pods: a mutating admission webhook it serves marks them for kwok to leave alone, and
// for each one it resolves the pod's env as the kubelet does (values, and secretKeyRef from the Secret the Dataset
// names), runs src/loader/main.ts with the pod's claims as folders, and writes the container's exit code and
// termination message into the pod's status. The Job controller then completes or fails the Job, and this
// server's Dataset controller reports bytes and files, or the loader's own message.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { runLoader, startMoto, type Moto } from '../support/loader.js';
import { Pki } from '../support/pki.js';
import { testBed } from '../support/test-bed.js';

const ns = 'loads';
const webhookName = 'dataset-loader-test-kubelet';
const scratch = mkdtempSync(join(tmpdir(), 'dataset-loader-e2e-'));
const payload = randomBytes(3 * 1024 * 1024 + 5);
let files: Server;
let webhook: Server;
let moto: Moto;
let filesUrl = '';
let cluster: LocalCluster;
let reader: { id: string; secret: string };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Adds kwok's "leave my status alone" annotation to every pod it is asked about. */
function admit(body: string): string {
  const review = JSON.parse(body) as { request: { uid: string; object: { metadata: { annotations?: Record<string, string> } } } };
  const patch = review.request.object.metadata.annotations
    ? [{ op: 'add', path: '/metadata/annotations/kwok.x-k8s.io~1status', value: 'custom' }]
    : [{ op: 'add', path: '/metadata/annotations', value: { 'kwok.x-k8s.io/status': 'custom' } }];
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
  });
}

const bed = testBed({
  name: 'dataset-loader',
  namespaces: [ns],
  async setup(c) {
    const pki = new Pki(scratch);
    const ca = pki.ca('webhook-ca', 'dataset loader test webhook CA');
    const serving = pki.issue('webhook', ca, { cn: 'webhook', usage: 'server', ips: ['127.0.0.1'] });
    webhook = createHttpsServer({ cert: readFileSync(serving.cert), key: readFileSync(serving.key) }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(admit(body)));
    });
    const port = await listen(webhook);
    await c.ok('admin', ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: webhookName },
      webhooks: [{
        name: 'kwok-custom.loader.test',
        clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(ca.pem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
        objectSelector: { matchExpressions: [{ key: 'ai.example.io/dataset', operator: 'Exists' }] },
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      }],
    }));
  },
});

before(async () => {
  files = createHttpServer((req, res) => {
    if (req.url === '/weights.bin') res.writeHead(200, { 'Content-Length': payload.length, ETag: '"w"' }).end(payload);
    else res.writeHead(404).end();
  });
  filesUrl = `http://127.0.0.1:${await listen(files)}`;
  moto = await startMoto();
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'setup', secretAccessKey: 'setup' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'corpora' }));
  await s3.send(new PutObjectCommand({ Bucket: 'corpora', Key: 'text/a.txt', Body: 'alpha\n' }));
  s3.destroy();
  reader = moto.createUser('reader', '*');
});
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await cluster?.kubectl('admin', ['delete', 'mutatingwebhookconfiguration', webhookName, '--ignore-not-found']);
  await bed.stop();
  await moto?.stop();
  await Promise.all([files, webhook].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)))));
  rmSync(scratch, { recursive: true, force: true });
});

async function getJson<T = Record<string, any>>(args: string[]): Promise<T> {
  return JSON.parse(await cluster.ok('admin', [...args, '-o', 'json'])) as T;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

/**
 * Plays the kubelet for the next prefetch pod of a dataset: its env resolved from the pod spec and the Secret, its
 * claims as folders, the loader run to its end, and the outcome written to the pod's status. Returns the pod.
 */
async function runPrefetchPod(dataset: string, extraEnv: Record<string, string> = {}): Promise<Record<string, any>> {
  const pods = await eventually(
    () => getJson<{ items: Record<string, any>[] }>(['get', 'pods', '-n', ns, '-l', `ai.example.io/dataset=${dataset}`]),
    (list) => list.items.some((p) => p.status?.phase === 'Pending'),
    `a prefetch pod of dataset ${dataset}`,
    90_000,
  );
  const pod = pods.items.find((p) => p.status?.phase === 'Pending')!;
  assert.equal(pod.metadata.annotations?.['kwok.x-k8s.io/status'], 'custom', 'the webhook marked the pod for kwok to leave alone');
  const container = pod.spec.containers[0];
  const env: Record<string, string> = {};
  for (const variable of container.env as EnvVar[]) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (!ref) {
      env[variable.name] = variable.value ?? '';
      continue;
    }
    const secret = await getJson<{ data?: Record<string, string> }>(['get', 'secret', ref.name, '-n', ns]);
    const data = secret.data?.[ref.key];
    if (data === undefined && ref.optional) continue;
    assert.ok(data !== undefined, `secret ${ref.name} has no key ${ref.key}`);
    env[variable.name] = Buffer.from(data, 'base64').toString('utf8');
  }
  const mounts = Object.fromEntries((container.volumeMounts as { name: string; mountPath: string }[]).map((m) => [m.mountPath, m.name]));
  assert.deepEqual(mounts, { '/data': 'data' });
  const run = await runLoader({ ...env, DATA_DIR: mkdtempSync(join(scratch, `${dataset}-`)), LOADER_BACKOFF_MS: '20', ...extraEnv });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const terminated = { exitCode: run.code ?? 1, reason: run.code === 0 ? 'Completed' : 'Error', message: run.message, startedAt: now, finishedAt: now };
  await cluster.ok('admin', ['patch', 'pod', pod.metadata.name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({
    status: {
      phase: run.code === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [{ name: 'loader', image: container.image, imageID: '', ready: false, restartCount: 0, started: false, state: { terminated } }],
    },
  })]);
  return pod;
}

const datasetYaml = (name: string, source: string): string => `apiVersion: ai.example.io/v1alpha1
kind: Dataset
metadata:
  name: ${name}
spec:
  size: 1Gi
  source:
${source}`;

describe('dataset loader through the control plane', () => {
  it('an http(s) dataset is loaded by the loader its Job runs; status shows the bytes and files it reported', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], datasetYaml('weights', `    uri: ${filesUrl}/weights.bin\n`));
    const pod = await runPrefetchPod('weights');
    assert.deepEqual(pod.spec.containers[0].command, ['/usr/local/bin/ai-dataset-loader']);
    const ready = await eventually(() => getJson(['get', 'aidata', 'weights', '-n', ns]), (d) => d.status?.phase === 'Ready', 'dataset weights Ready', 90_000);
    assert.equal(ready.status.bytes, payload.length);
    assert.equal(ready.status.files, 1);
  });

  it('an s3 dataset gets its credentials from the named Secret by secretKeyRef; a wrong one fails the Job at once and the status says why; with the Secret fixed, deleting the Job loads it', async () => {
    await moto.enforceAuth();
    await cluster.ok('admin', ['create', 'secret', 'generic', 'store-keys', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG0', '--from-literal=AWS_SECRET_ACCESS_KEY=wrong']);
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], datasetYaml('corpus', `    uri: s3://corpora/text\n    endpoint: ${moto.endpoint}\n    secretRef:\n      name: store-keys\n`));
    const pod = await runPrefetchPod('corpus');
    const env = pod.spec.containers[0].env as EnvVar[];
    assert.deepEqual(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY'), { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'store-keys', key: 'AWS_SECRET_ACCESS_KEY', optional: false } } });
    assert.ok(!JSON.stringify(pod).includes('AKIAWRONGWRONGWRONG0'), 'a credential appears in the pod');
    const failed = await eventually(() => getJson(['get', 'aidata', 'corpus', '-n', ns]), (d) => d.status?.phase === 'Failed', 'dataset corpus Failed', 90_000);
    const ready = failed.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.reason, 'PrefetchFailed');
    assert.match(ready.message, /^s3:\/\/corpora\/text: the access key ID is not known to the store: check the Secret named in spec\.source\.secretRef \(InvalidAccessKeyId: .+\)$/);
    const job = await getJson(['get', 'job.batch', 'corpus-prefetch', '-n', ns]);
    assert.equal(job.status.failed, 1, 'a permanent failure is not retried');

    // As the README says: fix the Secret, delete the Job, and the controller makes it again.
    const fixed = await cluster.ok('admin', ['create', 'secret', 'generic', 'store-keys', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${reader.id}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${reader.secret}`, '--dry-run=client', '-o', 'yaml']);
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], fixed);
    await cluster.ok('admin', ['delete', 'job.batch', 'corpus-prefetch', '-n', ns, '--wait=true']);
    await eventually(() => getJson(['get', 'job.batch', 'corpus-prefetch', '-n', ns]), (j) => j.metadata.uid !== job.metadata.uid, 'the prefetch Job made again', 90_000);
    await runPrefetchPod('corpus');
    const loaded = await eventually(() => getJson(['get', 'aidata', 'corpus', '-n', ns]), (d) => d.status?.phase === 'Ready', 'dataset corpus Ready', 90_000);
    assert.equal(loaded.status.bytes, 'alpha\n'.length);
    assert.equal(loaded.status.files, 1);
  });
});
