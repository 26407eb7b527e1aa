// HTTP/2 by ALPN beside HTTP/1.1, on the real server process and a real etcd: a node:http2 client negotiates h2 and
// runs GETs, LISTs, creates and several watches as concurrent streams of ONE connection (each event arrives before
// the next write, so nothing waits in a buffer); a stream the client resets ends its watch and leaves the others;
// the seats of --max-mutating-requests-inflight count streams, so one connection's streams get the 429 that as many
// connections would; notebooks/proxy over HTTP/2; and HTTP/1.1 clients and WebSocket upgrades as before.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort } from '../support/etcd.js';
import { until } from '../support/eventually.js';
import { startServer, type ServerProcess } from '../support/server.js';

const base = '/apis/ai.example.io/v1alpha1';
const ns = 'h2';

let server: ServerProcess;
let upstream: Server;
let session: ClientHttp2Session;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request as a stream of the suite's one connection (or of `on`), read to its end. */
function h2(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string>; on?: ClientHttp2Session } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = (options.on ?? session).request({
      ':method': method,
      ':path': path,
      authorization: `Bearer ${options.token ?? server.token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    });
    let headers: IncomingHttpHeaders = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (headers = h));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    stream.on('error', reject);
    stream.end(options.body === undefined ? undefined : JSON.stringify(options.body));
  });
}

async function metric(series: string): Promise<number> {
  const res = await h2('GET', '/metrics');
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

function notebook(name: string): unknown {
  return {
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name },
    spec: { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook' }] } } },
  };
}

interface Watch {
  stream: ClientHttp2Stream;
  /** Names of the objects ADDED so far, in order. */
  added: string[];
  /** Every line so far, as sent. */
  lines: string[];
}

/** A watch as one stream of the shared session, once its headers are in. */
function watch(path: string): Promise<Watch> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path, authorization: `Bearer ${server.token}` });
    const w: Watch = { stream, added: [], lines: [] };
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200) reject(new Error(`watch ${path}: ${headers[':status']}`));
      else resolve(w);
    });
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        w.lines.push(line);
        const event = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
        if (event.type === 'ADDED') w.added.push(event.object.metadata.name);
      }
    });
    stream.on('error', () => undefined);
    stream.end();
  });
}

before(async () => {
  // The stand-in notebook: echoes the request it was given, and WebSocket messages.
  const port = await freePort();
  upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'keep-alive': 'timeout=5' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  new WebSocketServer({ server: upstream }).on('connection', (socket) => socket.on('message', (data) => socket.send(`echo: ${data.toString()}`)));
  await new Promise<void>((resolve) => upstream.listen(port, '127.0.0.1', resolve));
  server = await startServer({
    extraArgs: [
      `--notebook-upstream-url=http://127.0.0.1:${port}`,
      `--notebook-activity-url=http://127.0.0.1:${port}/none`,
      '--max-mutating-requests-inflight=1',
      '--enable-priority-and-fairness=false',
      '--request-timeout=15s',
      '--shutdown-delay-duration=3',
      // One process: the shutdown test counts one server's GOAWAYs and 429s; test/e2e/workers.test.ts stops several.
      '--workers=1',
      '--enable-http2-serving',
    ],
  });
  // Node's client refuses to send more than 64,000 bytes of headers; the suite sends more to see the server refuse.
  session = http2Connect(server.url, { rejectUnauthorized: false, maxSendHeaderBlockLength: 1 << 20 });
  await new Promise<void>((resolve, reject) => session.once('remoteSettings', () => resolve()).once('error', reject));
});

after(async () => {
  session?.close();
  await server?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe('HTTP/2', () => {
  it('is what ALPN chooses for a client that offers it, with kube-apiserver\'s 100 streams per connection', () => {
    assert.equal(session.alpnProtocol, 'h2');
    assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
    assert.equal(session.remoteSettings.maxHeaderListSize, 64 * 1024);
  });

  it('serves creates, GETs and LISTs as streams of one connection', async () => {
    const created = await Promise.all(['a', 'b', 'c'].map((name) => h2('POST', `${base}/namespaces/${ns}/notebooks`, { body: notebook(name) })));
    for (const res of created) assert.equal(res.status, 201, res.body);
    const got = await h2('GET', `${base}/namespaces/${ns}/notebooks/b`);
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(got.body) as { metadata: { name: string } }).metadata.name, 'b');
    const list = await h2('GET', `${base}/namespaces/${ns}/notebooks`);
    assert.deepEqual((JSON.parse(list.body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name), ['a', 'b', 'c']);
    // A selector of thousands of terms fits in the 64 KiB of headers announced.
    const selector = Array.from({ length: 6_000 }, (_, i) => `k${i}=v`).join(',');
    const selected = await h2('GET', `${base}/namespaces/${ns}/notebooks?labelSelector=${selector}`);
    assert.equal(selected.status, 200, selected.body.slice(0, 500));
    assert.deepEqual((JSON.parse(selected.body) as { items: unknown[] }).items, []);
    // More than announced resets that stream alone: the connection's other streams go on.
    await assert.rejects(h2('GET', `${base}/namespaces/${ns}/notebooks`, { headers: { 'x-a': 'a'.repeat(40_000), 'x-b': 'b'.repeat(40_000) } }), { code: 'ERR_HTTP2_STREAM_ERROR' });
    assert.equal((await h2('GET', `${base}/namespaces/${ns}/notebooks/b`)).status, 200);
    // A Status is a Status on either protocol.
    const missing = await h2('GET', `${base}/namespaces/${ns}/notebooks/none`);
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { reason: string }).reason, 'NotFound');
  });

  it('delivers every event to watches on several concurrent streams of one connection, and a reset stream ends only its watch', async () => {
    const list = JSON.parse((await h2('GET', `${base}/namespaces/${ns}/notebooks`)).body) as { metadata: { resourceVersion: string } };
    const watchesBefore = await metric('apiserver_longrunning_requests{verb="watch",resource="notebooks",subresource=""}');
    const watches = await Promise.all(Array.from({ length: 6 }, () => watch(`${base}/namespaces/${ns}/notebooks?watch=true&resourceVersion=${list.metadata.resourceVersion}`)));
    assert.equal(await metric('apiserver_longrunning_requests{verb="watch",resource="notebooks",subresource=""}'), watchesBefore + 6);
    // Each event must reach every watch before the next write: an event held in a buffer fails the wait.
    for (const name of ['w1', 'w2', 'w3']) {
      assert.equal((await h2('POST', `${base}/namespaces/${ns}/notebooks`, { body: notebook(name) })).status, 201);
      await until(() => watches.every((w) => w.added.at(-1) === name), `every watch to see ${name}`, 30_000);
    }
    const [reset, ...rest] = watches;
    reset!.stream.close(constants.NGHTTP2_CANCEL);
    await until(async () => (await metric('apiserver_longrunning_requests{verb="watch",resource="notebooks",subresource=""}')) === watchesBefore + 5, 'the reset watch to end on the server', 30_000, { everyMs: 100 });
    assert.equal((await h2('POST', `${base}/namespaces/${ns}/notebooks`, { body: notebook('w4') })).status, 201);
    await until(() => rest.every((w) => w.added.at(-1) === 'w4'), 'the other watches to see w4', 30_000);
    assert.deepEqual(reset!.added, ['w1', 'w2', 'w3']);
    for (const w of rest) w.stream.close(constants.NGHTTP2_CANCEL);
    await until(async () => (await metric('apiserver_longrunning_requests{verb="watch",resource="notebooks",subresource=""}')) === watchesBefore, 'every watch to end', 30_000, { everyMs: 100 });
    // Everything so far came on the one connection this suite opened.
    assert.equal(await metric('ai_apiserver_http_connections_total{protocol="h2"}'), 1);
    assert.equal(await metric('ai_apiserver_http_open_connections{protocol="h2"}'), 1);
    assert.doesNotMatch(server.logs(), /watch stream failed|request failed|UnsupportedWarning|ERR_HTTP2/);
  });

  it('writes an event as the same bytes to every watch that sees it alike, and a selector\'s watch its own ADDED and DELETED', async () => {
    const list = JSON.parse((await h2('GET', `${base}/namespaces/${ns}/notebooks`)).body) as { metadata: { resourceVersion: string } };
    const from = `${base}/namespaces/${ns}/notebooks?watch=true&resourceVersion=${list.metadata.resourceVersion}`;
    const [plain, other, selected] = await Promise.all([watch(from), watch(from), watch(`${from}&labelSelector=sel%3Dyes`)]);
    const path = `${base}/namespaces/${ns}/notebooks/fan`;
    const mergePatch = { 'content-type': 'application/merge-patch+json' };
    const labelled = notebook('fan') as { metadata: Record<string, unknown> };
    labelled.metadata.labels = { sel: 'yes' };
    assert.equal((await h2('POST', `${base}/namespaces/${ns}/notebooks`, { body: labelled })).status, 201);
    // Out of the selector's set and back in: the selector's watch sees DELETED, then ADDED, where the others see MODIFIED.
    assert.equal((await h2('PATCH', path, { body: { metadata: { labels: { sel: 'no' } } }, headers: mergePatch })).status, 200);
    assert.equal((await h2('PATCH', path, { body: { metadata: { labels: { sel: 'yes' } } }, headers: mergePatch })).status, 200);
    assert.equal((await h2('DELETE', path)).status, 200);
    // A watch from the same revision opened after the writes is served them from the cache's history.
    const late = await watch(from);
    const streams = [plain, other, selected, late];
    await until(() => streams.every((w) => w.lines.length >= 4), 'every watch to see four events', 30_000);
    type Event = { type: string; object: { metadata: { resourceVersion: string } } };
    const parsed = (w: Watch): Event[] => w.lines.map((line) => JSON.parse(line) as Event);
    assert.deepEqual(parsed(plain).map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    assert.deepEqual(parsed(selected).map((e) => e.type), ['ADDED', 'DELETED', 'ADDED', 'DELETED']);
    assert.deepEqual(other.lines, plain.lines);
    assert.deepEqual(late.lines, plain.lines);
    // Where the selector's watch sees the same state under another type, only the type differs, byte for byte.
    assert.equal(selected.lines[0], plain.lines[0]);
    assert.equal(selected.lines[2], plain.lines[2]!.replace('{"type":"MODIFIED",', '{"type":"ADDED",'));
    assert.equal(selected.lines[3], plain.lines[3]);
    // Leaving the set, it is sent the state it last saw (labelled sel=yes) at the revision of the change, as kube's cacher does.
    const [created, relabelled] = parsed(plain);
    const left = parsed(selected)[1]!;
    assert.deepEqual(left.object, { ...created!.object, metadata: { ...created!.object.metadata, resourceVersion: relabelled!.object.metadata.resourceVersion } });
    for (const w of streams) w.stream.close(constants.NGHTTP2_CANCEL);
  });

  it('gives the streams of one connection the seats and 429s that as many connections would get', async () => {
    const { alice, bob } = server.tenants;
    // An upload that never finishes holds the one mutating seat, as an HTTP/1.1 upload does.
    const upload = session.request({ ':method': 'POST', ':path': `${base}/namespaces/${ns}/notebooks`, authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'content-length': '100000' });
    upload.on('error', () => undefined);
    upload.write('{');
    try {
      await until(async () => (await metric('apiserver_current_inflight_requests{request_kind="mutating"}')) === 1, 'the upload to take the mutating seat', 30_000, { everyMs: 50 });
      const refused = await h2('POST', `${base}/namespaces/${ns}/notebooks`, { token: bob, body: notebook('refused') });
      assert.equal(refused.status, 429, refused.body);
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal((JSON.parse(refused.body) as { reason: string }).reason, 'TooManyRequests');
      // Reads have their own seats, and the connection carries them meanwhile.
      assert.equal((await h2('GET', `${base}/namespaces/${ns}/notebooks/a`, { token: bob })).status, 200);
    } finally {
      upload.close(constants.NGHTTP2_CANCEL);
    }
    await until(async () => (await metric('apiserver_current_inflight_requests{request_kind="mutating"}')) === 0, 'the seat to be given back', 30_000, { everyMs: 50 });
    assert.equal((await h2('POST', `${base}/namespaces/${ns}/notebooks`, { token: server.token, body: notebook('after') })).status, 201);
    assert.equal(session.closed, false);
  });

  it('answers an upload cut by --request-timeout with its 504, then resets that stream alone with NO_ERROR', async () => {
    const upload = session.request({ ':method': 'POST', ':path': `${base}/namespaces/${ns}/notebooks`, authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': '100000' });
    upload.write('{');
    const answer = await new Promise<{ status: number; body: string; rstCode: number | undefined }>((resolve, reject) => {
      let status = 0;
      let body = '';
      upload.setEncoding('utf8');
      upload.on('response', (headers) => (status = Number(headers[':status'])));
      upload.on('data', (chunk: string) => (body += chunk));
      upload.on('close', () => resolve({ status, body, rstCode: upload.rstCode }));
      upload.on('error', reject);
    });
    assert.equal(answer.status, 504);
    assert.equal((JSON.parse(answer.body) as { reason: string }).reason, 'Timeout');
    assert.equal(answer.rstCode, constants.NGHTTP2_NO_ERROR);
    assert.equal((await h2('GET', `${base}/namespaces/${ns}/notebooks/a`)).status, 200);
  });

  it('proxies notebooks/proxy requests without HTTP/2\'s pseudo-headers or the caller\'s credentials', async () => {
    const res = await h2('POST', `${base}/namespaces/${ns}/notebooks/a/proxy/api/contents?x=1`, { body: { hello: 'notebook' } });
    assert.equal(res.status, 200, res.body);
    // The upstream's HTTP/1.1 connection fields stay on its side: HTTP/2 has none.
    assert.equal(res.headers.connection, undefined);
    assert.equal(res.headers['keep-alive'], undefined);
    const seen = JSON.parse(res.body) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, `${base}/namespaces/${ns}/notebooks/a/proxy/api/contents?x=1`);
    assert.deepEqual(Object.keys(seen.headers).filter((h) => h.startsWith(':') || h === 'authorization'), []);
  });
});

describe('HTTP/1.1 beside it', () => {
  it('is what a client offering only http/1.1, or nothing, gets', async () => {
    for (const ALPNProtocols of [['http/1.1'], undefined]) {
      const socket = tlsConnect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, ...(ALPNProtocols ? { ALPNProtocols } : {}) });
      await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      assert.equal(socket.alpnProtocol, ALPNProtocols ? 'http/1.1' : false);
      socket.destroy();
    }
    const http1Before = await metric('ai_apiserver_http_connections_total{protocol="http/1.1"}');
    const watch = await new Promise<{ version: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const req = httpsRequest(`${server.url}${base}/namespaces/${ns}/notebooks?watch=true`, { agent: false, rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}` } }, (res) => {
        resolve({ version: res.httpVersion, headers: res.headers });
        req.destroy();
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(watch.version, '1.1');
    assert.equal(watch.headers['transfer-encoding'], 'chunked');
    assert.equal(watch.headers.connection, 'close');
    assert.equal(await metric('ai_apiserver_http_connections_total{protocol="http/1.1"}'), http1Before + 1);
  });

  it('carries WebSocket upgrades through notebooks/proxy', async () => {
    const ws = new WebSocket(`${server.url.replace('https', 'wss')}${base}/namespaces/${ns}/notebooks/a/proxy/api/kernels/k1/channels`, {
      rejectUnauthorized: false,
      headers: { Authorization: `Bearer ${server.token}` },
    });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hello'));
      ws.on('message', (data) => resolve(data.toString()));
      ws.on('error', reject);
    });
    ws.close();
    assert.equal(reply, 'echo: hello');
  });

  it('keeps plain HTTP/1.1 requests and their answers as they were', async () => {
    const res = await server.http('GET', `${base}/namespaces/${ns}/notebooks/a`);
    assert.equal(res.status, 200);
    const proxied = await server.http('GET', `${base}/namespaces/${ns}/notebooks/a/proxy/`);
    assert.equal(proxied.status, 200);
    assert.equal((JSON.parse(proxied.body) as { url: string }).url, `${base}/namespaces/${ns}/notebooks/a/proxy/`);
  });
});

describe('shutdown over HTTP/2', () => {
  it('SIGTERM: answers during the delay GOAWAY their connection, then watches end cleanly, new streams get 429, and the server exits 0', async () => {
    const open = await watch(`${base}/namespaces/${ns}/notebooks?watch=true`);
    const ended = new Promise<'end' | number>((resolve) => {
      open.stream.on('end', () => resolve('end'));
      open.stream.on('close', () => resolve(open.stream.rstCode ?? -1));
    });
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    // A connection left idle through the delay, and an upload in flight that keeps the server from stopping.
    const idle = http2Connect(server.url, { rejectUnauthorized: false });
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('remoteSettings', resolve));
    const uploading = http2Connect(server.url, { rejectUnauthorized: false });
    uploading.on('error', () => undefined);
    const upload = uploading.request({ ':method': 'POST', ':path': `${base}/namespaces/${ns}/notebooks`, authorization: `Bearer ${server.tenants.alice}`, 'content-type': 'application/json', 'content-length': '100000' });
    upload.on('error', () => undefined);
    upload.write('{');
    await until(async () => (await metric('apiserver_current_inflight_requests{request_kind="mutating"}')) === 1, 'the upload to hold a seat', 30_000, { everyMs: 50 });
    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    server.child.kill('SIGTERM');
    try {
      await until(async () => (await server.http('GET', '/readyz')).status === 500, '/readyz to fail', 10_000, { everyMs: 50 });
      // Still served during the delay, and the connection told to go: Go's server turns Connection: close into this.
      assert.equal((await h2('GET', `${base}/namespaces/${ns}/notebooks/a`)).status, 200);
      assert.equal(await goaway, constants.NGHTTP2_NO_ERROR);
      // After the delay: the watch ends with END_STREAM, not a reset, and new requests are refused as kube refuses them.
      assert.equal(await ended, 'end');
      const refused = await h2('GET', `${base}/namespaces/${ns}/notebooks/a`, { on: idle });
      assert.equal(refused.status, 429, refused.body);
      assert.equal(refused.headers['retry-after'], '5');
    } finally {
      upload.close(constants.NGHTTP2_CANCEL);
      idle.destroy();
      uploading.destroy();
    }
    assert.equal(await exited, 0);
  });
});
