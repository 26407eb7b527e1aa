// deploy/ installed on the test control plane as a cluster admin installs it, and the server run exactly as its
// Deployment says, with nothing of the test bed's: no admin token, no kubeconfig, only the ServiceAccount's own
// token and the RBAC in deploy/.
//
// kwok runs the Deployment's pods only as fake ones, so this suite plays the kubelet for one of them: the server
// process gets the container's args and env, the files of its volumes at their mountPaths, and what the kubelet adds
// to every pod: KUBERNETES_SERVICE_HOST/PORT, and at /var/run/secrets/kubernetes.io/serviceaccount a token for the
// pod's ServiceAccount from the TokenRequest API, the cluster's CA from ConfigMap kube-root-ca.crt, and the
// namespace. The files are bind-mounted from a tmpfs in a private mount namespace (unshare --mount, which needs
// root), where an overlay over a mountPath's nearest existing parent lets /etc/ai-apiserver/tls exist without the
// host's /etc changing; the security context applies too (setpriv: the user, fsGroup owning the volumes, no new
// privileges, no capabilities; a read-only root: every other mount read-only). Only what must be local is
// substituted: --etcd-servers names the test's etcd and --secure-port the port the test bed's APIService reaches;
// one flag is added, --notebook-upstream-url, because the notebooks' Service names do not resolve here. The server
// runs from the source tree (node --import tsx, its cache off), not from the image; seccomp is not applied. kube-apiserver
// itself checks the pods against the namespace's Pod Security Standard when the ReplicaSet creates them. The suite also plays kube-proxy: the Service becomes an ExternalName of localhost (Endpoints may not
// hold loopback addresses) on that port, as the test bed's is, and the APIService names that port.
//
// The README's "Install in a cluster" commands run as written, in a copy of deploy/ and apiservice/, with KUBECONFIG
// naming the test's admin; the pod starts when the commands first wait for it. The lines that build the image or
// move it into a cluster cannot run against this control plane and are skipped (any other line runs). At the end
// the suite deletes what deploy/ added and puts the test bed's registration back for the suites after it.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, beforeEach, describe, it } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import type { LocalCluster } from '../support/cluster.js';
import { eventually as eventuallyRead } from '../support/eventually.js';
import { httpsCall } from '../support/https.js';
import { jobYaml, notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tenant = 'install-tenant';
const serverUser = 'system:serviceaccount:ai-system:ai-apiserver';
/** kube-apiserver refusing the server's own requests, as it reads in the server's JSON log. */
const refusedServer = /system:serviceaccount:ai-system:ai-apiserver\\?" cannot/;
/** README lines that build the image or move it into a cluster's nodes or registry. */
const imageStep = /^(npm run image|podman|docker|buildah|skopeo|crane|ctr|kind load|minikube image|k3d image)\b/;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface KeyToPath {
  key: string;
  path: string;
}
interface Volume {
  name: string;
  secret?: { secretName: string; optional?: boolean; items?: KeyToPath[] };
  configMap?: { name: string; optional?: boolean; items?: KeyToPath[] };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: object;
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  readinessProbe?: { httpGet?: { path: string; scheme?: string } };
  securityContext?: { runAsUser?: number; runAsGroup?: number; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  containers: Container[];
  volumes?: Volume[];
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: PodSpec } };
}

/** A notebook with no workspace: the claims of this suite are the install's, one workspace and one dataset. */
const bareNotebook = (name: string): string => notebookYaml(name).replace(/^  workspace:\n    size: 1Gi\n/m, '');

// The volumes the claims here bind to: deploy/ claims three for etcd and one for single-replica's store, and the
// test bed's are shared by every suite of the run.
const volumes = Array.from({ length: 8 }, (_, i) => `install-pv-${i}`);

const bed = testBed({
  name: 'install',
  namespaces: [tenant],
  async setup(cluster) {
    await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', tenant]);
    const pv = (name: string): object => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: { capacity: { storage: '20Gi' }, accessModes: ['ReadWriteOnce', 'ReadWriteMany'], storageClassName: '', hostPath: { path: `/tmp/kwok-volumes/${name}` } },
    });
    await cluster.ok('admin', ['apply', '-f', '-'], volumes.map((name) => stringify(pv(name))).join('---\n'));
  },
});
let cluster: LocalCluster;
const work = mkdtempSync(join(tmpdir(), 'ai-apiserver-install-'));
let pod: Pod | undefined;
/** Everything the installs applied, for putting the test bed back. */
const installed: Manifest[] = [];

/** The stand-in for every notebook's Jupyter, reached through notebooks/proxy. */
const upstream: Server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ notebook: 'stand-in', path: req.url }));
});

beforeEach(async () => {
  cluster = await bed.ready();
  // The server of this suite is the one the Deployment describes, not the test bed's.
  await cluster.stopServer();
  if (!upstream.listening) await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await pod?.stop();
  if (cluster) {
    await restoreTestBed();
    await cluster.kubectl('admin', ['delete', 'pv', ...volumes, '--ignore-not-found', '--wait=false']);
  }
  await bed.stop();
  await new Promise((resolve) => upstream.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { cwd: options.cwd ?? repo, env: options.env ?? process.env, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

async function render(dir: string): Promise<Manifest[]> {
  const rendered = await run('kubectl', ['kustomize', dir]);
  assert.equal(rendered.code, 0, rendered.stderr);
  return parseAllDocuments(rendered.stdout).map((doc) => doc.toJSON() as Manifest);
}

/** The suite's waits: two minutes by default, and the server's last log lines with a timeout. */
function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 120_000): Promise<T> {
  return eventuallyRead(read, ok, what, timeoutMs, { context: () => pod?.logs().slice(-4000) ?? '' });
}

async function getJson(args: string[]): Promise<Record<string, any>> {
  return JSON.parse(await cluster.ok('admin', [...args, '-o', 'json'])) as Record<string, any>;
}

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** The server process of one pod, in its own mount namespace. */
class Pod {
  private output = '';

  constructor(
    private readonly child: ChildProcess,
    /** The tmpfs the volumes are bind-mounted from, as a path inside the pod's mount namespace. */
    private readonly stage: string,
    /** The volume holding the ServiceAccount token, a directory in `stage`. */
    private readonly tokenVolume: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  logs(): string {
    return this.output;
  }

  /** The server process's /proc status or mountinfo, as its own namespaces show them. */
  proc(file: 'status' | 'mountinfo'): string {
    return readFileSync(`/proc/${this.child.pid}/${file}`, 'utf8');
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Replaces the token file as the kubelet refreshes a projected token: a new file renamed over the old one. */
  async rotateToken(token: string): Promise<void> {
    const dir = join(this.stage, this.tokenVolume);
    const res = await run('nsenter', [`--mount=/proc/${this.child.pid}/ns/mnt`, 'bash', '-c', `cat > ${quote(`${dir}/.token`)} && mv ${quote(`${dir}/.token`)} ${quote(`${dir}/token`)}`], { input: token });
    assert.equal(res.code, 0, res.stderr);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A volume's files as the kubelet would write them; fails where the kubelet would not start the pod. */
async function volumeFiles(namespace: string, volume: Volume): Promise<Record<string, string | Buffer>> {
  const source = volume.secret ?? volume.configMap;
  if (source) {
    const [kind, name] = volume.secret ? ['secret', volume.secret.secretName] : ['configmap', volume.configMap!.name];
    const res = await cluster.kubectl('admin', ['get', kind, name, '-n', namespace, '-o', 'json']);
    if (res.code !== 0) {
      if (/NotFound/.test(res.stderr) && source.optional) return {};
      assert.fail(`the kubelet would not start the pod: volume ${volume.name} needs ${kind} ${namespace}/${name}: ${res.stderr}`);
    }
    const object = JSON.parse(res.stdout) as { data?: Record<string, string> };
    const data = Object.fromEntries(Object.entries(object.data ?? {}).map(([k, v]) => [k, volume.secret ? Buffer.from(v, 'base64') : v]));
    if (!source.items) return data;
    return Object.fromEntries(source.items.map((item) => [item.path, data[item.key] ?? assert.fail(`${kind} ${name} has no key ${item.key}`)]));
  }
  if (volume.persistentVolumeClaim) {
    await cluster.ok('admin', ['get', 'pvc', volume.persistentVolumeClaim.claimName, '-n', namespace]);
    return {};
  }
  if (volume.emptyDir) return {};
  return assert.fail(`volume ${volume.name}: a kind this test cannot play the kubelet for: ${JSON.stringify(volume)}`);
}

async function requestToken(namespace: string, serviceAccount: string, boundSecret?: string): Promise<string> {
  const bound = boundSecret ? ['--bound-object-kind=Secret', `--bound-object-name=${boundSecret}`] : [];
  return (await cluster.ok('admin', ['create', 'token', serviceAccount, '-n', namespace, ...bound])).trim();
}

/**
 * Starts the server as the Deployment in `manifests` runs it (see the top of this file), with `token` instead of a
 * new one from the TokenRequest API when given.
 */
async function startPod(manifests: Manifest[], token?: string): Promise<Pod> {
  const deployment = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'ai-apiserver') ?? assert.fail('no Deployment ai-apiserver');
  const namespace = deployment.metadata.namespace!;
  const spec = deployment.spec!.template!.spec;
  const container = spec.containers.find((c) => c.name === 'server') ?? assert.fail('the Deployment has no container named server');
  assert.equal(container.command, undefined, 'the container runs the image\'s entrypoint, the server, which this test runs from the source tree');
  const args = container.args ?? [];
  assert.ok(!args.some((a) => a.startsWith('--kubeconfig')), 'the Deployment reaches kube-apiserver in-cluster, without a kubeconfig');
  assert.ok(args.some((a) => a.startsWith('--secure-port=')), args.join(' '));

  const root = mkdtempSync(join(work, 'pod-'));
  const stage = join(root, 'stage');
  mkdirSync(stage);
  const mounts: { volume: string; target: string; readOnly: boolean; writable: boolean }[] = [];
  const addVolume = (files: Record<string, string | Buffer>): string => {
    const volume = `v${mounts.length}`;
    for (const [path, content] of Object.entries(files)) {
      const file = join(root, 'volumes', volume, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { mode: 0o644 });
    }
    mkdirSync(join(root, 'volumes', volume), { recursive: true });
    return volume;
  };
  for (const mount of container.volumeMounts ?? []) {
    assert.equal(mount.subPath, undefined, 'subPath mounts are not played here');
    const volume = spec.volumes?.find((v) => v.name === mount.name) ?? assert.fail(`no volume ${mount.name}`);
    const writable = volume.persistentVolumeClaim !== undefined || volume.emptyDir !== undefined;
    mounts.push({ volume: addVolume(await volumeFiles(namespace, volume)), target: mount.mountPath, readOnly: mount.readOnly ?? false, writable });
  }
  assert.notEqual(spec.automountServiceAccountToken, false, 'the server needs its ServiceAccount token');
  const ca = await eventually(() => cluster.ok('admin', ['get', 'configmap', 'kube-root-ca.crt', '-n', namespace, '-o', 'jsonpath={.data.ca\\.crt}']), (pem) => pem.includes('BEGIN CERTIFICATE'), 'ConfigMap kube-root-ca.crt');
  const tokenVolume = addVolume({ token: token ?? (await requestToken(namespace, spec.serviceAccountName ?? 'default')), 'ca.crt': ca, namespace });
  mounts.push({ volume: tokenVolume, target: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true, writable: false });

  // The security context, as the container runtime applies it: the user and groups (fsGroup owning the volumes),
  // no privilege escalation, no capabilities, and a read-only root: every mount but the volumes' is made read-only.
  const security = { ...spec.securityContext, ...container.securityContext };
  const user = security.runAsUser ?? 0;
  if (spec.securityContext?.runAsNonRoot) assert.notEqual(user, 0, 'runAsNonRoot with no runAsUser: the image\'s user is not known here');
  const fsGroup = spec.securityContext?.fsGroup;
  const setpriv = [
    'setpriv',
    `--reuid=${user}`,
    `--regid=${security.runAsGroup ?? user}`,
    ...(fsGroup === undefined ? ['--clear-groups'] : [`--groups=${fsGroup}`]),
    ...(container.securityContext?.allowPrivilegeEscalation === false ? ['--no-new-privs'] : []),
    ...(container.securityContext?.capabilities?.drop?.includes('ALL') ? ['--inh-caps=-all', '--bounding-set=-all'] : []),
  ];

  const apiserver = new URL(cluster.apiserverUrl);
  // tsx stands in for the image's compiled dist/: without its cache it writes nothing, as the image's node does not.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, TSX_DISABLE_CACHE: '1', KUBERNETES_SERVICE_HOST: apiserver.hostname, KUBERNETES_SERVICE_PORT: apiserver.port };
  for (const variable of container.env ?? []) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (field === 'metadata.namespace') env[variable.name] = namespace;
    else assert.fail(`env ${variable.name}: a source this test cannot play the kubelet for`);
  }
  const local = (arg: string): string =>
    arg.startsWith('--etcd-servers=') ? `--etcd-servers=${cluster.serverEtcdEndpoint}` : arg.startsWith('--secure-port=') ? `--secure-port=${cluster.serverPort}` : arg;
  const argv = [process.execPath, '--import', 'tsx', join(repo, 'src/main.ts'), ...args.map(local), `--notebook-upstream-url=http://127.0.0.1:${(upstream.address() as { port: number }).port}`];

  // Overlays go on the nearest existing parents, outermost first; a mountPath that exists is mounted over as is.
  const parents = [...new Set(mounts.map((m) => m.target).filter((t) => !existsSync(t)).map((t) => {
    let parent = dirname(t);
    while (!existsSync(parent)) parent = dirname(parent);
    return realpathSync(parent);
  }))].sort((a, b) => a.length - b.length);
  const script = [
    'set -eu',
    `mount -t tmpfs -o mode=0755 tmpfs ${quote(stage)}`,
    `cp -a ${quote(join(root, 'volumes'))}/. ${quote(stage)}/`,
    `rm -r ${quote(join(root, 'volumes'))}`,
    ...parents.flatMap((parent, i) => {
      const layer = `${stage}/.overlay-${i}`;
      return [`mkdir -p ${quote(`${layer}/upper`)} ${quote(`${layer}/work`)}`, `mount -t overlay overlay -o ${quote(`lowerdir=${parent},upperdir=${layer}/upper,workdir=${layer}/work`)} ${quote(parent)}`];
    }),
    ...mounts.flatMap(({ volume, target, readOnly, writable }) => [
      ...(fsGroup === undefined ? [] : [`chgrp -R ${fsGroup} ${quote(`${stage}/${volume}`)}`]),
      ...(fsGroup !== undefined && writable ? [`chmod 2775 ${quote(`${stage}/${volume}`)}`] : []),
      `mkdir -p ${quote(target)}`,
      `mount --bind ${quote(`${stage}/${volume}`)} ${quote(target)}`,
      ...(readOnly ? [`mount -o remount,bind,ro ${quote(target)}`] : []),
    ]),
    ...(security.readOnlyRootFilesystem ? ['/', ...parents].map((m) => `mount -o remount,bind,ro ${quote(m)}`) : []),
    `exec ${[...setpriv, ...argv].map(quote).join(' ')}`,
  ].join('\n');
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const started = new Pod(child, stage, tokenVolume);

  // The kubelet's readiness probe, on the port the Service reaches: no credentials, no certificate check.
  const probe = container.readinessProbe?.httpGet ?? assert.fail('the container has no readinessProbe');
  const url = `${(probe.scheme ?? 'HTTP').toLowerCase()}://127.0.0.1:${cluster.serverPort}${probe.path}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = httpsRequest(url, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.end();
    });
    if (status === 200) break;
    if (started.exited) assert.fail(`the server exited:\n${started.logs().slice(-4000)}`);
    if (Date.now() > deadline) assert.fail(`${url} not ready in 2 minutes:\n${started.logs().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return started;
}

/** kube-proxy's part: the Service reaches the pod's port on loopback, and the APIService names that port. */
async function routeToPod(): Promise<void> {
  await cluster.ok('admin', ['delete', 'service', 'ai-apiserver', '-n', 'ai-system', '--ignore-not-found']);
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ai-apiserver', namespace: 'ai-system' }, spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port: cluster.serverPort }] } };
  await cluster.ok('admin', ['create', '-f', '-'], JSON.stringify(service));
  await cluster.ok('admin', ['patch', 'apiservice', 'v1alpha1.ai.example.io', '--type=merge', '-p', JSON.stringify({ spec: { service: { port: cluster.serverPort } } })]);
}

/** Waits until kube-apiserver serves the group from the pod: Available, discovery, and the OpenAPI kubectl validates with. */
async function waitServing(): Promise<void> {
  await cluster.waitAvailable(true, 120_000);
  for (const path of ['/apis/ai.example.io/v1alpha1', '/openapi/v3/apis/ai.example.io/v1alpha1']) {
    await eventually(() => cluster.kubectl('admin', ['get', '--raw', path]), (r) => r.code === 0, `${path} through kube-apiserver`);
  }
}

/**
 * Deletes what the installs made besides the namespace and RBAC, which the test bed shares (its Service and APIService
 * included), and the serving certificate's Secret: what a fresh cluster does not have.
 */
async function uninstall(): Promise<void> {
  const kept = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  for (const m of installed.filter((m) => !kept.has(m.kind))) {
    await cluster.ok('admin', ['delete', m.kind.toLowerCase(), m.metadata.name, ...(m.metadata.namespace ? ['-n', m.metadata.namespace] : []), '--ignore-not-found', '--wait=false']);
  }
  await cluster.ok('admin', ['delete', 'secret', 'ai-apiserver-tls', '-n', 'ai-system', '--ignore-not-found']);
}

/** Registers the test bed's server again, for the suites after this one. */
async function restoreTestBed(): Promise<void> {
  await uninstall();
  await cluster.register();
}

/** The shell blocks of the README's "Install in a cluster" section, line by line, without comments. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('### Install in a cluster');
  assert.ok(start >= 0, 'README has no "Install in a cluster" section');
  const end = readme.slice(start + 1).search(/\n##+ /);
  const section = end < 0 ? readme.slice(start) : readme.slice(start, start + 1 + end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));
}

let installing: Promise<{ ran: { line: string; stdout: string }[]; skipped: string[] }> | undefined;

/** deploy/ installed by the README's commands, with the pod started when they first wait for it. */
function installFromReadme(): Promise<{ ran: { line: string; stdout: string }[]; skipped: string[] }> {
  installing ??= (async () => {
    const checkout = join(work, 'checkout');
    for (const dir of ['deploy', 'apiservice']) cpSync(join(repo, dir), join(checkout, dir), { recursive: true });
    // The test bed's registration stands where deploy/ installs its own: a fresh cluster has neither.
    await cluster.ok('admin', ['delete', 'service', 'ai-apiserver', '-n', 'ai-system', '--ignore-not-found']);
    await cluster.ok('admin', ['delete', 'apiservice', 'v1alpha1.ai.example.io', '--ignore-not-found']);
    installed.push(...(await render(join(checkout, 'deploy'))));
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfig('admin'), HOME: join(cluster.dir, 'home', 'admin') };
    const ran: { line: string; stdout: string }[] = [];
    const skipped: string[] = [];
    for (const line of readmeCommands()) {
      if (imageStep.test(line)) {
        skipped.push(line);
        continue;
      }
      if (!pod && /^kubectl (wait|rollout status)\b/.test(line)) {
        pod = await startPod(await render(join(checkout, 'deploy')));
        await routeToPod();
      }
      const res = await run('bash', ['-c', line], { cwd: checkout, env });
      assert.equal(res.code, 0, `README line \`${line}\` failed (${res.code}):\n${res.stderr}\n${pod?.logs().slice(-3000) ?? ''}`);
      ran.push({ line, stdout: res.stdout });
    }
    assert.ok(pod, 'the README never waits for the installation to come up (kubectl wait or kubectl rollout status)');
    return { ran, skipped };
  })();
  return installing;
}

const nbPath = (name = '', sub = ''): string => `/apis/ai.example.io/v1alpha1/namespaces/${tenant}/notebooks${name ? `/${name}` : ''}${sub}`;

describe('deploy/ as the README installs it', () => {
  it('the README\'s commands install it and the server serves through kube-apiserver as its ServiceAccount', { timeout: 10 * 60_000 }, async () => {
    const { ran, skipped } = await installFromReadme();
    process.stderr.write(`# README image steps not run here: ${JSON.stringify(skipped)}\n`);
    const apply = ran.find((r) => /\bapply\b.*-k deploy\/?$/.test(r.line)) ?? assert.fail(`the README never applies deploy/: ${JSON.stringify(ran.map((r) => r.line))}`);
    assert.match(apply.stdout, /deployment\.apps\/ai-apiserver/);
    assert.ok(ran.some((r) => /^kubectl get (notebooks|nb)\b/.test(r.line)), 'the README ends by listing notebooks');
    const available = await cluster.ok('admin', ['get', 'apiservice', 'v1alpha1.ai.example.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
    assert.equal(available, 'True');
    // What the installation is: the objects as applied, read back from kube-apiserver.
    const template = (await getJson(['get', 'deployment', 'ai-apiserver', '-n', 'ai-system'])).spec.template.spec;
    assert.equal(template.serviceAccountName, 'ai-apiserver');
    // The server ran as the pod's user, on a read-only root.
    assert.match(pod!.proc('status'), new RegExp(`^Uid:\\t${template.securityContext.runAsUser}\\t`, 'm'));
    const root = pod!.proc('mountinfo').split('\n').map((line) => line.split(' ')).find((fields) => fields[4] === '/');
    assert.match(root?.[5] ?? '', /^ro\b/, JSON.stringify(root));
    await cluster.ok('admin', ['get', 'statefulset', 'etcd', '-n', 'ai-system']);
    await cluster.ok('admin', ['get', 'poddisruptionbudget', 'ai-apiserver', '-n', 'ai-system']);
    // The certificate path: the server made its serving certificate's Secret and put its CA in the APIService.
    const secret = await getJson(['get', 'secret', 'ai-apiserver-tls', '-n', 'ai-system']);
    const apiService = await getJson(['get', 'apiservice', 'v1alpha1.ai.example.io']);
    assert.equal(apiService.spec.caBundle, secret.data['ca.crt']);
  });

  it('every controller path, notebooks/proxy, jobs/logs, the Lease, delegated authentication and authorization and Events work with exactly deploy/\'s RBAC', { timeout: 10 * 60_000 }, async () => {
    await installFromReadme();
    const alice = (args: string[], input?: string): Promise<string> => cluster.ok('alice', ['-n', tenant, ...args], input);

    // The controllers run in this replica: it holds their Lease.
    const lease = await eventually(() => getJson(['get', 'lease', 'ai-apiserver-controllers', '-n', 'ai-system']), (l) => pod!.logs().includes(`"identity":"${l.spec?.holderIdentity}"`), 'the Lease held by this server');
    assert.ok(lease.spec.renewTime);

    // Notebook → PVC, Service, StatefulSet, and a status from the pod kwok runs; Events on the notebook.
    await alice(['apply', '-f', '-'], notebookYaml('lab'));
    await eventually(() => getJson(['get', 'ainb', 'lab', '-n', tenant]), (nb) => nb.status?.phase === 'Running', 'notebook lab Running');
    for (const child of ['statefulset/lab', 'service/lab', 'pvc/lab-workspace']) {
      assert.equal((await getJson(['get', child, '-n', tenant])).metadata.labels['app.kubernetes.io/managed-by'], 'ai-apiserver', child);
    }
    await eventually(() => getJson(['get', 'events', '-n', tenant, '--field-selector', 'involvedObject.name=lab']), (list) => list.items.some((e: any) => e.source?.component === 'ai-apiserver' && e.reason === 'Reconciled'), 'the controller\'s Event on lab');

    // notebooks/proxy, through the aggregator, to the notebook's stand-in.
    const proxied = JSON.parse(await alice(['get', '--raw', nbPath('lab', '/proxy/api/status')])) as { path: string };
    assert.equal(proxied.path, `${nbPath('lab', '/proxy')}/api/status`);

    // Job → batch Job and Service; jobs/logs reads each rank's pod log as the server.
    await alice(['apply', '-f', '-'], jobYaml('train', 2));
    await eventually(() => getJson(['get', 'job.batch', 'train', '-n', tenant]), (j) => j.spec.parallelism === 2, 'batch Job train');
    await cluster.ok('admin', ['get', 'service', 'train', '-n', tenant]);
    const pods = await eventually(
      () => getJson(['get', 'pods', '-n', tenant, '-l', 'ai.example.io/job=train']),
      (list) => list.items.filter((p: any) => p.spec?.nodeName).length === 2,
      'two scheduled rank pods',
    );
    for (const p of pods.items as { metadata: { name: string; annotations: Record<string, string> } }[]) {
      const rank = p.metadata.annotations['batch.kubernetes.io/job-completion-index'];
      const file = join(work, `${p.metadata.name}.log`);
      writeFileSync(file, `${new Date().toISOString().replace('Z', '000000Z')} stdout F hello from rank ${rank}\n`);
      await cluster.ok('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: { name: p.metadata.name, namespace: tenant }, spec: { logs: [{ containers: ['trainer'], logsFile: file }] } }));
      await eventually(() => cluster.kubectl('admin', ['logs', p.metadata.name, '-n', tenant]), (r) => r.code === 0, `kwok serving the log of ${p.metadata.name}`);
    }
    const logs = await alice(['get', '--raw', `/apis/ai.example.io/v1alpha1/namespaces/${tenant}/jobs/train/logs`]);
    assert.match(logs, /hello from rank 0/);
    assert.match(logs, /hello from rank 1/);

    // Dataset → PVC, and once it binds, the prefetch Job.
    await alice(['apply', '-f', '-'], `apiVersion: ai.example.io/v1alpha1
kind: Dataset
metadata:
  name: corpus
spec:
  source:
    uri: https://data.example.invalid/corpus.tar
  size: 1Gi
`);
    await eventually(() => getJson(['get', 'job.batch', 'corpus-prefetch', '-n', tenant]), (j) => j.metadata.labels['app.kubernetes.io/managed-by'] === 'ai-apiserver', 'the prefetch Job');
    assert.equal((await getJson(['get', 'pvc', 'corpus', '-n', tenant])).status.phase, 'Bound');
    // kwok completes the prefetch Job's pod at once: Ready may come before a read sees Loading.
    await eventually(() => getJson(['get', 'datasets', 'corpus', '-n', tenant]), (ds) => ['Loading', 'Ready'].includes(ds.status?.phase), 'dataset corpus Loading or Ready');

    // Namespace lifecycle: the server reads the namespace a create names.
    const missing = await cluster.kubectl('admin', ['apply', '-n', 'install-missing', '-f', '-'], notebookYaml('x'));
    assert.match(missing.stderr, /namespaces "install-missing" not found/);

    // Straight to the server with a bearer token: TokenReview, then SubjectAccessReview, as the server.
    const direct = (token: string): Promise<number> => cluster.direct(nbPath(), { authorization: `Bearer ${token}` }).then((a) => a.status);
    assert.equal(await direct('alice-token'), 200);
    assert.equal(await direct('bob-token'), 403);
    assert.equal(await direct('no-such-token'), 401);

    assert.doesNotMatch(pod!.logs(), refusedServer, 'kube-apiserver refused the server something');
  });

  it('a permission taken from the role fails its feature with kube-apiserver\'s refusal in the log and on the object, and it recovers when given back', { timeout: 10 * 60_000 }, async () => {
    await installFromReadme();
    const role = await getJson(['get', 'clusterrole', 'ai-apiserver']);
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const index = rules.findIndex((r) => r.apiGroups.includes('apps') && r.resources.includes('statefulsets'));
    assert.ok(index >= 0 && rules[index]!.verbs.includes('create'), JSON.stringify(rules));
    const without = rules[index]!.verbs.filter((v) => v !== 'create');
    const setVerbs = (verbs: string[]): Promise<string> =>
      cluster.ok('admin', ['patch', 'clusterrole', 'ai-apiserver', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: `/rules/${index}/verbs`, value: verbs }])]);
    await setVerbs(without);
    try {
      // What kube-apiserver answers the server's first apply of the StatefulSet now, asked as the server.
      const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'denied', namespace: tenant }, spec: { selector: { matchLabels: { a: 'b' } }, serviceName: 'denied', template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
      const refusal = await eventually(
        () => cluster.request('admin', 'PATCH', `/apis/apps/v1/namespaces/${tenant}/statefulsets/denied?fieldManager=ai-apiserver&force=true&dryRun=All`, JSON.stringify(sts), {
          'content-type': 'application/apply-patch+yaml',
          'impersonate-user': serverUser,
        }),
        (a) => a.status === 403,
        'kube-apiserver refusing the server a StatefulSet',
        30_000,
      );
      const expected = (JSON.parse(refusal.body) as { message: string }).message;
      assert.match(expected, /cannot create resource "statefulsets" in API group "apps"/);

      await cluster.ok('alice', ['apply', '-n', tenant, '-f', '-'], bareNotebook('denied'));
      const nb = await eventually(() => getJson(['get', 'ainb', 'denied', '-n', tenant]), (o) => o.status?.conditions?.some((c: any) => c.type === 'ChildFailure'), 'condition ChildFailure on notebook denied');
      const condition = (nb.status.conditions as { type: string; status: string; reason: string; message: string }[]).find((c) => c.type === 'ChildFailure')!;
      assert.deepEqual([condition.status, condition.reason, condition.message], ['True', 'Forbidden', expected]);
      const line = pod!.logs().split('\n').find((l) => l.includes('reconcile failed') && l.includes(JSON.stringify(expected).slice(1, -1)));
      assert.ok(line, `no log line with kube-apiserver's refusal:\n${pod!.logs().slice(-3000)}`);
      assert.equal(JSON.parse(line).key, `${tenant}/denied`);
      // The pattern the other tests find no refusal with does find this one.
      assert.match(line, refusedServer);
      assert.equal((await cluster.kubectl('admin', ['get', 'statefulset', 'denied', '-n', tenant])).code, 1);
    } finally {
      await setVerbs(rules[index]!.verbs);
    }
    const recovered = await eventually(() => getJson(['get', 'ainb', 'denied', '-n', tenant]), (o) => o.status?.phase === 'Running', 'notebook denied Running once the role has create again', 360_000);
    assert.ok(!recovered.status.conditions.some((c: any) => c.type === 'ChildFailure'), JSON.stringify(recovered.status.conditions));
  });

  it('the server re-reads its token file: after the kubelet swaps in a new token and the old one is revoked, it keeps working', { timeout: 10 * 60_000 }, async () => {
    await installFromReadme();
    // A pod of its own whose first token is bound to a Secret, so that deleting the Secret revokes it.
    await pod!.stop();
    await cluster.ok('admin', ['create', 'secret', 'generic', 'install-token-1', '-n', 'ai-system']);
    await cluster.ok('admin', ['create', 'secret', 'generic', 'install-token-2', '-n', 'ai-system']);
    try {
      const first = await requestToken('ai-system', 'ai-apiserver', 'install-token-1');
      pod = await startPod(await render(join(work, 'checkout', 'deploy')), first);
      await waitServing();
      await cluster.ok('alice', ['get', 'ainb', '-n', tenant]);
      await pod.rotateToken(await requestToken('ai-system', 'ai-apiserver', 'install-token-2'));
      await cluster.ok('admin', ['delete', 'secret', 'install-token-1', '-n', 'ai-system']);
      await eventually(
        () => httpsCall(`${cluster.apiserverUrl}/api`, { ca: cluster.caPem, headers: { authorization: `Bearer ${first}` } }),
        (answer) => answer.status === 401,
        'kube-apiserver refusing the first token',
      );
      // Until the server reads the new token, it cannot ask kube-apiserver whether alice may (503); then the
      // notebook's StatefulSet is written with it too.
      await eventually(() => cluster.kubectl('alice', ['apply', '-n', tenant, '-f', '-'], bareNotebook('after-rotation')), (r) => r.code === 0, 'alice\'s create authorized by the server', 240_000);
      await eventually(() => getJson(['get', 'ainb', 'after-rotation', '-n', tenant]), (nb) => nb.status?.phase === 'Running', 'a notebook reconciled after the rotation', 240_000);
    } finally {
      await cluster.kubectl('admin', ['delete', 'secret', 'install-token-1', 'install-token-2', '-n', 'ai-system', '--ignore-not-found']);
    }
  });
});

describe('deploy/single-replica/', () => {
  it('installs with server-side validation and serves from its claim, holding the embedded store\'s Lease, with exactly its RBAC', { timeout: 10 * 60_000 }, async () => {
    await pod?.stop();
    pod = undefined;
    // Installed after deploy/ (or the test bed) as on a fresh cluster: the two install the same Deployment,
    // Service and APIService, and cannot stand side by side.
    await uninstall();
    await cluster.ok('admin', ['delete', 'service', 'ai-apiserver', '-n', 'ai-system', '--ignore-not-found']);
    await cluster.ok('admin', ['delete', 'apiservice', 'v1alpha1.ai.example.io', '--ignore-not-found']);
    const manifests = await render(join(repo, 'deploy/single-replica'));
    installed.push(...manifests);
    await cluster.ok('admin', ['apply', '--server-side', '-k', join(repo, 'deploy/single-replica')]);
    pod = await startPod(manifests);
    await routeToPod();
    await waitServing();

    assert.match(pod.logs(), /sqlite/);
    const lease = await eventually(() => getJson(['get', 'lease', 'ai-apiserver-sqlite-store', '-n', 'ai-system']), (l) => pod!.logs().includes(`"identity":"${l.spec?.holderIdentity}"`), 'the embedded store\'s Lease held by this server');
    assert.ok(lease.spec.renewTime);
    await cluster.ok('alice', ['apply', '-n', tenant, '-f', '-'], bareNotebook('on-sqlite'));
    await eventually(() => getJson(['get', 'ainb', 'on-sqlite', '-n', tenant]), (nb) => nb.status?.phase === 'Running', 'notebook on-sqlite Running');
    assert.doesNotMatch(pod.logs(), refusedServer, 'kube-apiserver refused the server something');
  });
});
