// Audit of each request as k8s.io/apiserver's WithAudit filter does it: once the user is known the policy picks the
// level; at None nothing more happens. Otherwise an audit.k8s.io/v1 Event is written at RequestReceived, at
// ResponseStarted for long-running requests (once their headers are out) and at ResponseComplete, bodies included
// at the Request and RequestResponse levels. The Audit-Id kube-apiserver sent is the event's auditID, so the two
// logs join on it.
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { requestAttributes } from '../../auth/request-info.js';
import type { Decision, UserInfo } from '../../auth/user.js';
import { AuditLogWriter } from './log-writer.js';
import { AuditPolicy, levelAtLeast, parsePolicy, type AuditAttributes, type Level, type RequestAuditConfig, type Stage } from './policy.js';

/** Where events go: the log backend's write, which must return at once. */
export interface AuditSink {
  write(line: string): void;
}

export interface AuditMetrics {
  /** apiserver_audit_event_total: every event handed to the backend. */
  event(): void;
  /** apiserver_audit_level_total{level}: every request the policy was asked about. */
  level(level: Level): void;
}

interface ObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

interface AuditContext {
  config: RequestAuditConfig;
  event: Record<string, unknown> & { objectRef?: ObjectRef; annotations?: Record<string, string> };
  /** The answer's body as sent (not for streams), kept when the level or a failure needs it. */
  responseBody?: Buffer | string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the policy audits the request (any level but None). */
    audit?: AuditContext;
  }
}

/** RFC 3339 with microseconds, as kube's metav1.MicroTime is written. */
function microTime(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** k8s.io/utils/net's SourceIPs: X-Forwarded-For, then X-Real-Ip, then the peer unless it repeats the last. */
function sourceIPs(request: FastifyRequest): string[] {
  const ips: string[] = [];
  const forwarded = request.headers['x-forwarded-for'];
  for (const part of (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',')) {
    const ip = part.trim();
    if (isIP(ip)) ips.push(ip);
  }
  const realIp = request.headers['x-real-ip'];
  if (typeof realIp === 'string' && isIP(realIp.trim()) && !ips.includes(realIp.trim())) ips.push(realIp.trim());
  const peer = (request.raw.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (isIP(peer) && ips[ips.length - 1] !== peer) ips.push(peer);
  return ips;
}

function withoutManagedFields(object: unknown): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return object;
  const o = object as Record<string, unknown>;
  let result = o;
  const metadata = o.metadata;
  if (typeof metadata === 'object' && metadata !== null && 'managedFields' in metadata) {
    const { managedFields: _dropped, ...rest } = metadata as Record<string, unknown>;
    result = { ...o, metadata: rest };
  }
  if (Array.isArray(o.items)) result = { ...result, items: o.items.map(withoutManagedFields) };
  return result;
}

function parseBody(body: Buffer | string): unknown {
  try {
    return JSON.parse(body.toString());
  } catch {
    return undefined;
  }
}

export class Auditor {
  private readonly policy: AuditPolicy;

  constructor(
    policy: AuditPolicy,
    private readonly sink: AuditSink,
    private readonly metrics: AuditMetrics,
  ) {
    this.policy = policy;
  }

  /** Called once the request's user is known; a request the policy leaves at None costs nothing more. */
  begin(request: FastifyRequest, reply: FastifyReply, user: UserInfo, longRunning: boolean): void {
    const parsed = requestAttributes(request.method, request.url);
    const attrs: AuditAttributes =
      parsed.kind === 'resource'
        ? { user, resourceRequest: true, ...parsed.attributes }
        : { user, verb: parsed.verb, resourceRequest: false, path: parsed.path };
    const config = this.policy.evaluate(attrs);
    this.metrics.level(config.level);
    if (config.level === 'None') return;
    const event: AuditContext['event'] = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: config.level,
      auditID: String(request.id),
      stage: 'RequestReceived',
      requestURI: request.url,
      verb: attrs.verb,
      user: { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}) },
      sourceIPs: sourceIPs(request),
      ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
    };
    if (parsed.kind === 'resource') {
      const a = parsed.attributes;
      const ref: ObjectRef = { resource: a.resource };
      if (a.namespace) ref.namespace = a.namespace;
      if (a.name) ref.name = a.name;
      ref.apiGroup = a.group;
      ref.apiVersion = a.version;
      if (a.subresource) ref.subresource = a.subresource;
      event.objectRef = ref;
    }
    event.requestReceivedTimestamp = microTime();
    const context: AuditContext = { config, event };
    request.audit = context;
    this.emit(context, 'RequestReceived');
    const res = reply.raw;
    if (longRunning) this.onHeadersSent(res, () => this.emit(context, 'ResponseStarted', res.statusCode));
    res.once('close', () => this.complete(request, context, res));
  }

  /** The authorizer's decision, as the annotations kube's WithAuthorization adds. */
  decided(request: FastifyRequest, decision: Decision): void {
    const context = request.audit;
    if (!context) return;
    context.event.annotations = {
      ...context.event.annotations,
      'authorization.k8s.io/decision': decision.allowed ? 'allow' : 'forbid',
      'authorization.k8s.io/reason': decision.reason,
    };
  }

  /** The body of an answer sent through Fastify (onSend), kept when the level or a failure needs it. */
  responseBody(request: FastifyRequest, statusCode: number, payload: unknown): void {
    const context = request.audit;
    if (!context || !(typeof payload === 'string' || Buffer.isBuffer(payload))) return;
    if (statusCode >= 300 || context.config.level === 'RequestResponse') context.responseBody = payload;
  }

  private onHeadersSent(res: ServerResponse, then: () => void): void {
    const writeHead = res.writeHead;
    let fired = false;
    res.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
      const result = writeHead.apply(res, args);
      if (!fired) {
        fired = true;
        then();
      }
      return result;
    }) as ServerResponse['writeHead'];
  }

  private complete(request: FastifyRequest, context: AuditContext, res: ServerResponse): void {
    const { config, event } = context;
    const body = request.body;
    const fillsRef = event.verb === 'create' || event.verb === 'update';
    if (body !== undefined && body !== null && (fillsRef || levelAtLeast(config.level, 'Request'))) {
      const object = typeof body === 'string' ? safeYaml(body) : body;
      // As kube's LogRequestObject: what the path did not name is taken from the object a create or update sends.
      const meta = (object as { metadata?: Record<string, unknown> } | undefined)?.metadata;
      if (event.objectRef && meta && typeof meta === 'object' && fillsRef) {
        const ref = event.objectRef;
        for (const key of ['namespace', 'name', 'uid', 'resourceVersion'] as const) {
          if (!ref[key] && typeof meta[key] === 'string' && meta[key] !== '') ref[key] = meta[key] as string;
        }
      }
      if (levelAtLeast(config.level, 'Request')) event.requestObject = config.omitManagedFields ? withoutManagedFields(object) : object;
    }
    const code = res.statusCode;
    const status = context.responseBody === undefined ? undefined : parseBody(context.responseBody);
    const isStatus = typeof status === 'object' && status !== null && (status as { kind?: unknown }).kind === 'Status';
    if (isStatus) {
      // kube's responseStatus is the Status the handler answered with, code included.
      const s = status as Record<string, unknown>;
      event.responseStatus = {
        metadata: {},
        ...(s.status ? { status: s.status } : {}),
        ...(s.message ? { message: s.message } : {}),
        ...(s.reason ? { reason: s.reason } : {}),
        ...(s.details ? { details: s.details } : {}),
        code: typeof s.code === 'number' ? s.code : code,
      };
    } else {
      event.responseStatus = { metadata: {}, code };
    }
    if (config.level === 'RequestResponse' && status !== undefined) {
      event.responseObject = config.omitManagedFields ? withoutManagedFields(status) : status;
    }
    this.emit(context, 'ResponseComplete');
  }

  private emit(context: AuditContext, stage: Stage, code?: number): void {
    if (context.config.omitStages.has(stage)) return;
    const { event } = context;
    event.stage = stage;
    event.stageTimestamp = microTime();
    // kube's field order: responseStatus and the bodies after objectRef, the timestamps and annotations last.
    const { requestReceivedTimestamp, stageTimestamp, annotations, responseStatus, requestObject, responseObject, ...head } = event;
    const line = JSON.stringify({
      ...head,
      ...(responseStatus ? { responseStatus } : code !== undefined ? { responseStatus: { metadata: {}, code } } : {}),
      ...(requestObject !== undefined ? { requestObject } : {}),
      ...(responseObject !== undefined ? { responseObject } : {}),
      requestReceivedTimestamp,
      stageTimestamp,
      ...(annotations ? { annotations } : {}),
    });
    this.metrics.event();
    this.sink.write(line);
  }
}

function safeYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

export interface AuditBackend {
  auditor: Auditor;
  /** Writes what is still queued and closes the log. */
  close(): Promise<void>;
}

/** Reads and validates the policy (a refusal names the file and every invalid field), then opens the log. */
/**
 * The auditor of --audit-policy-file, writing to --audit-log-path, or to `sink` where another process writes the log
 * (a worker of --workers: see src/server/workers/).
 */
export async function openAudit(
  options: { policyFile: string; logPath: string; maxAgeDays: number; maxBackups: number; maxSizeMB: number },
  metrics: AuditMetrics & { error(): void },
  log: Pick<Logger, 'error'>,
  sink?: AuditSink,
): Promise<AuditBackend> {
  let text: string;
  try {
    text = await readFile(options.policyFile, 'utf8');
  } catch (error) {
    throw new Error(`--audit-policy-file: ${(error as Error).message}`);
  }
  let policy: AuditPolicy;
  try {
    policy = new AuditPolicy(parsePolicy(text));
  } catch (error) {
    throw new Error(`--audit-policy-file ${options.policyFile}: ${(error as Error).message}`);
  }
  if (sink) return { auditor: new Auditor(policy, sink, metrics), close: () => Promise.resolve() };
  let lastLogged = 0;
  const writer = new AuditLogWriter({
    ...options,
    path: options.logPath,
    failed: (error) => {
      metrics.error();
      // One line a second at most: a full disk fails every event.
      if (Date.now() - lastLogged < 1_000) return;
      lastLogged = Date.now();
      log.error({ err: error, component: 'audit' }, 'audit event lost');
    },
  });
  await writer.open();
  return { auditor: new Auditor(policy, writer, metrics), close: () => writer.close() };
}
