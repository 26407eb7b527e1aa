// notebooks/proxy, as the built-in services/proxy: any method, body and query go to the notebook's Service and
// the answer streams back; WebSocket upgrades (Jupyter's kernels) are spliced through as raw bytes. Requests are
// authorized as subresource "proxy" with the verb of their method before anything reaches the notebook, and the
// caller's credentials and identity headers are never forwarded.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta/types.js';
import { requestAttributes } from '../auth/request-info.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import type { Store } from '../registry/store.js';
import type { ConnectHandler, ConnectHandlerFactory, ConnectTarget } from './connect.js';
import { NotebookActivity } from './notebook-activity.js';
import { endWithStatus, writeStatus } from './status-response.js';

export interface NotebookProxyDeps {
  notebooks: Store;
  /** The notebook's base URL; {namespace} and {name} are replaced. The request path is kept as is (it is NB_PREFIX). */
  upstreamTemplate: string;
  activity: NotebookActivity;
  logger: Logger;
  /** Aborted at shutdown: open proxied streams and WebSockets are cut so the server can stop. */
  shutdown: AbortSignal;
}

// proxy-connection too: HTTP/2 refuses every connection-specific field in an answer (RFC 9113 §8.2.2).
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** The caller's headers without hop-by-hop ones and without anything that carries its identity. */
function forwardedHeaders(headers: IncomingHttpHeaders, upgrade: boolean): OutgoingHttpHeaders {
  // Header names come from the caller: a map without a prototype keeps even `__proto__` as a header.
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  for (const [name, value] of Object.entries(headers)) {
    // HTTP/2's pseudo-headers (:path, :authority…) are the request line, which the upstream request has its own of.
    if (value === undefined || name.startsWith(':')) continue;
    if (name === 'authorization' || name.startsWith('x-remote-') || name.startsWith('impersonate-')) continue;
    if (hopByHop.has(name) && !(upgrade && (name === 'upgrade' || name === 'connection'))) continue;
    out[name] = value;
  }
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !hopByHop.has(name)));
}

export const notebookProxy: ConnectHandlerFactory = (context) => {
  const logger = context.logger.child({ component: 'notebook-proxy' });
  return new NotebookProxy({
    notebooks: context.store,
    upstreamTemplate: context.notebookUpstream,
    activity: new NotebookActivity(context.store, logger),
    logger,
    shutdown: context.shutdown,
  });
};

export class NotebookProxy implements ConnectHandler {
  private readonly open = new Set<{ destroy(): void }>();

  constructor(private readonly deps: NotebookProxyDeps) {
    deps.shutdown.addEventListener('abort', () => {
      for (const stream of this.open) stream.destroy();
    });
  }

  /** Keeps a stream to cut at shutdown until it closes by itself. */
  private track(stream: { destroy(): void; once(event: 'close', listener: () => void): unknown }): void {
    this.open.add(stream);
    stream.once('close', () => this.open.delete(stream));
  }

  /** The notebook's upstream, or an API error: 404 when there is no such notebook, 503 when it is stopped. */
  async target(namespace: string, name: string): Promise<URL> {
    const { object } = await this.deps.notebooks.get(namespace, name, '0');
    if (isStopped(object)) {
      throw apiErrors.serviceUnavailable(`notebook "${name}" in namespace "${namespace}" is stopped: set spec.stopped to false to start it`);
    }
    return new URL(this.deps.upstreamTemplate.replaceAll('{namespace}', namespace).replaceAll('{name}', name));
  }

  async serve(request: FastifyRequest, reply: FastifyReply, { namespace, name }: ConnectTarget): Promise<void> {
    const attributes = requestAttributes(request.method, request.url);
    request.apiInfo = { verb: attributes.kind === 'resource' ? attributes.attributes.verb : request.method.toLowerCase(), resource: this.deps.notebooks.ref.resource, subresource: 'proxy' };
    const url = new URL(request.url, await this.target(namespace, name));
    this.deps.activity.touch(namespace, name);
    reply.hijack();
    const res = reply.raw;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(url, { method: request.method, headers: forwardedHeaders(request.headers, false) });
    this.track(upstream);
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.headers));
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) writeStatus(res, unreachable(error));
      else res.destroy(error);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    const body = request.body as Readable | undefined;
    if (body && typeof body.pipe === 'function') body.pipe(upstream);
    else upstream.end();
  }

  /** A WebSocket (or any other) upgrade, authenticated and authorized by the caller: spliced to the notebook. */
  async upgrade(request: IncomingMessage, socket: Socket, head: Buffer, { namespace, name }: ConnectTarget): Promise<void> {
    const url = request.url ?? '/';
    let target: URL;
    try {
      target = await this.target(namespace, name);
    } catch (error) {
      return endWithStatus(socket, error instanceof ApiError ? error : apiErrors.internal(String(error)));
    }
    this.deps.activity.touch(namespace, name);
    const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
    const upstream = target.protocol === 'https:' ? tlsConnect({ host: target.hostname, port, servername: target.hostname }) : netConnect(port, target.hostname);
    this.track(upstream);
    let spliced = false;
    upstream.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const headers = { ...forwardedHeaders(request.headers, true), host: target.host };
      const lines = [`${request.method ?? 'GET'} ${url} HTTP/1.1`];
      for (const [key, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${key}: ${String(v)}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      spliced = true;
      upstream.pipe(socket);
      socket.pipe(upstream);
      socket.on('data', () => this.deps.activity.touch(namespace, name));
    });
    upstream.on('error', (error) => {
      if (!spliced) endWithStatus(socket, unreachable(error));
      else socket.destroy();
    });
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  }
}

function isStopped(notebook: KubeObject): boolean {
  return (notebook.spec as { stopped?: boolean } | undefined)?.stopped === true;
}

function unreachable(error: Error): ApiError {
  return apiErrors.serviceUnavailable(`error trying to reach service: ${error.message}`);
}
