// The plugin's local proxy, kubectl proxy's counterpart: an HTTP server on 127.0.0.1 that sends /api and /apis to
// kube-apiserver with the user's own kubeconfig credentials (so RBAC is theirs), streams answers as they arrive
// (watches, followed logs, notebooks' event streams) and splices WebSocket upgrades (Jupyter's kernels through
// notebooks/proxy). Paths keep their kube-apiserver form, so a notebook served under its NB_PREFIX works unchanged.
//
// For a web UI on top of it (`kubectl ai dashboard`): pass `staticRoot`, the folder of its bundle. Every other path
// is then a file of that folder (`/` its index.html), and the page calls the API on its own origin, e.g.
// `fetch('/apis/ai.example.io/v1alpha1/namespaces/team-a/jobs?watch=true')`:
//
//   const proxy = await startLocalProxy({ kubeConfig, port: 0, staticRoot: '/path/to/bundle' });
//   console.log(proxy.url);   // http://127.0.0.1:43121
//   await proxy.close();
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { foreignRequest } from './local-origin.js';
import { serveStatic } from './static-files.js';
import { Upstream } from './upstream.js';

export interface LocalProxyOptions {
  /** The user's kubeconfig, its context already chosen (see loadUserKubeConfig). */
  kubeConfig: KubeConfig;
  /** The port on 127.0.0.1; 0, the default, takes a free one. */
  port?: number;
  /** A folder served for every path but /api and /apis; without one those paths answer 404. */
  staticRoot?: string;
  /**
   * Forward only API requests under this path (others answer 403). A page a notebook serves is code its owner
   * controls, running on this proxy's origin: `kubectl ai open` confines the proxy to that notebook's
   * notebooks/proxy path, so the page cannot use the rest of the API with the user's credentials. Unset, all of
   * /api and /apis is forwarded, and whatever pages the origin serves can do anything the user may. A RegExp
   * matches the prefix (anchored, ending at a segment's end), e.g. every notebook's notebooks/proxy path for the
   * dashboard's notebooks, which open on an origin of their own.
   */
  onlyUnder?: string | RegExp;
}

export interface LocalProxy {
  /** `http://127.0.0.1:<port>`, no trailing slash: append an API path or a file's. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and cuts open streams and WebSockets; calling it again waits for the same close. */
  close(): Promise<void>;
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** Whether a request line's target goes to kube-apiserver: /api and /apis and what is under them. */
export function isApiPath(target: string): boolean {
  return /^\/apis?(?:[/?]|$)/.test(target);
}

/**
 * Whether a request line's target lies under `prefix` (or a prefix the RegExp matches), with no `.` or `..`
 * segment, plain or percent-encoded, that could lead kube-apiserver (or whatever sits behind it) out of it.
 */
export function isUnder(target: string, prefix: string | RegExp): boolean {
  const path = target.split('?')[0]!;
  if (typeof prefix === 'string' ? path !== prefix && !path.startsWith(`${prefix}/`) : !prefix.test(path)) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  return !decoded.split(/[/\\]/).some((segment) => segment === '.' || segment === '..');
}

const served = (prefix: string | RegExp): string => (typeof prefix === 'string' ? prefix : `paths matching ${prefix.source}`);

/**
 * The client's headers for kube-apiserver. Its own Authorization goes (the user's credentials take its place); so
 * does Origin, once checked to be this proxy's: the request then reaches a notebook as kubectl's would, and Jupyter
 * refuses a WebSocket whose Origin names another host than the Host it is reached at.
 */
function forwardedHeaders(headers: IncomingHttpHeaders, upgrade: boolean): OutgoingHttpHeaders {
  // Header names come from the client: a map without a prototype keeps even `__proto__` as a header.
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name === 'authorization' || name === 'origin') continue;
    if (hopByHop.has(name) && !(upgrade && (name === 'upgrade' || name === 'connection'))) continue;
    out[name] = value;
  }
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !hopByHop.has(name)));
}

/** A Status, as kube-apiserver words a refusal, so kubectl-like clients show the message. */
function statusJson(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function answerStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(statusJson(code, reason, message));
}

/** The same Status on a socket that asked for an upgrade and gets none. */
function endSocket(socket: Duplex, code: number, reason: string, message: string): void {
  const body = statusJson(code, reason, message);
  socket.end(`HTTP/1.1 ${code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

const unreachable = (error: unknown): string => `Unable to connect to the server: ${error instanceof Error ? error.message : String(error)}`;

export async function startLocalProxy(options: LocalProxyOptions): Promise<LocalProxy> {
  const upstream = new Upstream(options.kubeConfig);
  /** Upgraded connections, both sides: the server's close() does not know them any more. */
  const spliced = new Set<Duplex>();
  let port = 0;

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let gone = false;
    res.on('close', () => void (gone = !res.writableFinished));
    const out = await upstream.request({ method: req.method ?? 'GET', path: req.url ?? '/', headers: forwardedHeaders(req.headers, false) });
    if (gone) {
      out.destroy();
      return;
    }
    out.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.headers));
      // A watch's headers come long before its first event; the client should know it is connected.
      res.flushHeaders();
      // kube-apiserver ending a stream early (a restart, a watch timeout cut short) ends the client's the same way.
      answer.on('error', () => res.destroy());
      answer.pipe(res);
    });
    out.on('error', (error) => {
      if (!res.headersSent) answerStatus(res, 502, 'ServiceUnavailable', unreachable(error));
      else res.destroy();
    });
    // A client leaving a watch or a followed log closes kube-apiserver's stream too.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.on('error', () => out.destroy());
    req.pipe(out);
  }

  async function splice(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const out = await upstream.request({ method: req.method ?? 'GET', path: req.url ?? '/', headers: forwardedHeaders(req.headers, true) });
    socket.on('close', () => out.destroy());
    out.on('upgrade', (answer, theirs, theirHead) => {
      const lines = [`HTTP/1.1 ${answer.statusCode ?? 101} ${answer.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (theirHead.length > 0) socket.write(theirHead);
      // What the client sent after its request, before the answer: the first frames, which belong after the handshake.
      if (head.length > 0) theirs.write(head);
      spliced.add(theirs);
      theirs.on('close', () => {
        spliced.delete(theirs);
        socket.destroy();
      });
      theirs.on('error', () => socket.destroy());
      socket.on('close', () => theirs.destroy());
      theirs.pipe(socket);
      socket.pipe(theirs);
    });
    // No upgrade: kube-apiserver's refusal (401, 403, 404…) goes back as it came, and the connection ends.
    out.on('response', (answer) => {
      const lines = [`HTTP/1.1 ${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`];
      for (const [name, value] of Object.entries(responseHeaders(answer.headers))) {
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v)}`);
      }
      lines.push('connection: close');
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      answer.on('error', () => socket.destroy());
      answer.pipe(socket);
    });
    out.on('error', (error) => endSocket(socket, 502, 'ServiceUnavailable', unreachable(error)));
    out.end();
  }

  const server = createServer((req, res) => {
    const refusal = foreignRequest(req.headers, port);
    if (refusal) return answerStatus(res, 403, 'Forbidden', refusal);
    const target = req.url ?? '/';
    if (isApiPath(target) && options.onlyUnder !== undefined && !isUnder(target, options.onlyUnder)) {
      answerStatus(res, 403, 'Forbidden', `this local proxy serves only ${served(options.onlyUnder)}`);
    } else if (isApiPath(target)) {
      forward(req, res).catch((error: unknown) => {
        if (!res.headersSent) answerStatus(res, 500, 'InternalError', `the local proxy could not apply the kubeconfig's credentials: ${String(error)}`);
        else res.destroy();
      });
    } else if (options.staticRoot && target.startsWith('/')) {
      serveStatic(options.staticRoot, req, res).catch(() => res.destroy());
    } else {
      answerStatus(res, 404, 'NotFound', 'the local proxy serves /api and /apis');
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    spliced.add(socket);
    socket.on('close', () => spliced.delete(socket));
    const refusal = foreignRequest(req.headers, port);
    if (refusal) return endSocket(socket, 403, 'Forbidden', refusal);
    if (!isApiPath(req.url ?? '')) return endSocket(socket, 404, 'NotFound', 'the local proxy upgrades only requests to /api and /apis');
    if (options.onlyUnder !== undefined && !isUnder(req.url ?? '', options.onlyUnder)) return endSocket(socket, 403, 'Forbidden', `this local proxy serves only ${served(options.onlyUnder)}`);
    splice(req, socket, head).catch((error: unknown) => endSocket(socket, 500, 'InternalError', `the local proxy could not apply the kubeconfig's credentials: ${String(error)}`));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of spliced) socket.destroy();
        upstream.close();
      });
      return closing;
    },
  };
}
