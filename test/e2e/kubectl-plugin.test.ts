// kubectl-ai through kubectl's own plugin discovery: the package's bin, compiled as `npm run build` compiles it, on
// the PATH of kubectl, which finds it (`kubectl plugin list`) and runs it for `kubectl ai …` with the user's
// kubeconfig in its environment. Behind it the real control plane: kube-apiserver's RBAC, jobs/logs over kwok's pod
// logs, notebooks/proxy to a stand-in notebook server, and the plugin's local proxy in between.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, beforeEach, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { parse, stringify } from 'yaml';
import { notebookProxyPath } from '../../src/api/v1alpha1/annotations.js';
import { loadUserKubeConfig } from '../../src/plugin/kubeconfig.js';
import { startLocalProxy } from '../../src/plugin/local-proxy.js';
import type { LocalCluster, UserName } from '../support/cluster.js';
import { freePort } from '../support/etcd.js';
import { installPlugin } from '../support/kubectl-plugin.js';
import { eventually } from '../support/eventually.js';
import { criLine, rankPods, serveLogs } from '../support/kwok-logs.js';
import { jobYaml, notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const ns = 'plugin';
const work = mkdtempSync(join(tmpdir(), 'kubectl-plugin-'));
// Inside the repository, so the compiled plugin resolves its dependencies from node_modules as dist/ does.
const build = join(repo, '.local', `e2e-kubectl-plugin-${process.pid}`);
let bin = '';
let cluster: LocalCluster;
let notebookServer: Server | undefined;
const prefix = notebookProxyPath(ns, 'nb');

/** The stand-in notebook: says which path it was asked for, and echoes WebSocket messages, under NB_PREFIX. */
function startNotebook(port: number): Server {
  const server = createServer((req, res) => {
    res.writeHead(req.url?.startsWith(prefix) ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ notebook: true, method: req.method, path: req.url?.slice(prefix.length) }));
  });
  new WebSocketServer({ server }).on('connection', (socket) => socket.on('message', (data) => socket.send(`echo: ${data.toString()}`)));
  server.listen(port, '127.0.0.1');
  return server;
}

const env = (user: UserName, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${bin}:${process.env.PATH ?? ''}`,
  HOME: join(work, user),
  KUBECONFIG: cluster.kubeconfig(user),
  ...extra,
});

interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** kubectl as `user` (its kubeconfig in KUBECONFIG, which kubectl hands on to the plugin with the rest of its environment). */
function kubectl(user: UserName, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  mkdirSync(join(work, user), { recursive: true });
  return new Promise((resolve) => {
    execFile('kubectl', args, { env: env(user, extraEnv), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 }),
    );
  });
}

/** A long-running `kubectl ai …` whose output is collected as it comes. */
function start(user: UserName, args: string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  mkdirSync(join(work, user), { recursive: true });
  const child = spawn('kubectl', args, { env: env(user, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const waitFor = <T>(read: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> =>
  eventually(async () => read(), (value) => value !== undefined, what, timeoutMs, { everyMs: 50 }) as Promise<T>;

/** An HTTP request to the local proxy, with headers as a browser (or anything else) would send them. */
function local(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const bed = testBed({
  name: 'kubectl-plugin',
  async serverArgs() {
    const port = await freePort();
    notebookServer = startNotebook(port);
    return [`--notebook-upstream-url=http://127.0.0.1:${port}`, `--notebook-activity-url=http://127.0.0.1:${port}/none`];
  },
  namespaces: [ns],
  async setup(cluster) {
    await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', ns]);
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], jobYaml('train', 2));
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebookYaml('nb', { spec: '  idle:\n    timeoutSeconds: 3600\n' }));
    bin = await installPlugin(build);
  },
});
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await bed.stop();
  await new Promise((resolve) => (notebookServer ? notebookServer.close(resolve) : resolve(undefined)));
  rmSync(work, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

describe('kubectl ai, found by kubectl on PATH', () => {
  it('kubectl plugin list shows kubectl-ai, and kubectl ai runs it', async () => {
    const list = await kubectl('alice', ['plugin', 'list']);
    assert.ok(list.stdout.split('\n').includes(join(bin, 'kubectl-ai')), `${list.stdout}${list.stderr}`);
    const help = await kubectl('alice', ['ai', '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ['open', 'logs', 'status']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
  });

  it('kubectl ai status: the namespace\'s jobs with replicas and progress, and its notebooks', async () => {
    await cluster.ok('admin', ['patch', 'aijob', 'train', '-n', ns, '--subresource=progress', '--type=merge', '-p', '{"step":120,"totalSteps":1000}']);
    const shown = await eventually(
      () => kubectl('alice', ['ai', 'status', '-n', ns]),
      (run) => run.code === 0 && /^train\s+\S+\s+2\/2\s+-\s+120\/1000 12%\s+-\s+\S+$/m.test(run.stdout),
      'kubectl ai status shows job train with its 2 workers and progress',
    );
    assert.match(shown.stdout, /^JOB\s+PHASE\s+REPLICAS\s+QUEUE\s+PROGRESS\s+ETA\s+AGE$/m);
    assert.match(shown.stdout, /^NOTEBOOK\s+STATE\s+IDLE\s+AGE$/m);
    assert.match(shown.stdout, /^nb\s+(Pending|Running)\s+\S+( of 60m)?\s+\S+$/m);
    const all = await kubectl('alice', ['ai', 'status', '-A']);
    // alice may list jobs only where she has a role: -A is refused as `kubectl get aijob -A` is.
    const kubectlAll = await kubectl('alice', ['get', 'aijob', '-A']);
    assert.equal(all.code, 1);
    assert.equal(all.stderr, kubectlAll.stderr);
    const admin = await kubectl('admin', ['ai', 'status', '--all-namespaces']);
    assert.equal(admin.code, 0, admin.stderr);
    assert.match(admin.stdout, /^NAMESPACE\s+JOB\s+PHASE/m);
    assert.match(admin.stdout, new RegExp(`^${ns}\\s+train\\s+`, 'm'));
  });

  it('the kubeconfig as kubectl takes it: KUBECONFIG\'s files, --kubeconfig, --context and the context\'s namespace', async () => {
    const config = parse(readFileSync(cluster.kubeconfig('alice'), 'utf8')) as { contexts: { name: string; context: Record<string, string> }[] };
    config.contexts.push({ name: 'alice-in-plugin', context: { ...config.contexts[0]!.context, namespace: ns } });
    const file = join(work, 'two-contexts.kubeconfig');
    writeFileSync(file, stringify(config), { mode: 0o600 });
    const byContext = await kubectl('alice', ['ai', 'status', '--context', 'alice-in-plugin'], { KUBECONFIG: file });
    assert.match(byContext.stdout, /^train\s+/m, byContext.stderr);
    // The current context's namespace, "default", where alice has no role.
    const current = await kubectl('alice', ['ai', 'status'], { KUBECONFIG: file });
    assert.equal(current.code, 1);
    assert.equal(current.stderr, (await kubectl('alice', ['get', 'aijob'], { KUBECONFIG: file })).stderr);
    assert.match(current.stderr, /in the namespace "default"/);
    const empty = await kubectl('admin', ['ai', 'status']);
    assert.equal(empty.stdout, 'No jobs found in default namespace.\n\nNo notebooks found in default namespace.\n', empty.stderr);
    const byFlag = await kubectl('carol', ['ai', '--kubeconfig', file, '--context', 'alice-in-plugin', 'status']);
    assert.match(byFlag.stdout, /^train\s+/m, byFlag.stderr);
    const missing = await kubectl('alice', ['ai', 'status', '--context', 'nope'], { KUBECONFIG: file });
    const kubectlMissing = await kubectl('alice', ['get', 'aijob', '--context', 'nope'], { KUBECONFIG: file });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, kubectlMissing.stderr);
  });

  it('kubectl ai logs: every rank merged and prefixed; --rank, --tail and -f', async () => {
    const pods = await rankPods(cluster, ns, 'train', 2);
    await serveLogs(cluster, ns, work, pods, (rank) => [`rank ${rank} starting`, `rank ${rank} epoch 1`]);
    const all = await kubectl('alice', ['ai', 'logs', 'train', '-n', ns]);
    assert.equal(all.stdout, '[rank 0] rank 0 starting\n[rank 0] rank 0 epoch 1\n[rank 1] rank 1 starting\n[rank 1] rank 1 epoch 1\n', all.stderr);
    assert.equal((await kubectl('alice', ['ai', 'logs', 'train', '-n', ns, '--rank', '1', '--tail', '1'])).stdout, '[rank 1] rank 1 epoch 1\n');
    const following = start('alice', ['ai', 'logs', 'train', '-n', ns, '-f', '--rank=0']);
    try {
      await waitFor(() => (following.output().includes('[rank 0] rank 0 epoch 1\n') || undefined), 'the followed log\'s first lines');
      // Written only once the stream has sent what was there: it can only arrive by following.
      appendFileSync(join(work, `${pods.find((p) => p.rank === '0')!.name}.log`), criLine('rank 0 epoch 2'));
      await waitFor(() => (following.output().includes('[rank 0] rank 0 epoch 2\n') || undefined), 'a line appended to rank 0\'s log');
    } finally {
      following.child.kill('SIGINT');
    }
    assert.notEqual(await following.exited, 0, 'Ctrl-C ends a followed log');
  });

  it('kubectl ai open: the printed URL reaches the notebook through the local proxy, WebSockets too, and nothing else of the API', async () => {
    // alice's credentials from an exec plugin, as cloud providers' kubeconfigs give them: the kubeconfig holds no token.
    const plugin = join(work, 'alice-credential');
    const expires = new Date(Date.now() + 3600_000).toISOString();
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"alice-token","expirationTimestamp":"${expires}"}}'\n`, { mode: 0o755 });
    const config = parse(readFileSync(cluster.kubeconfig('alice'), 'utf8')) as { users: { user: Record<string, unknown> }[] };
    config.users[0]!.user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } };
    const execConfig = join(work, 'exec.kubeconfig');
    writeFileSync(execConfig, stringify(config), { mode: 0o600 });
    const open = start('alice', ['ai', 'open', 'nb', '-n', ns], { KUBECONFIG: execConfig });
    try {
      const url = await waitFor(() => /on (http:\/\/127\.0\.0\.1:\d+\S*) /.exec(open.output())?.[1], 'the URL kubectl ai open prints');
      const origin = new URL(url).origin;
      assert.equal(new URL(url).pathname, `${prefix}/`);
      const page = await local(`${url}lab?reset=1`);
      assert.equal(page.status, 200, page.body);
      assert.deepEqual(JSON.parse(page.body), { notebook: true, method: 'GET', path: '/lab?reset=1' });

      const ws = new WebSocket(`${url.replace('http:', 'ws:')}api/kernels/k1/channels`, { origin });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
      ws.send('execute_request');
      assert.equal(await reply, 'echo: execute_request');
      ws.close();

      // The notebook's pages run on the proxy's origin: the rest of the API is not theirs to reach with alice's
      // credentials, by any path.
      const secrets = await local(`${origin}/api/v1/namespaces/${ns}/secrets`);
      assert.equal(secrets.status, 403, secrets.body);
      assert.match(JSON.parse(secrets.body).message, new RegExp(`serves only ${prefix}$`));
      const climbed = await new Promise<number>((resolve, reject) =>
        httpRequest({ host: '127.0.0.1', port: new URL(url).port, path: `${prefix}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/api/v1/namespaces/${ns}/secrets` }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end(),
      );
      assert.equal(climbed, 403);

      // What a web page elsewhere, or a name rebound to 127.0.0.1, sends: refused before it reaches kube-apiserver.
      const crossSite = await local(`${url}api/contents`, { origin: 'https://evil.example' }, 'POST');
      assert.equal(crossSite.status, 403, crossSite.body);
      const rebound = await local(`${url}lab`, { host: `evil.example:${new URL(url).port}` });
      assert.equal(rebound.status, 403, rebound.body);
      const foreignSocket = new WebSocket(`${url.replace('http:', 'ws:')}api/kernels/k1/channels`, { origin: 'https://evil.example' });
      const refused = await new Promise<number>((resolve) => foreignSocket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('open', () => resolve(101)));
      assert.equal(refused, 403);
    } finally {
      open.child.kill('SIGINT');
    }
    assert.equal(await open.exited, 0, open.output());
  });

  it('the local proxy as a web UI uses it: a watch streams through, files are served beside the API, close() ends streams', async () => {
    const site = join(work, 'site');
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>ui</title>');
    const proxy = await startLocalProxy({ kubeConfig: loadUserKubeConfig({ kubeconfig: cluster.kubeconfig('alice') }).kubeConfig, staticRoot: site });
    try {
      const page = await local(`${proxy.url}/`);
      assert.equal(page.status, 200);
      assert.equal(page.body, '<!doctype html><title>ui</title>');
      const nodes = await local(`${proxy.url}/api/v1/nodes`);
      assert.equal(nodes.status, 403, nodes.body);
      assert.match(JSON.parse(nodes.body).message, /^nodes is forbidden: User "alice" cannot list resource "nodes"/, 'kube-apiserver\'s RBAC answers, for alice');
      const events: string[] = [];
      const watch = httpRequest(`${proxy.url}/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks?watch=true&fieldSelector=metadata.name%3Dnb`);
      const closed = new Promise<void>((resolve) => watch.on('close', resolve));
      watch.on('response', (res) => res.setEncoding('utf8').on('data', (chunk: string) => events.push(chunk)));
      watch.on('error', () => undefined);
      watch.end();
      await waitFor(() => (events.join('').includes('"type":"ADDED"') || undefined), 'the watch\'s ADDED event');
      await cluster.ok('admin', ['label', 'ainb', 'nb', '-n', ns, 'seen=yes']);
      await waitFor(() => (events.join('').includes('"seen":"yes"') || undefined), 'the watch\'s MODIFIED event');
      await proxy.close();
      await closed;
    } finally {
      await proxy.close();
    }
  });

  it('without RBAC, and for what does not exist, the plugin fails with kube\'s own message, as kubectl does', async () => {
    const cases: { plugin: string[]; kubectl: string[] }[] = [
      { plugin: ['ai', 'status', '-n', ns], kubectl: ['get', 'aijob', '-n', ns] },
      { plugin: ['ai', 'open', 'nb', '-n', ns], kubectl: ['get', 'notebook', 'nb', '-n', ns] },
      { plugin: ['ai', 'logs', 'train', '-n', ns], kubectl: ['get', '--raw', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/jobs/train/logs`] },
    ];
    for (const c of cases) {
      const plugin = await kubectl('carol', c.plugin);
      const own = await kubectl('carol', c.kubectl);
      assert.equal(plugin.code, 1, `${c.plugin.join(' ')}: ${plugin.stdout}`);
      assert.match(plugin.stderr, /^Error from server \(Forbidden\): .* User "carol" cannot /);
      assert.equal(plugin.stderr, own.stderr, c.plugin.join(' '));
    }
    const missing = await kubectl('alice', ['ai', 'open', 'nope', '-n', ns]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, (await kubectl('alice', ['get', 'notebook', 'nope', '-n', ns])).stderr);
  });
});
