// notebooks/proxy for real: a test HTTP server plays the notebook (reached through --notebook-upstream-url), and
// every request goes client → kube-apiserver's aggregator → this server → the notebook and back: plain requests,
// bodies, a streamed answer, a WebSocket echo, `kubectl proxy`, and tenants' RBAC on the proxy subresource.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, beforeEach, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { lastActivityAnnotation, notebookProxyPath } from '../../src/api/v1alpha1/annotations.js';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';
import { freePort } from '../support/etcd.js';
import { notebookYaml } from '../support/manifests.js';

const ns = 'proxy-a';
/** A namespace alice has no role in. */
const other = 'proxy-b';
let cluster: LocalCluster;
let notebookServer: Server | undefined;
let release: (() => void) | undefined;
const seen: { path: string; headers: IncomingMessage['headers'] }[] = [];
const prefix = notebookProxyPath(ns, 'nb');

/** The stand-in notebook: echoes, streams in two parts, and echoes WebSocket messages, all under NB_PREFIX. */
function startNotebook(port: number): Server {
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (!req.url?.startsWith(prefix)) {
      res.writeHead(404).end('not under NB_PREFIX');
      return;
    }
    const path = req.url.slice(prefix.length);
    if (path.startsWith('/stream')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      release = () => res.end('second\n');
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(path === '/missing' ? 404 : 200, { 'content-type': 'application/json', 'x-notebook': 'yes' });
      res.end(JSON.stringify({ method: req.method, path, body, contentType: req.headers['content-type'] ?? null }));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    socket.on('message', (data, binary) => socket.send(binary ? data : `echo ${req.url?.slice(prefix.length)}: ${data.toString()}`, { binary }));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

const bed = testBed({
  name: 'notebook-proxy',
  async serverArgs() {
    const port = await freePort();
    notebookServer = startNotebook(port);
    return [`--notebook-upstream-url=http://127.0.0.1:${port}`, `--notebook-activity-url=http://127.0.0.1:${port}/none`];
  },
  namespaces: [ns, other],
  async setup(cluster) {
    await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', ns]);
    await cluster.ok('admin', ['create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob', '-n', ns]);
    await cluster.ok('admin', ['create', 'role', 'nb-reader', '--verb=get,list', '--resource=notebooks.ai.example.io', '-n', ns]);
    await cluster.ok('admin', ['create', 'rolebinding', 'carol-reader', '--role=nb-reader', '--user=carol', '-n', ns]);
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebookYaml('nb', { spec: '  idle:\n    timeoutSeconds: 3600\n' }));
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebookYaml('sleeping', { spec: '  stopped: true\n' }));
  },
});
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await bed.stop();
  await new Promise((resolve) => (notebookServer ? notebookServer.close(resolve) : resolve(undefined)));
});

const proxied = (path: string, name = 'nb'): string => `${notebookProxyPath(ns, name)}${path}`;

describe('notebooks/proxy through kube-apiserver', () => {
  it('GET, POST with a body and query pass through; credentials and identity headers do not', async () => {
    const get = await cluster.request('alice', 'GET', proxied('/lab?token=x&b=2'));
    assert.equal(get.status, 200, get.body);
    // kube-apiserver's aggregator re-encodes the query (keys sorted) before it reaches this server.
    assert.deepEqual(JSON.parse(get.body), { method: 'GET', path: '/lab?b=2&token=x', body: '', contentType: null });
    const forwarded = seen.at(-1)!.headers;
    for (const header of Object.keys(forwarded)) assert.ok(!/^(authorization|x-remote-|impersonate-)/.test(header), `${header} was forwarded`);
    const post = await cluster.request('alice', 'POST', proxied('/api/contents'), '{"type":"notebook"}', { 'content-type': 'application/json' });
    assert.equal(post.status, 200, post.body);
    assert.deepEqual(JSON.parse(post.body), { method: 'POST', path: '/api/contents', body: '{"type":"notebook"}', contentType: 'application/json' });
    const text = await cluster.request('alice', 'PUT', proxied('/files/a.txt'), 'plain words', { 'content-type': 'text/x-anything' });
    assert.equal(JSON.parse(text.body).body, 'plain words');
    const missing = await cluster.request('alice', 'GET', proxied('/missing'));
    assert.equal(missing.status, 404, 'the notebook\'s own status codes come back as they are');
  });

  it('a streamed answer arrives as it is written', async () => {
    const url = new URL(proxied('/stream'), cluster.apiserverUrl);
    const chunks: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = requestAs('alice', url, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          chunks.push(chunk);
          // The second part is only written once the first has reached the client.
          if (chunks.join('') === 'first\n') release?.();
        });
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(chunks.join(''), 'first\nsecond\n');
  });

  it('a WebSocket (Jupyter kernel channel) echoes through kube-apiserver', async () => {
    const ws = new WebSocket(`${cluster.apiserverUrl.replace('https', 'wss')}${proxied('/api/kernels/k1/channels')}`, {
      ca: cluster.caPem,
      headers: { authorization: 'Bearer alice-token' },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
    ws.send('execute_request');
    assert.equal(await reply, 'echo /api/kernels/k1/channels: execute_request');
    const binary = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.deepEqual([...(await binary)], [1, 2, 3]);
    ws.close();
  });

  it('RBAC: edit in the namespace may proxy; view, no role, or get-only on notebooks may not', async () => {
    assert.equal((await cluster.request('alice', 'GET', proxied('/lab'))).status, 200);
    for (const user of ['bob', 'carol'] as const) {
      const res = await cluster.request(user, 'GET', proxied('/lab'));
      assert.equal(res.status, 403, `${user}: ${res.body}`);
      assert.match(JSON.parse(res.body).message, new RegExp(`User "${user}" cannot get resource "notebooks/proxy" in API group "ai.example.io" in the namespace "${ns}"`));
    }
    assert.equal((await cluster.request('carol', 'GET', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks/nb`)).status, 200, 'carol may read the notebook');
    const ws = new WebSocket(`${cluster.apiserverUrl.replace('https', 'wss')}${proxied('/api/kernels/k1/channels')}`, {
      ca: cluster.caPem,
      headers: { authorization: 'Bearer carol-token' },
    });
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 403);
  });

  it('a missing notebook is 404, a stopped one 503, each with a Status that says so', async () => {
    const missing = await cluster.request('alice', 'GET', proxied('/lab', 'nope'));
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).message, 'notebooks.ai.example.io "nope" not found');
    const stopped = await cluster.request('alice', 'GET', proxied('/lab', 'sleeping'));
    assert.equal(stopped.status, 503);
    assert.deepEqual([JSON.parse(stopped.body).kind, JSON.parse(stopped.body).reason], ['Status', 'ServiceUnavailable']);
    assert.match(JSON.parse(stopped.body).message, /notebook "sleeping" in namespace "proxy-a" is stopped/);
  });

  it('`kubectl proxy` then a browser-like GET and a WebSocket at 127.0.0.1 reach the notebook', async () => {
    const proxy: ChildProcess = spawn('kubectl', ['--kubeconfig', cluster.kubeconfig('alice'), 'proxy', '--port=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        proxy.stdout!.on('data', (d: Buffer) => {
          const match = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(d.toString());
          if (match) resolve(Number(match[1]));
        });
        proxy.once('exit', (code) => reject(new Error(`kubectl proxy exited with ${code}`)));
      });
      const res = await fetch(`http://127.0.0.1:${port}${proxied('/lab')}`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { path: string }).path, '/lab');
      const ws = new WebSocket(`ws://127.0.0.1:${port}${proxied('/api/kernels/k2/channels')}`);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
      ws.send('hello');
      assert.equal(await reply, 'echo /api/kernels/k2/channels: hello');
      ws.close();
    } finally {
      proxy.kill();
    }
  });

  it('proxy traffic is notebook activity: the notebook is stamped and the culler counts it', async () => {
    await cluster.request('alice', 'GET', proxied('/lab'));
    const deadline = Date.now() + 90_000;
    for (;;) {
      const nb = JSON.parse(await cluster.ok('admin', ['get', 'ainb', 'nb', '-n', ns, '-o', 'json'])) as {
        metadata: { annotations?: Record<string, string> };
        status?: { lastActivityTime?: string };
      };
      const stamp = nb.metadata.annotations?.[lastActivityAnnotation];
      // Jupyter's own activity is unreadable here (404), so the last activity the controller sees is the proxy's.
      if (stamp && nb.status?.lastActivityTime === stamp) {
        assert.ok(Math.abs(Date.parse(stamp) - Date.now()) < 120_000, stamp);
        return;
      }
      if (Date.now() > deadline) assert.fail(`no activity recorded: stamp ${stamp}, status ${JSON.stringify(nb.status)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});

function requestAs(user: 'alice', url: URL, onResponse: (res: IncomingMessage) => void) {
  return httpsRequest(url, { ca: cluster.caPem, headers: { authorization: `Bearer ${user}-token` } }, onResponse);
}
