// Certificates that manage themselves, on the real control plane: the server runs with no certificate files, as
// deploy/ runs it, under the ServiceAccount's RBAC from deploy/base/rbac.yaml. It makes Secret
// ai-system/ai-apiserver-tls and the APIService's caBundle itself; replicas and restarts reuse the Secret; a reset
// caBundle is repaired; a short lifetime rotates the pair in place while a client loop through kube-apiserver sees
// no error; and a change of kube-system/extension-apiserver-authentication counts from the next request on.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { freePort } from '../support/etcd.js';
import { until } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

// Two workers, each of which serves and so holds its own watch of the authentication ConfigMap (counted below).
const workers = 2;
const serverArgs = ['--no-controllers', `--workers=${workers}`];
const bed = testBed({ name: 'serving-cert', serverArgs, namespaces: ['certs'], selfManagedCert: true });
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

const secretName = 'ai-apiserver-tls';
const apiServiceName = 'v1alpha1.ai.example.io';
const notebooksPath = '/apis/ai.example.io/v1alpha1/namespaces/certs/notebooks';

/** The suite's waits: 90 s unless told, and the server's last log lines with a timeout. */
function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 90_000, everyMs = 250): Promise<T> {
  return until(check, what, timeoutMs, { everyMs, context: () => cluster.logs('ai-apiserver').slice(-4000) });
}

interface Pair {
  cert: string;
  key: string;
  ca: string;
  resourceVersion: string;
  type: string;
  labels: Record<string, string>;
}

async function secret(): Promise<Pair | undefined> {
  const res = await cluster.kubectl('admin', ['get', 'secret', '-n', 'ai-system', secretName, '-o', 'json']);
  if (res.code !== 0) {
    if (/NotFound/.test(res.stderr)) return undefined;
    throw new Error(res.stderr);
  }
  const object = JSON.parse(res.stdout) as { type: string; metadata: { resourceVersion: string; labels?: Record<string, string> }; data: Record<string, string> };
  const text = (key: string): string => Buffer.from(object.data[key] ?? '', 'base64').toString('utf8');
  return { cert: text('tls.crt'), key: text('tls.key'), ca: text('ca.crt'), resourceVersion: object.metadata.resourceVersion, type: object.type, labels: object.metadata.labels ?? {} };
}

async function apiServiceBundle(): Promise<string> {
  const b64 = await cluster.ok('admin', ['get', 'apiservice', apiServiceName, '-o', 'jsonpath={.spec.caBundle}']);
  return Buffer.from(b64, 'base64').toString('utf8');
}

const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;
const fingerprints = (bundle: string): string[] =>
  (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block).fingerprint256);

/** The serial of the certificate the replica on `port` presents to a new connection. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'ai-apiserver.ai-system.svc', rejectUnauthorized: false }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber;
      socket.destroy();
      if (serial) resolve(serial);
      else reject(new Error('no peer certificate'));
    });
    socket.on('error', reject);
  });
}

/** kube-apiserver's open watches scoped to one named ConfigMap (a watch with a metadata.name field selector). */
async function namedConfigMapWatches(): Promise<number> {
  const res = await cluster.request('admin', 'GET', '/metrics', undefined, { accept: 'text/plain' });
  return res.body
    .split('\n')
    .filter((l) => l.startsWith('apiserver_longrunning_requests{') && l.includes('resource="configmaps"') && l.includes('scope="resource"') && l.includes('verb="WATCH"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function verifiedHandshake(port: number, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'ai-apiserver.ai-system.svc', ca }, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

async function throughAggregator(): Promise<boolean> {
  return (await cluster.request('admin', 'GET', notebooksPath)).status === 200;
}

async function metric(name: string, port = cluster.serverPort): Promise<number> {
  const res = await cluster.direct('/metrics', { authorization: 'Bearer admin-token' }, undefined, port);
  const line = res.body.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('a self-managed serving certificate', () => {
  it('is created in its Secret, the APIService trusts its CA, and kubectl works through the aggregator', async () => {
    const pair = await secret();
    assert.ok(pair, 'the server made Secret ai-system/ai-apiserver-tls');
    assert.equal(pair.type, 'kubernetes.io/tls');
    assert.equal(pair.labels['app.kubernetes.io/managed-by'], 'ai-apiserver');
    assert.equal(await servedSerial(cluster.serverPort), serialOf(pair.cert));
    const leaf = new X509Certificate(pair.cert);
    for (const name of ['ai-apiserver.ai-system.svc', 'ai-apiserver.ai-system.svc.cluster.local']) assert.ok(leaf.checkHost(name), name);
    assert.ok(leaf.checkIssued(new X509Certificate(pair.ca)));
    assert.deepEqual(fingerprints(await eventually(async () => { const b = await apiServiceBundle(); return b !== '' && b; }, 'the caBundle')), fingerprints(pair.ca));
    await cluster.ok('admin', ['create', '-n', 'certs', '-f', '-'], notebookYaml('first'));
    assert.match(await cluster.ok('admin', ['get', 'notebooks', '-n', 'certs']), /^NAME\s+PHASE\s+READY\s+IMAGE\s+AGE\nfirst\s/);
  });

  it('is reused by a second replica and after a restart; two replicas starting together agree on one', async () => {
    const before = (await secret())!;
    const second = await freePort();
    await cluster.startServer(second);
    try {
      assert.equal(await servedSerial(second), serialOf(before.cert));
    } finally {
      await cluster.stopServer(second);
    }
    await cluster.stopServer();
    await cluster.startServer();
    assert.equal(await servedSerial(cluster.serverPort), serialOf(before.cert));
    assert.equal((await secret())!.resourceVersion, before.resourceVersion, 'nobody wrote the Secret');
    await eventually(throughAggregator, 'requests through kube-apiserver after the restart');

    // No Secret, two replicas at once: one creates it, the other gets AlreadyExists and serves the winner's.
    await cluster.stopServer();
    await cluster.ok('admin', ['delete', 'secret', '-n', 'ai-system', secretName, '--wait']);
    await Promise.all([cluster.startServer(), cluster.startServer(second)]);
    try {
      const made = (await secret())!;
      assert.notEqual(serialOf(made.cert), serialOf(before.cert));
      assert.deepEqual([await servedSerial(cluster.serverPort), await servedSerial(second)], [serialOf(made.cert), serialOf(made.cert)]);
      const issued = cluster.logs('ai-apiserver').split('\n').filter((line) => line.includes('issued a serving certificate and wrote it to the Secret'));
      assert.equal(issued.length, 1, issued.join('\n'));
      await eventually(async () => fingerprints(await apiServiceBundle()).join() === fingerprints(made.ca).join(), 'the caBundle of the new Secret');
      await eventually(throughAggregator, 'requests through kube-apiserver with the new pair');
    } finally {
      await cluster.stopServer(second);
    }
  });

  it('keeps the APIService\'s caBundle in step: a reset by kubectl is repaired', async () => {
    const pair = (await secret())!;
    const started = Date.now();
    await cluster.ok('admin', ['patch', 'apiservice', apiServiceName, '--type=merge', '-p', '{"spec":{"caBundle":""}}']);
    await eventually(async () => fingerprints(await apiServiceBundle()).join() === fingerprints(pair.ca).join(), 'the caBundle repaired', 60_000, 50);
    process.stderr.write(`# caBundle repaired ${Date.now() - started} ms after it was reset\n`);
    await eventually(throughAggregator, 'requests through kube-apiserver after the repair');
  });

  it('rotates before expiry without a restart: the serial served changes, the bundle carries both CAs, and no request through kube-apiserver fails', async () => {
    await cluster.stopServer();
    await cluster.ok('admin', ['delete', 'secret', '-n', 'ai-system', secretName, '--wait']);
    cluster.serverArgs = [...serverArgs, '--tls-cert-lifetime=30s'];
    await cluster.startServer();
    const pid = cluster.pidOf(`ai-apiserver:${cluster.serverPort}`);
    const first = (await secret())!;
    await eventually(throughAggregator, 'requests through kube-apiserver with the short-lived pair');
    const firstExpiry = new Date(new X509Certificate(first.cert).validTo).getTime();

    let stop = false;
    let answered = 0;
    const failures: string[] = [];
    const loop = (async () => {
      while (!stop) {
        const res = await cluster.request('admin', 'GET', notebooksPath).catch((error: Error) => ({ status: 0, body: error.message }));
        if (res.status === 200) answered++;
        else failures.push(`${new Date().toISOString()} ${res.status} ${res.body.slice(0, 300)}`);
      }
    })();
    // kube-apiserver keeps its connections; this loop opens a new one each time, verified as kube-aggregator verifies
    // (the APIService's caBundle of the moment, the Service's name), so every pair served meets every bundle published.
    let verified = 0;
    const refused: string[] = [];
    const handshakes = (async () => {
      while (!stop) {
        const apiService = await cluster.request('admin', 'GET', `/apis/apiregistration.k8s.io/v1/apiservices/${apiServiceName}`);
        const bundle = Buffer.from((JSON.parse(apiService.body) as { spec: { caBundle: string } }).spec.caBundle, 'base64').toString('utf8');
        await verifiedHandshake(cluster.serverPort, bundle).then(
          () => verified++,
          (error: Error) => refused.push(`${new Date().toISOString()} ${error.message}`),
        );
      }
    })();
    try {
      const rotated = await eventually(async () => {
        const now = (await secret())!;
        return serialOf(now.cert) !== serialOf(first.cert) && now;
      }, 'the Secret rotated', 60_000);
      // The new CA first (it signed the new pair), then the one it replaces, still trusted during the overlap.
      assert.equal(fingerprints(rotated.ca).length, 2);
      assert.ok(new X509Certificate(rotated.cert).checkIssued(new X509Certificate(rotated.ca)));
      assert.equal(fingerprints(rotated.ca)[1], fingerprints(first.ca)[0]);
      const swapped = Date.now();
      await eventually(async () => (await servedSerial(cluster.serverPort)) === serialOf(rotated.cert), 'the new pair served', 30_000, 50);
      process.stderr.write(`# new pair served ${Date.now() - swapped} ms after the Secret was seen rotated; ${Math.round((firstExpiry - Date.now()) / 1000)} s before the old pair expired\n`);
      // The loop goes on past the old pair's expiry: kube-apiserver must be on the new pair by then.
      await eventually(async () => Date.now() > firstExpiry + 3_000, 'the old pair expired', 60_000);
    } finally {
      stop = true;
      await Promise.all([loop, handshakes]);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(refused, []);
    assert.ok(verified > 20, `${verified} handshakes verified`);
    assert.ok(answered > 20, `${answered} requests answered`);
    assert.equal(cluster.pidOf(`ai-apiserver:${cluster.serverPort}`), pid, 'no restart');
    assert.ok((await metric('ai_apiserver_serving_certificate_reloads_total{source="secret",result="success"}')) >= 1);
    // The first pair, written when the Secret was missing, and at least one rotation, by this one replica.
    assert.ok((await metric('ai_apiserver_serving_certificate_rotations_total')) >= 2);
    assert.ok((await metric('ai_apiserver_serving_certificate_expiration_timestamp_seconds')) * 1000 > firstExpiry, 'the expiry of the pair served now');
    process.stderr.write(`# ${answered} requests through kube-apiserver and ${verified} verified handshakes during the rotation, none failed\n`);
  });
});

describe('the front-proxy and client CAs', () => {
  it('a CA added to extension-apiserver-authentication is trusted from the next request, through the server\'s watch', async () => {
    const original = JSON.parse(await cluster.ok('admin', ['get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'json'])) as {
      data: Record<string, string>;
    };
    const suffix = Date.now().toString(36);
    const ca = cluster.pki.ca(`front-proxy-next-${suffix}`, `front-proxy-next-${suffix}`);
    const client = cluster.pki.issue(`front-proxy-next-client-${suffix}`, ca, { cn: 'front-proxy-client', usage: 'client' });
    const asZed = async (): Promise<string> => (await cluster.direct(notebooksPath, { 'X-Remote-User': 'zed' }, client)).body;
    assert.doesNotMatch(await asZed(), /zed/, 'a certificate of an unknown CA is no front proxy');
    const loadedBefore = cluster.logs('ai-apiserver').split('\n').filter((l) => l.includes('authentication config loaded')).length;
    const started = Date.now();
    const bundle = `${original.data['requestheader-client-ca-file']!.trim()}\n${ca.pem.trim()}\n`;
    await cluster.ok('admin', ['patch', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '--type=merge', '-p', JSON.stringify({ data: { 'requestheader-client-ca-file': bundle } })]);
    try {
      // kube-apiserver's answer for a user it knows nothing of names the user: the headers were believed.
      await eventually(async () => /User \\?"zed\\?" cannot list resource \\?"notebooks\\?"/.test(await asZed()), 'the new front-proxy CA trusted', 60_000, 50);
      process.stderr.write(`# new front-proxy CA trusted ${Date.now() - started} ms after the ConfigMap changed\n`);
      const loaded = cluster.logs('ai-apiserver').split('\n').filter((l) => l.includes('authentication config loaded'));
      assert.ok(loaded.length > loadedBefore);
      assert.match(loaded.at(-1)!, /"from":"watch"/);
    } finally {
      await cluster.ok('admin', ['patch', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '--type=merge', '-p', JSON.stringify({ data: { 'requestheader-client-ca-file': original.data['requestheader-client-ca-file'] } })]);
    }
    await eventually(async () => !/zed/.test(await asZed()), 'the CA no longer trusted once removed', 60_000, 50);

    // What kube-apiserver counts: each worker holds a watch of one named ConfigMap, which ends when it stops.
    const watching = await namedConfigMapWatches();
    assert.ok(watching >= workers, `${watching} watches of a named ConfigMap`);
    await cluster.stopServer();
    await eventually(async () => (await namedConfigMapWatches()) === watching - workers || undefined, 'the workers\' ConfigMap watches gone with them', 60_000);
    await cluster.startServer();
  });
});
