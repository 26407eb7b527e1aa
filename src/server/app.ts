// The Fastify application: HTTPS with ALPN http/1.1 (and h2 with --enable-http2-serving), kube-apiserver's error
// shapes for everything (Fastify's own errors included), authentication, metrics, discovery, OpenAPI, health and the
// REST routes.
import { randomUUID } from 'node:crypto';
import type { Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { requestAttributes } from '../auth/request-info.js';
import type { Authenticator, Authorizer, UserInfo } from '../auth/user.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import type { Registry } from '../registry/registry.js';
import type { Storage } from '../storage/interface.js';
import type { ServingCert } from './certs.js';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, emptyAggregatedDiscovery, etagOf } from './discovery.js';
import { registerHealth } from './health.js';
import { jsonBodyRefusal, parseJsonBody } from './json-body.js';
import type { ServerMetrics } from './metrics.js';
import { classify, FlowControl, requestTimedOut } from './flow-control.js';
import { Identity } from './identity.js';
import type { Auditor } from './audit/audit.js';
import { aggregatedDiscoveryContentType, wantsAggregatedDiscovery } from './negotiation.js';
import { registerOpenApi } from './openapi.js';
import { kubernetesVersion } from './openapi-document.js';
import { maxRequestBodyBytes } from './request-limits.js';
import { registerRest } from './rest.js';
import { mountConnect, type ConnectDeclaration } from './connect.js';
import type { PodLogs } from '../kube/pod-logs.js';
import { sendJson } from './send.js';
import { endWithStatus, sendStatus, writeStatus } from './status-response.js';
import { withValidUtf8Path } from './url-path.js';
import type { HttpsFastify } from './types.js';
import { abandonBody, closeConnection, connectionOf, http2Settings, trackHttp2Sessions, type RawResponse } from './http-protocol.js';

export interface AppDeps {
  registry: Registry;
  /** The handlers of the connect subresources the registry's resources declare, by resource. */
  connect: ReadonlyMap<string, readonly ConnectDeclaration[]>;
  storage: Storage;
  metrics: ServerMetrics;
  authenticator: Authenticator;
  authorizer: Authorizer;
  cert: ServingCert;
  /** CAs whose client certificates the TLS handshake asks for (front proxy, client-ca-file); none in standalone. */
  clientCaPem?: string;
  logger: Logger;
  maxRequestBodyBytes: number;
  /** Offer h2 by ALPN (--enable-http2-serving); HTTP/1.1 alone otherwise. */
  http2: boolean;
  /** Where notebooks/proxy sends a notebook's traffic; {namespace} and {name} are replaced. */
  notebookUpstream: string;
  /** Pods and their logs through kube-apiserver, for jobs/logs; absent in standalone mode. */
  podLogs?: PodLogs;
  limits: ServingLimits;
  /** The audit policy and log; absent, nothing is audited and requests do no audit work. */
  auditor?: Auditor;
}

/** Overload protection: seats, timeouts and the connection cap (flags of the same names). */
export interface ServingLimits {
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  enablePriorityAndFairness: boolean;
  requestTimeoutMs: number;
  maxConnections: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authentication in onRequest; absent on the paths served without it. */
    user?: UserInfo;
    /** Set once authorization let the request in (or its path needs none): a refusal before then left its body unread. */
    authorized?: true;
  }
}

export interface App {
  fastify: HttpsFastify;
  /** Swaps the client CAs the handshake asks for, after kube-apiserver rotated them. */
  updateClientCas(pem: string): void;
  /** Swaps the serving pair in place: new handshakes get it, open connections keep theirs. */
  updateServingCert(cert: ServingCert): void;
  /**
   * kube-apiserver's graceful termination (with --shutdown-send-retry-after): /readyz fails at once and every answer
   * closes its connection; after `delaySeconds` (for load balancers to drop this replica) new requests get 429 with
   * Retry-After, which client-go retries elsewhere, watches end cleanly, and once the requests in flight have
   * finished the server stops listening.
   */
  shutdown(delaySeconds: number): Promise<void>;
}

const maxHeaderBytes = 1 << 20;
// Above Go's 90 s idle timeout, or kube-apiserver's proxied requests meet closed connections (EOF 503s).
const keepAliveTimeoutMs = 120_000;

// k8s.io/apiserver's WithRetryAfter: probes and metrics are still answered while the server drains, and so is
// kube-apiserver itself.
const exemptFromShutdownRefusalPaths = ['/readyz', '/livez', '/healthz', '/metrics'];

function exemptFromShutdownRefusal(path: string, userAgent: string | undefined): boolean {
  return exemptFromShutdownRefusalPaths.some((prefix) => path.startsWith(prefix)) || (userAgent ?? '').startsWith('kube-apiserver/');
}

/** WithRetryAfter's answer once the shutdown delay has elapsed, as a Status. */
function shuttingDownError(): ApiError {
  return new ApiError(429, 'TooManyRequests', 'The apiserver is shutting down, please try again later.', { retryAfterSeconds: 5 });
}

const unauthenticatedPaths = new Set(['/healthz', '/livez', '/readyz', '/version']);
const jsonTypes = ['application/json', 'application/merge-patch+json', 'application/json-patch+json'];
// Parsed as text so the handler can answer 415, as kube-apiserver does, rather than a parse error.
const textPatchTypes = ['application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function statusOf(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as FastifyError).code;
  const statusCode = (error as FastifyError).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) {
    return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${maxRequestBodyBytes}`);
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || statusCode === 415) {
    return apiErrors.unsupportedMediaType(['application/json', 'application/json-patch+json', 'application/merge-patch+json']);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) return apiErrors.badRequest(message);
  return apiErrors.internal(message);
}

/** Node's parser errors in kube's shapes: Go answers the same conditions with 431, 408 and 400. */
function clientErrorStatus(code: string | undefined): ApiError {
  if (code === 'HPE_HEADER_OVERFLOW') return new ApiError(431, 'RequestHeaderFieldsTooLarge', `Request header fields too large: limit is ${maxHeaderBytes}`);
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError(408, 'Timeout', 'Timeout: the request headers did not arrive in time');
  // Not the client's fault: Node's parser, paused by the server's own flow control, was handed the rest of a
  // request's body (seen under load, on kube-apiserver's kept-alive connections). The request never reached its
  // handler, so it is safe to send again, which client-go does on a 503 with Retry-After, writes included.
  if (code === 'HPE_PAUSED') return new ApiError(503, 'ServiceUnavailable', 'the server could not read the request; please try again', { retryAfterSeconds: 1 });
  return apiErrors.badRequest('malformed HTTP request');
}

export async function buildApp(deps: AppDeps): Promise<App> {
  // Connections already answered for a parse error: Node may report the same connection again.
  const answeredClientErrors = new WeakSet<object>();
  const fastify = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One debug line per request, written by our own hook with the verb and resource.
    logController: new LogController({ disableRequestLogging: true }),
    // HTTP/2, when enabled, where the client offers it by ALPN (kube-apiserver's proxy does, and multiplexes its
    // watches and requests on a few connections); HTTP/1.1 for the clients that offer nothing else and for connection
    // upgrades, which kube-apiserver always dials as http/1.1 (k8s.io/apimachinery's proxy DialURL).
    // Off, the server is node:https's: node:http2's server always offers h2 by ALPN, whatever ALPNProtocols says.
    http2: deps.http2 as true,
    // Idle HTTP/2 connections are closed by trackHttp2Sessions below, counting streams rather than frames.
    http2SessionTimeout: 0,
    https: {
      allowHTTP1: true,
      settings: http2Settings,
      // Watch events are small writes that must leave at once, on either protocol.
      noDelay: true,
      key: deps.cert.key,
      cert: deps.cert.cert,
      // Ask for client certificates (the front proxy's, users'), never require them: tokens and anonymous
      // requests are fine. The handshake advertises these CAs, so Go clients pick the matching certificate.
      ...(deps.clientCaPem ? { requestCert: true, rejectUnauthorized: false, ca: deps.clientCaPem } : {}),
      // client-go gives up on a handshake after 10 s; a connection that has not finished one by then is no client.
      handshakeTimeout: 10_000,
    },
    // Path segments are bounded by the header limit alone, as in Go; an overlong name is a 404 from the store.
    routerOptions: { maxParamLength: maxHeaderBytes },
    rewriteUrl: (request) => withValidUtf8Path(request.url ?? '/'),
    // What Node's HTTP parser refuses (headers past the limit or too slow, malformed requests), as a Status. As
    // Go's server does (its rstAvoidanceDelay), the answer is sent, our side closed, and the client given half a
    // second to read it before the connection is reset; what it still sends is read and dropped, not parsed.
    clientErrorHandler: (error, socket) => {
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || socket.destroyed || answeredClientErrors.has(socket)) return;
      answeredClientErrors.add(socket);
      socket.removeAllListeners('data');
      socket.on('data', () => undefined);
      if (socket.writable) endWithStatus(socket, clientErrorStatus((error as NodeJS.ErrnoException).code));
      setTimeout(() => socket.destroy(), 500).unref();
    },
    // What the router refuses before any hook runs (a malformed escape such as `%zz`): Go's server refuses it
    // with a 400 before authentication too; here it is a Status.
    frameworkErrors: (error, _request, reply) => {
      void sendStatus(reply as unknown as FastifyReply, apiErrors.badRequest(error.message));
    },
    // Watches last up to an hour and may be quiet for minutes: no socket inactivity timeout.
    connectionTimeout: 0,
    bodyLimit: deps.maxRequestBodyBytes,
    requestIdHeader: 'audit-id',
    genReqId: () => randomUUID(),
    // Requests that still arrive while closing get the 429 of the shutdown's refusal, which client-go retries,
    // rather than Fastify's 503 without Retry-After, which it does not.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Fastify types an HTTP/2 server's raw objects as node:http2's; with allowHTTP1 they are IncomingMessage and
    // ServerResponse as often, and the routes use only what both have (http-protocol.ts holds the differences).
  }) as unknown as HttpsFastify;
  // node:http2 serves HTTP/1.1 connections with node:http's code, which reads these from the server object; its
  // constructor sets fixed values and ignores the options of the same names.
  const server = fastify.server as unknown as Http2SecureServer & {
    headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; maxHeaderSize: number; connectionsCheckingInterval: number;
  };
  // kube-apiserver's ReadHeaderTimeout is 32 s; a request whose headers take longer than the request timeout could
  // not finish anyway. Node checks these deadlines on this interval (30 s by default).
  server.headersTimeout = Math.min(32_000, deps.limits.requestTimeoutMs);
  server.connectionsCheckingInterval = 1_000;
  // Node's request timeout would also cut uploads through notebooks/proxy, which kube leaves unbounded: bodies of
  // other requests are bounded by --request-timeout in the onRequest hook instead.
  server.requestTimeout = 0;
  server.keepAliveTimeout = keepAliveTimeoutMs;
  // Go's http.DefaultMaxHeaderBytes, which kube-apiserver keeps: a selector of thousands of terms fits.
  server.maxHeaderSize = maxHeaderBytes;
  const http2Sessions = trackHttp2Sessions(server, keepAliveTimeoutMs);
  server.on('secureConnection', (socket: TLSSocket) => {
    const protocol = socket.alpnProtocol || 'http/1.1';
    deps.metrics.connections.inc({ protocol });
    deps.metrics.openConnections.inc({ protocol });
    socket.once('close', () => deps.metrics.openConnections.dec({ protocol }));
  });
  const shutdownController = new AbortController();
  let shuttingDown = false;
  // After the shutdown delay: new requests are refused, and the server waits for those in flight to finish.
  let refusing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  // Answers not yet finished: when the shutdown begins, those still to write their headers close their connection.
  const unfinished = new Set<RawResponse>();

  // The kind a body sent to a namespaced resource path decodes into, from the same parse authorization uses.
  const kindOfPath = (method: string, url: string): string | undefined => {
    const request = requestAttributes(method, url);
    if (request.kind !== 'resource' || request.attributes.namespace === '') return undefined;
    const { resource, subresource } = request.attributes;
    return deps.registry.subresources(resource).get(subresource)?.gvk.kind ?? deps.registry.stores.get(resource)?.strategy.info.kind;
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(jsonTypes, { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      const parsed = parseJsonBody(text);
      if (parsed.duplicates.length > 0) request.duplicateFields = parsed.duplicates;
      done(null, parsed.value);
    } catch (error) {
      const target = {
        method: request.method,
        contentType: request.headers['content-type'],
        fieldValidation: (request.query as Record<string, unknown>).fieldValidation,
        kind: kindOfPath(request.method, request.url),
      };
      done(apiErrors.badRequest(jsonBodyRefusal(target, text, (error as Error).message)), undefined);
    }
  });
  fastify.addContentTypeParser(textPatchTypes, { parseAs: 'string' }, (_request, body, done) => done(null, body));

  fastify.setErrorHandler((error, request, reply) => {
    const apiError = statusOf(error);
    // Work cut short because its client left or its time ran out is not a server failure: its 504 or closed
    // connection has been answered already.
    if (request.abortSignal?.aborted) request.log.debug({ err: error }, 'request abandoned');
    else if (apiError.code >= 500) request.log.error({ err: error }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return;
    // Refused before authorization let it in: the client stops sending a body nobody wants.
    if (!request.authorized && !request.raw.complete) abandonBody(request.raw, reply.raw);
    void sendStatus(reply, apiError);
  });
  const servedResources = new Set(deps.registry.stores.keys());
  const { group, version } = deps.registry.groupVersion;
  fastify.setNotFoundHandler(async (request) => {
    // A method no route serves, on a path that names one of our resources: 405, as kube answers a CRD.
    const attributes = requestAttributes(request.method, request.url);
    throw attributes.kind === 'resource' && attributes.attributes.group === group && servedResources.has(attributes.attributes.resource)
      ? apiErrors.methodNotSupported({ group, resource: attributes.attributes.resource, kind: '' }, attributes.attributes.verb)
      : apiErrors.routeNotFound();
  });

  const flowControl = new FlowControl({
    maxRequestsInflight: deps.limits.maxRequestsInflight,
    maxMutatingRequestsInflight: deps.limits.maxMutatingRequestsInflight,
    priorityAndFairness: deps.limits.enablePriorityAndFairness,
    requestTimeoutMs: deps.limits.requestTimeoutMs,
    metrics: deps.metrics,
    countObjects: (resource, namespace) => deps.registry.stores.get(resource)?.count(namespace) ?? 0,
  });
  fastify.server.maxConnections = deps.limits.maxConnections;

  const identity = new Identity(deps.authenticator, deps.authorizer);
  const auditor = deps.auditor;
  if (auditor) {
    fastify.addHook('onSend', (request, reply, payload, done) => {
      auditor.responseBody(request, reply.statusCode, payload);
      done(null, payload);
    });
  }

  /**
   * Kube's timeout filter: a 504 Status if nothing was written yet, else the connection is cut mid-response. Written
   * here, not thrown to the error handler: the route's handler may still be running and must find the reply taken.
   */
  const timeOut = (request: FastifyRequest, reply: FastifyReply, work: AbortController): void => {
    work.abort();
    const res = reply.raw;
    if (res.writableEnded) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    reply.hijack();
    if (!request.raw.complete) abandonBody(request.raw, res);
    writeStatus(res, requestTimedOut(), { 'Audit-Id': String(request.id) });
  };

  fastify.addHook('onRequest', async (request, reply) => {
    const started = performance.now();
    const path = request.url.split('?')[0]!;
    if (shuttingDown) {
      // On the raw response so hijacked answers (watches, Statuses written directly) carry it too: clients and
      // kube-apiserver's proxy open their next connection through the Service, to a replica that stays.
      closeConnection(reply.raw);
      if (refusing && !exemptFromShutdownRefusal(path, request.headers['user-agent'])) throw shuttingDownError();
    }
    const requestClass = classify(request.method, path, request.query as Record<string, string | string[] | undefined>, deps.registry.groupVersion);
    const longRunning = requestClass.longRunning;
    reply.header('Audit-Id', request.id);
    const aborted = new AbortController();
    request.abortSignal = aborted.signal;
    // As kube's timeout filter, which runs before authentication and the limiter: waiting for a seat counts too.
    const timer = longRunning ? undefined : setTimeout(() => timeOut(request, reply, aborted), deps.limits.requestTimeoutMs);
    if (longRunning) deps.metrics.longRunning.inc(longRunning);
    else inFlight++;
    unfinished.add(reply.raw);
    let releaseSeats: (() => void) | undefined;
    let closed = false;
    reply.raw.once('close', () => {
      closed = true;
      unfinished.delete(reply.raw);
      if (!longRunning && --inFlight === 0) drained?.();
      clearTimeout(timer);
      releaseSeats?.();
      if (longRunning) deps.metrics.longRunning.dec(longRunning);
      // 'close' before the response finished means the client went away: stop the work done for it.
      if (!reply.raw.writableFinished) aborted.abort();
      const info = request.apiInfo ?? { verb: request.method.toLowerCase(), resource: '', subresource: '' };
      const code = String(reply.raw.statusCode);
      deps.metrics.requests.inc({ ...info, code });
      const seconds = (performance.now() - started) / 1000;
      if (info.verb !== 'watch') deps.metrics.latency.observe(info, seconds);
      request.log.debug({ verb: info.verb, resource: info.resource, code, ms: Math.round(seconds * 1000), url: request.url }, 'request');
    });
    if (unauthenticatedPaths.has(path)) {
      request.authorized = true;
      return;
    }
    const user = await identity.authenticate({ headers: request.headers, rawHeaders: request.raw.rawHeaders, socket: connectionOf(request.raw) }, request.log);
    request.user = user;
    request.log = request.log.child({ user: user.name });
    // After authentication, as kube's WithAudit: the policy matches on the user.
    auditor?.begin(request, reply, user, longRunning !== undefined);
    // After authentication, before authorization, as in kube's handler chain: the flow is the user. Members of
    // system:masters are exempt, as APF's exempt priority level and the max-in-flight filter exempt them.
    if (!requestClass.exempt && !longRunning && !user.groups.includes('system:masters')) {
      const release = await flowControl.acquire(requestClass, user.name, aborted.signal);
      if (closed) release();
      else releaseSeats = release;
    }
  });

  // preParsing, not preHandler: kube-apiserver authorizes before it decodes a body, so a request it refuses gets its
  // 403 whatever its body (too large, malformed, of an unknown type) and the body is never read.
  fastify.addHook('preParsing', async (request) => {
    if (request.authorized) return;
    await identity.authorize(request.user!, request.method, request.url, request.log, auditor && ((decision) => auditor.decided(request, decision)));
    request.authorized = true;
  });

  fastify.get('/version', async (_request, reply) => sendJson(reply, JSON.stringify({
    major: '1',
    minor: kubernetesVersion.split('.')[1],
    gitVersion: kubernetesVersion,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '2026-11-28T00:00:00Z',
    goVersion: 'node',
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch}`,
  })));

  const resources = deps.registry.strategies;
  const discoveryBody = (accept: string | undefined, legacy: () => unknown, aggregated: (v: 'v2' | 'v2beta1') => unknown) => {
    const wanted = wantsAggregatedDiscovery(accept);
    if (!wanted) return { type: 'application/json', body: JSON.stringify(legacy()) };
    return { type: aggregatedDiscoveryContentType(wanted), body: JSON.stringify(aggregated(wanted)) };
  };
  const serveDiscovery = (path: string, legacy: () => unknown, aggregated: (v: 'v2' | 'v2beta1') => unknown): void => {
    fastify.get(path, async (request, reply) => {
      const { type, body } = discoveryBody(request.headers.accept, legacy, aggregated);
      const etag = etagOf(body);
      reply.header('ETag', etag).header('Vary', 'Accept');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return sendJson(reply, body, type);
    });
  };
  serveDiscovery('/apis', () => apiGroupList(group, version), (v) => aggregatedDiscovery(resources, group, version, v));
  serveDiscovery('/api', () => ({ kind: 'APIVersions', versions: [], serverAddressByClientCIDRs: [] }), emptyAggregatedDiscovery);
  const groupDocument = JSON.stringify(apiGroup(group, version));
  const resourceListDocument = JSON.stringify(apiResourceList(resources, group, version));
  fastify.get(`/apis/${group}`, async (_request, reply) => sendJson(reply, groupDocument));
  fastify.get(`/apis/${group}/${version}`, async (_request, reply) => sendJson(reply, resourceListDocument));

  registerOpenApi(fastify, resources);
  registerHealth(fastify, {
    livez: [{ name: 'ping', check: async () => undefined }],
    readyz: [
      { name: 'ping', check: async () => undefined },
      {
        name: 'etcd',
        check: async () => {
          await Promise.race([
            deps.storage.currentRevision(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('etcd did not answer in 2 s')), 2_000).unref()),
          ]);
        },
      },
      {
        name: 'watch-cache-sync',
        check: async () => {
          if (!deps.registry.synced) throw new Error('watch caches have not listed yet');
        },
      },
      {
        name: 'shutdown',
        check: async () => {
          if (shuttingDown) throw new Error('the server is shutting down');
        },
      },
    ],
  });
  fastify.get('/metrics', async (_request, reply) =>
    reply.header('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.exposition()),
  );
  registerRest(fastify, { registry: deps.registry, metrics: deps.metrics, shutdown: shutdownController.signal });
  mountConnect(fastify, deps.registry.stores, deps.connect, identity, {
    logger: deps.logger,
    shutdown: shutdownController.signal,
    notebookUpstream: deps.notebookUpstream,
    ...(deps.podLogs ? { podLogs: deps.podLogs } : {}),
  });

  let serving = deps.cert;
  let clientCas = deps.clientCaPem;
  return {
    fastify,
    updateClientCas: (pem: string) => {
      clientCas = pem;
      fastify.server.setSecureContext({ key: serving.key, cert: serving.cert, ca: clientCas });
    },
    updateServingCert: (cert: ServingCert) => {
      serving = cert;
      // setSecureContext replaces the whole context: the client CAs go with every new pair.
      fastify.server.setSecureContext({ key: serving.key, cert: serving.cert, ...(clientCas ? { ca: clientCas } : {}) });
    },
    shutdown: async (delaySeconds: number) => {
      shuttingDown = true;
      for (const res of unfinished) if (!res.headersSent) closeConnection(res);
      if (delaySeconds > 0) await new Promise((r) => setTimeout(r, delaySeconds * 1000));
      refusing = true;
      shutdownController.abort();
      deps.logger.info({ inFlight }, 'shutdown delay over: new requests refused, watches ended, waiting for requests in flight');
      // Requests are bounded by --request-timeout, so this wait is too.
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      deps.logger.info('requests in flight finished: closing the listener and idle connections');
      // HTTP/2 connections are not among the idle ones Fastify closes: each gets its GOAWAY and ends with its streams.
      await http2Sessions.closeAll();
      await fastify.close();
    },
  };
}
