// notebooks/proxy, as the built-in services/proxy: any method, body and query go to the notebook's Service and
// the answer streams back; WebSocket upgrades (Jupyter's kernels) are spliced through as raw bytes. Requests are
// authorized as subresource "proxy" with the verb of their method before anything reaches the notebook, and the
// caller's credentials and identity headers are never forwarded.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta/types.js';
import { group, version } from '../api/v1alpha1/schemas.js';
import { requestAttributes } from '../auth/request-info.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import type { Store } from '../registry/store.js';
import type { Identity } from './identity.js';
import type { NotebookActivity } from './notebook-activity.js';
import { endWithStatus, writeStatus } from './status-response.js';
import type { HttpsFastify } from './types.js';

export interface NotebookProxyDeps {
  notebooks: Store;
  /** The notebook's base URL; {namespace} and {name} are replaced. The request path is kept as is (it is NB_PREFIX). */
  upstreamTemplate: string;
  /** The same authentication and authorization as every other request's, for upgrades, which bypass Fastify. */
  identity: Identity;
  activity: NotebookActivity;
  logger: Logger;
  /** Aborted at shutdown: open proxied streams and WebSockets are cut so the server can stop. */
  shutdown: AbortSignal;
}

const base = `/apis/${group}/${version}/namespaces/:namespace/notebooks/:name/proxy`;
const proxyPath = new RegExp(`^/apis/${group.replaceAll('.', '\\.')}/${version}/namespaces/([^/]+)/notebooks/([^/]+)/proxy(?:/|$)`);
const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** The caller's headers without hop-by-hop ones and without anything that carries its identity. */
function forwardedHeaders(headers: IncomingHttpHeaders, upgrade: boolean): OutgoingHttpHeaders {
  // Header names come from the caller: a map without a prototype keeps even `__proto__` as a header.
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name === 'authorization' || name.startsWith('x-remote-') || name.startsWith('impersonate-')) continue;
    if (hopByHop.has(name) && !(upgrade && (name === 'upgrade' || name === 'connection'))) continue;
    out[name] = value;
  }
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !hopByHop.has(name)));
}

export class NotebookProxy {
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

  register(app: HttpsFastify): void {
    void app.register(async (scope) => {
      // Bodies pass through untouched, whatever their type: no parser reads them.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
      for (const url of [base, `${base}/*`]) {
        scope.route({ method: [...methods], url, exposeHeadRoute: false, handler: (request, reply) => this.forward(request, reply) });
      }
    });
    app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(request, socket as Socket, head).catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, 'notebook proxy upgrade failed');
        socket.destroy();
      });
    });
  }

  private async forward(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { namespace, name } = request.params as { namespace: string; name: string };
    const attributes = requestAttributes(request.method, request.url);
    request.apiInfo = { verb: attributes.kind === 'resource' ? attributes.attributes.verb : request.method.toLowerCase(), resource: 'notebooks', subresource: 'proxy' };
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

  /** A WebSocket (or any other) upgrade: authenticated and authorized like any request, then spliced to the notebook. */
  private async upgrade(request: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = request.url ?? '/';
    const match = proxyPath.exec(url.split('?')[0]!);
    if (!match) return endWithStatus(socket, apiErrors.routeNotFound());
    const [namespace, name] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
    let target: URL;
    try {
      const { identity, logger } = this.deps;
      const user = await identity.authenticate({ headers: request.headers, rawHeaders: request.rawHeaders, socket: socket as TLSSocket }, logger);
      await identity.authorize(user, request.method ?? 'GET', url, logger);
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
