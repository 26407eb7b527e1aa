// Graceful termination of the server process on a real etcd, as k8s.io/apiserver's with --shutdown-send-retry-after
// (with_retry_after.go, genericapiserver.go): on SIGTERM /readyz fails at once while requests are still served, each
// answer closing its connection; once --shutdown-delay-duration has passed, watches end cleanly and every new
// request, on a kept-alive connection or a new one, gets 429 with Retry-After (which client-go retries), probes
// excepted; a write still in flight is finished and answered; then the server exits 0.
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, it } from 'node:test';
import { until } from '../support/eventually.js';
import { startServer, type ServerProcess } from '../support/server.js';

const path = '/apis/ai.example.io/v1alpha1/namespaces/default/notebooks';
// k8s.io/apiserver/pkg/server/filters/with_retry_after.go
const shuttingDownMessage = 'The apiserver is shutting down, please try again later.';

let server: ServerProcess;
// One process: after the delay each worker of several exits once its own requests are done, so a new connection
// could reach one that has closed; the protocol is checked on one, and test/e2e/workers.test.ts stops several.
before(async () => void (server = await startServer({ extraArgs: ['--shutdown-delay-duration', '2', '--workers=1'] })));
after(() => server?.stop());

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 connection over TLS, used for one request after another as a keep-alive client uses it. */
class Connection {
  private received = '';
  private wake: (() => void) | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (d: Buffer) => {
      this.received += d.toString();
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.wake?.();
      resolve();
    }));
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(new Connection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Sends a request's head (and body, if given in full); `contentLength` announces a body still to come. */
  start(method: string, target: string, token: string, body = '', contentLength = Buffer.byteLength(body)): void {
    const type = contentLength > 0 ? 'Content-Type: application/json\r\n' : '';
    this.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n${type}Content-Length: ${contentLength}\r\n\r\n${body}`);
  }

  /** The next whole response (the bodies here are ASCII JSON, sent with Content-Length or chunked). */
  async response(): Promise<Response> {
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = this.received.slice(0, end).split('\r\n');
        const headers: Record<string, string> = Object.create(null) as Record<string, string>;
        for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
        const rest = this.received.slice(end + 4);
        const whole = headers['transfer-encoding'] === 'chunked' ? dechunk(rest) : rest.length >= Number(headers['content-length'] ?? 0) ? { body: rest.slice(0, Number(headers['content-length'] ?? 0)), used: Number(headers['content-length'] ?? 0) } : undefined;
        if (whole) {
          this.received = rest.slice(whole.used);
          return { status: Number(statusLine!.split(' ')[1]), headers, body: whole.body };
        }
      }
      if (this.socket.destroyed) throw new Error(`the connection closed before a whole response: ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** A chunked body read to its terminator, and how many characters it took; undefined while incomplete. */
function dechunk(text: string): { body: string; used: number } | undefined {
  let body = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (text.length < lineEnd + 2 + size + 2) return undefined;
    body += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
    if (size === 0) return { body, used: at };
  }
}

it('SIGTERM: readyz fails, answers close their connections, then 429 with Retry-After while an in-flight write finishes', async () => {
  const notebook = JSON.stringify({
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name: 'in-flight' },
    spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter:1' }] } } },
  });
  // Kept-alive connections opened before the shutdown, each idle after one answer.
  const duringDelay = await Connection.open(server.port);
  const afterDelay = await Connection.open(server.port);
  for (const connection of [duringDelay, afterDelay]) {
    connection.start('GET', path, server.token);
    const answer = await connection.response();
    assert.equal(answer.status, 200);
    assert.notEqual(answer.headers.connection, 'close');
  }
  // A create whose body is still on its way when the shutdown begins; alice's seat shows it is being served.
  const upload = await Connection.open(server.port);
  const half = Math.floor(notebook.length / 2);
  upload.start('POST', path, server.tenants.alice, notebook.slice(0, half), Buffer.byteLength(notebook));
  await until(async () => /apiserver_current_inflight_requests\{request_kind="mutating"\} 1\b/.test((await server.http('GET', '/metrics')).body), 'the create to hold a seat', 20_000);
  // A watch open across the shutdown: never kept alive, and ended with the chunked terminator.
  let watchHeaders: Record<string, string | string[] | undefined> = {};
  const watchEnded = new Promise<boolean>((resolve, reject) => {
    const req = httpsRequest(`${server.url}${path}?watch=true`, { agent: false, rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}` } }, (res) => {
      watchHeaders = res.headers;
      res.resume();
      res.on('end', () => resolve(res.complete));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  await until(() => watchHeaders.connection !== undefined, 'the watch to be answered', 20_000);
  assert.equal(watchHeaders.connection, 'close');

  const exit = server.terminate();
  await until(async () => (await server.http('GET', '/readyz', { headers: { Connection: 'close' } })).status === 500, 'readyz to fail', 20_000);
  // Within the delay: served, and the connection closed after the answer.
  duringDelay.start('GET', path, server.token);
  const served = await duringDelay.response();
  assert.equal(served.status, 200);
  assert.equal(served.headers.connection, 'close');
  await duringDelay.closed;

  // After the delay, which ends the watch: refused with kube's 429 on the kept-alive connection and on a new one.
  assert.equal(await watchEnded, true, 'the watch stream was cut instead of ended');
  const fresh = await Connection.open(server.port);
  for (const connection of [afterDelay, fresh]) {
    connection.start('GET', path, server.token);
    const refused = await connection.response();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal(refused.headers.connection, 'close');
    assert.deepEqual(JSON.parse(refused.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: shuttingDownMessage,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 5 },
      code: 429,
    });
    await connection.closed;
  }
  // Probes are still answered while the server drains.
  const probe = await Connection.open(server.port);
  probe.start('GET', '/readyz', server.token);
  assert.equal((await probe.response()).status, 500);

  // The write in flight is finished, answered, and kept.
  upload.write(notebook.slice(half));
  const created = await upload.response();
  assert.equal(created.status, 201, created.body);
  assert.equal(created.headers.connection, 'close');
  assert.equal(await exit, 0);
  await server.restart();
  assert.equal((await server.http('GET', `${path}/in-flight`)).status, 200);
});
