// Overload protection of the real server process on a real etcd: seats of --max-requests-inflight and
// --max-mutating-requests-inflight, 429s worded as k8s.io/apiserver's max-in-flight and APF filters word them,
// fair queuing between users, the request timeout (504 Status, body reads cut), header timeouts, and watches
// exempt from all of it. Seats are held by real requests: LISTs of megabytes whose client stops reading, and
// uploads that send one byte at a time.
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { until } from '../support/eventually.js';
import { httpsCall, type HttpsAnswer } from '../support/https.js';
import { startServer, type ServerProcess } from '../support/server.js';

const base = '/apis/ai.example.io/v1alpha1';
// k8s.io/apiserver/pkg/server/filters/maxinflight.go tooManyRequests, and timeout.go's NewTimeoutError message.
const tooManyMessage = 'Too many requests, please try again later.';
const timeoutMessage = 'Timeout: request did not complete within the allotted timeout';

function call(server: ServerProcess, token: string | undefined, method: string, path: string, body?: unknown): Promise<HttpsAnswer> {
  return httpsCall(
    `${server.url}${path}`,
    {
      method,
      agent: false,
      rejectUnauthorized: false,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    },
    body === undefined ? undefined : JSON.stringify(body),
  );
}

interface Held {
  /** How the response ended: read to its end, or cut by the server or by release(). */
  ended: Promise<'complete' | 'cut'>;
  /** Reads on: a paused client notices the server's close only once it reads up to it. */
  resume(): void;
  release(): void;
}

/** A request whose client reads the headers and then stops reading: the server cannot finish writing it. */
function hold(server: ServerProcess, token: string, path: string): Promise<Held> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server.url}${path}`, { agent: false, rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`hold ${path}: ${res.statusCode}`));
      res.pause();
      const ended = new Promise<'complete' | 'cut'>((done) => {
        res.on('end', () => done('complete'));
        res.on('aborted', () => done('cut'));
        res.on('error', () => done('cut'));
        res.on('close', () => done(res.complete ? 'complete' : 'cut'));
      });
      resolve({ ended, resume: () => res.resume(), release: () => req.destroy() });
    });
    req.on('error', () => undefined);
    req.end();
  });
}

interface RawExchange {
  /** Everything the server sent before it closed the connection. */
  closed: Promise<string>;
  stop(): void;
}

/** A raw HTTP/1.1 exchange over TLS: `head` at once, then one byte of `drip` every 200 ms, until the server closes. */
function raw(server: ServerProcess, head: string, drip: string): RawExchange {
  const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
  let timer: NodeJS.Timeout | undefined;
  socket.on('secureConnect', () => {
    socket.write(head);
    timer = setInterval(() => socket.write(drip), 200);
  });
  const closed = new Promise<string>((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    });
  });
  return { closed, stop: () => socket.destroy() };
}

function slowCreate(server: ServerProcess, token: string | undefined, namespace: string): RawExchange {
  const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
  const head = `POST ${base}/namespaces/${namespace}/notebooks HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`;
  return raw(server, head, ' ');
}

async function metric(server: ServerProcess, series: string): Promise<number> {
  const res = await call(server, server.token, 'GET', '/metrics');
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

function assertTooMany(res: HttpsAnswer): void {
  assert.equal(res.status, 429, res.body);
  assert.equal(res.headers['retry-after'], '1');
  assert.deepEqual(JSON.parse(res.body), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: tooManyMessage,
    reason: 'TooManyRequests',
    details: { retryAfterSeconds: 1 },
    code: 429,
  });
}

function notebook(name: string, annotationBytes = 0): unknown {
  return {
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name, ...(annotationBytes ? { annotations: { 'example.io/padding': 'x'.repeat(annotationBytes) } } : {}) },
    spec: { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook' }] } } },
  };
}

/** Namespaces of 60 notebooks of 250 KB: a LIST of one is 15 MB, and one seat (under 100 objects). */
async function fillBigNamespaces(server: ServerProcess, namespaces = ['big-a', 'big-b']): Promise<void> {
  for (const ns of namespaces) {
    for (let i = 0; i < 60; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, j) => {
          const res = await call(server, server.token, 'POST', `${base}/namespaces/${ns}/notebooks`, notebook(`nb-${i + j}`, 250_000));
          assert.equal(res.status, 201, res.body);
        }),
      );
    }
  }
}

// These count seats exactly: with several workers each holds its share of a limit, and which worker a connection
// reaches decides where a request queues.
const oneWorker = ['--workers=1'];

describe('overload: max-in-flight without APF (--enable-priority-and-fairness=false)', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({
      extraArgs: ['--max-requests-inflight=2', '--max-mutating-requests-inflight=1', '--enable-priority-and-fairness=false', ...oneWorker],
    });
    await fillBigNamespaces(server);
  });
  after(() => server.stop());

  it('a third concurrent request gets 429 with Retry-After: 1; watches, masters, health and discovery still answer', async () => {
    const { alice, bob } = server.tenants;
    const held = [await hold(server, alice, `${base}/namespaces/big-a/notebooks`), await hold(server, alice, `${base}/namespaces/big-b/notebooks`)];
    try {
      assert.equal(await metric(server, 'apiserver_current_inflight_requests{request_kind="readOnly"}'), 2);
      assertTooMany(await call(server, alice, 'GET', `${base}/namespaces/big-a/notebooks/nb-0`));
      // Without APF there are no flows: every user shares the same seats.
      assertTooMany(await call(server, bob, 'GET', `${base}/namespaces/big-a/notebooks`));
      // system:masters is never refused, as kube's max-in-flight filter lets it through.
      assert.equal((await call(server, server.token, 'GET', `${base}/namespaces/big-a/notebooks/nb-0`)).status, 200);

      const watch = await hold(server, bob, `${base}/namespaces/big-a/notebooks?watch=true&resourceVersion=0`);
      assert.equal(await metric(server, 'apiserver_longrunning_requests{verb="watch",resource="notebooks",subresource=""}'), 1);
      watch.release();

      for (const path of ['/readyz', '/livez', '/healthz', '/version']) {
        assert.equal((await call(server, undefined, 'GET', path)).status, 200, path);
      }
      for (const path of ['/apis', '/apis/ai.example.io', base, '/openapi/v2', '/openapi/v3', '/metrics']) {
        assert.equal((await call(server, alice, 'GET', path)).status, 200, path);
      }
      assert.ok((await metric(server, 'apiserver_dropped_requests_total{request_kind="readOnly"}')) >= 2);
      assert.ok((await metric(server, 'apiserver_flowcontrol_rejected_requests_total{priority_level="readOnly",reason="concurrency-limit"}')) >= 2);

      // Mutating requests have their own seats: the one seat taken by an upload in progress, a create is refused.
      const upload = slowCreate(server, alice, 'big-a');
      await until(async () => (await metric(server, 'apiserver_current_inflight_requests{request_kind="mutating"}')) === 1, 'the upload to take the mutating seat', 30_000, { everyMs: 50 });
      assertTooMany(await call(server, bob, 'POST', `${base}/namespaces/big-a/notebooks`, notebook('refused')));
      upload.stop();
    } finally {
      for (const h of held) h.release();
    }
    await until(async () => (await metric(server, 'apiserver_current_inflight_requests{request_kind="readOnly"}')) === 0, 'the seats to be given back', 30_000, { everyMs: 50 });
    assert.equal((await call(server, alice, 'GET', `${base}/namespaces/big-a/notebooks/nb-0`)).status, 200);
  });
});

describe('overload: fair queuing per user (API Priority and Fairness)', () => {
  let server: ServerProcess;
  before(async () => {
    // Four seats, two at most per user. A 40 s request timeout lets requests wait 10 s for a seat (a quarter, as
    // APF): long enough to see in which order they get one.
    server = await startServer({ extraArgs: ['--max-requests-inflight=4', '--request-timeout=40s', ...oneWorker] });
    await fillBigNamespaces(server);
  });
  after(() => server.stop());

  it("a user's queue of 50 is full at 50, and another user's request goes before it when a seat frees", async () => {
    const { alice, bob, carol } = server.tenants;
    const held: Held[] = [];
    const order: string[] = [];
    const get = (who: string, token: string, name: string): Promise<HttpsAnswer> =>
      call(server, token, 'GET', `${base}/namespaces/big-a/notebooks/${name}`).then((res) => {
        order.push(who);
        return res;
      });
    const inqueue = 'apiserver_flowcontrol_current_inqueue_requests{priority_level="readOnly"}';
    try {
      held.push(await hold(server, alice, `${base}/namespaces/big-a/notebooks`), await hold(server, alice, `${base}/namespaces/big-b/notebooks`));
      // Alice holds half the seats, her share: her next request waits though seats are free, and bob's does not.
      const queued = [get('alice', alice, 'nb-1')];
      await until(async () => (await metric(server, inqueue)) === 1, "alice's request to queue", 30_000, { everyMs: 50 });
      assert.equal((await get('bob', bob, 'nb-2')).status, 200);

      held.push(await hold(server, bob, `${base}/namespaces/big-a/notebooks`), await hold(server, bob, `${base}/namespaces/big-b/notebooks`));
      for (let i = 1; i < 50; i++) queued.push(get('alice', alice, 'nb-1'));
      await until(async () => (await metric(server, inqueue)) === 50, "alice's 50 requests to queue", 30_000, { everyMs: 50 });
      assertTooMany(await call(server, alice, 'GET', `${base}/namespaces/big-a/notebooks/nb-2`));
      assert.equal(await metric(server, 'apiserver_flowcontrol_rejected_requests_total{priority_level="readOnly",reason="queue-full"}'), 1);

      const carols = get('carol', carol, 'nb-3');
      await until(async () => (await metric(server, inqueue)) === 51, "carol's request to queue", 30_000, { everyMs: 50 });
      order.length = 0;
      held[0]!.release();
      assert.equal((await carols).status, 200);
      // One of alice's seats freed: carol's request, queued last, took it before any of alice's 50.
      assert.equal(order.indexOf('carol'), 0, order.join(','));
      for (const h of held) h.release();
      for (const res of await Promise.all(queued)) assert.equal(res.status, 200, res.body);
    } finally {
      for (const h of held) h.release();
    }
  });
});

describe('overload: request timeout, body and header timeouts, watch lifetimes', () => {
  let server: ServerProcess;
  before(async () => {
    // A 4 s request timeout: requests wait at most 1 s for a seat.
    server = await startServer({ extraArgs: ['--max-mutating-requests-inflight=1', '--request-timeout=4s', ...oneWorker] });
    await fillBigNamespaces(server, ['big-a']);
  });
  after(() => server.stop());

  it('a slow upload is answered 504 and cut at the request timeout; a request queued behind it gets 429 after its wait', async () => {
    const { alice, bob } = server.tenants;
    // Watches opened first must outlive everything below: timeoutSeconds=0 means kube's default (30-60 min),
    // and values beyond Node's 2^31 ms timer limit are honoured rather than ending the watch at once.
    const watches = await Promise.all(
      ['0', '3000000'].map((t) => watchLines(server, alice, `${base}/namespaces/slow/notebooks?watch=true&timeoutSeconds=${t}`)),
    );

    const upload = slowCreate(server, alice, 'slow');
    await until(async () => (await metric(server, 'apiserver_current_inflight_requests{request_kind="mutating"}')) === 1, 'the upload to take the mutating seat', 30_000, { everyMs: 50 });
    assertTooMany(await call(server, bob, 'POST', `${base}/namespaces/slow/notebooks`, notebook('queued')));
    assert.equal(await metric(server, 'apiserver_flowcontrol_rejected_requests_total{priority_level="mutating",reason="time-out"}'), 1);

    const answer = await upload.closed;
    assert.match(answer, /^HTTP\/1\.1 504 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: timeoutMessage,
      reason: 'Timeout',
      details: {},
      code: 504,
    });

    const created = await call(server, alice, 'POST', `${base}/namespaces/slow/notebooks`, notebook('after-timeouts'));
    assert.equal(created.status, 201, created.body);
    for (const watch of watches) {
      await until(async () => watch.lines.some((l) => l.includes('"after-timeouts"')), 'the ADDED event on a watch older than the request timeout', 30_000, { everyMs: 50 });
      assert.equal(watch.ended, false);
      watch.stop();
    }
  });

  it('a consistent LIST while etcd is stalled gets 504 Timeout at the request timeout', async () => {
    server.etcd!.pause();
    try {
      const res = await call(server, server.tenants.alice, 'GET', `${base}/namespaces/slow/notebooks`);
      assert.equal(res.status, 504, res.body);
      assert.equal(JSON.parse(res.body).message, timeoutMessage);
    } finally {
      server.etcd!.resume();
    }
  });

  it('a LIST still being written at the request timeout is cut off, as kube aborts the handler', async () => {
    const held = await hold(server, server.tenants.alice, `${base}/namespaces/big-a/notebooks`);
    await until(async () => (await metric(server, 'apiserver_current_inflight_requests{request_kind="readOnly"}')) === 0, 'the server to end the LIST', 30_000, { everyMs: 50 });
    held.resume();
    assert.equal(await held.ended, 'cut');
  });

  it('unauthenticated uploads are cut at once, and headers that never end are cut', async () => {
    const unauthenticated = await slowCreate(server, undefined, 'slow').closed;
    assert.match(unauthenticated, /^HTTP\/1\.1 401 /);
    assert.match(unauthenticated, /\r\nconnection: close\r\n/i);
    // Headers that never finish: the connection is closed (Node's headersTimeout, min(32 s, request timeout)).
    const endless = raw(server, `GET ${base}/namespaces/slow/notebooks HTTP/1.1\r\nHost: x\r\nX-Slow: `, 'a');
    const answer = await endless.closed;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).kind, 'Status');
  });

  it('headers up to 1 MiB are read, as Go reads them; past that a 431 Status', async () => {
    const selector = Array.from({ length: 60_000 }, (_, i) => `k${i}=v`).join(',');
    assert.ok(selector.length > 500_000 && selector.length < 1 << 20);
    const listed = await call(server, server.token, 'GET', `${base}/namespaces/slow/notebooks?labelSelector=${selector}`);
    assert.equal(listed.status, 200, listed.body);
    const huge = raw(server, `GET ${base}/namespaces/slow/notebooks HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat((1 << 20) + 1)}\r\n\r\n`, '');
    const answer = await huge.closed;
    assert.match(answer, /^HTTP\/1\.1 431 /);
    const status = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { kind: string; code: number };
    assert.deepEqual([status.kind, status.code], ['Status', 431]);
  });
});

interface WatchLines {
  lines: string[];
  ended: boolean;
  stop(): void;
}

function watchLines(server: ServerProcess, token: string, path: string): Promise<WatchLines> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server.url}${path}`, { agent: false, rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch ${path}: ${res.statusCode}`));
      const watch: WatchLines = { lines: [], ended: false, stop: () => req.destroy() };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        watch.lines.push(...parts);
      });
      res.on('end', () => (watch.ended = true));
      resolve(watch);
    });
    req.on('error', () => undefined);
    req.end();
  });
}
