// Connect subresources (kube's rest.Connecter): notebooks/proxy, jobs/logs. A resource definition declares each
// with the handler that serves it; this file mounts every declaration on its path, generically: requests through
// Fastify with their bodies left unread, connection upgrades authenticated and authorized like any request.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import type { PodLogs } from '../kube/pod-logs.js';
import type { UserInfo } from '../auth/user.js';
import type { AdmissionAttributes } from '../registry/admission.js';
import { defineResource, type ResourceDefinition } from '../registry/definition.js';
import type { Store } from '../registry/store.js';
import type { ConnectSubresource, Strategy } from '../registry/strategy.js';
import type { KubeObject } from '../api/meta/types.js';
import type { Identity } from './identity.js';
import { endWithStatus } from './status-response.js';
import type { HttpsFastify } from './types.js';
import { withValidUtf8Path } from './url-path.js';

/** The object a connect request is for. */
export interface ConnectTarget {
  namespace: string;
  name: string;
}

export interface ConnectHandler {
  serve(request: FastifyRequest, reply: FastifyReply, target: ConnectTarget): Promise<void>;
  /** A connection upgrade (a WebSocket) on the same path, already authenticated and authorized; absent: 404. */
  upgrade?(request: IncomingMessage, socket: Socket, head: Buffer, target: ConnectTarget): Promise<void>;
}

/** What a handler may use: its resource's store and the server's services. */
export interface ConnectContext {
  store: Store;
  logger: Logger;
  /** Aborted at shutdown: open streams are cut so the server can stop. */
  shutdown: AbortSignal;
  /** Where notebooks/proxy sends a notebook's traffic; {namespace} and {name} are replaced. */
  notebookUpstream: string;
  /** Pods and their logs through kube-apiserver; absent in standalone mode. */
  podLogs?: PodLogs;
}

export type ConnectHandlerFactory = (context: ConnectContext) => ConnectHandler;

export interface ConnectDeclaration extends ConnectSubresource {
  handler: ConnectHandlerFactory;
}

/** A resource definition whose connect subresources come with their handlers. */
export interface ServedDefinition extends ResourceDefinition {
  connect?: ConnectDeclaration[];
}

export interface ServedResources {
  /** What the registry builds its stores from. */
  strategies: readonly Strategy[];
  /** The connect subresources to mount, by resource. */
  connect: ReadonlyMap<string, readonly ConnectDeclaration[]>;
}

/**
 * The strategies and connect handlers of a list of definitions, checked: each definition complete, resource names
 * unique, one group-version for all (the server serves one).
 */
export function servedResources(definitions: readonly ServedDefinition[]): ServedResources {
  const strategies = definitions.map(defineResource);
  const connect = new Map<string, readonly ConnectDeclaration[]>();
  for (const definition of definitions) {
    if (connect.has(definition.resource)) throw new Error(`resource ${definition.resource} is defined twice`);
    connect.set(definition.resource, definition.connect ?? []);
    const first = definitions[0]!;
    if (definition.group !== first.group || definition.version !== first.version) {
      throw new Error(`resource ${definition.resource} is in ${definition.group}/${definition.version}, not ${first.group}/${first.version} as ${first.resource}`);
    }
  }
  if (strategies.length === 0) throw new Error('no resources to serve');
  return { strategies, connect };
}

interface Mounted {
  pattern: RegExp;
  handler: ConnectHandler;
  store: Store;
  declaration: ConnectSubresource;
}

/**
 * CONNECT admission, as kube's connect handler runs it before connecting: mutating then validating plugins see the
 * connect options (NotebookProxyOptions, JobLogOptions) as the object, without old object or options.
 */
async function admitConnect(store: Store, declaration: ConnectSubresource, user: UserInfo, target: ConnectTarget, url: string, signal?: AbortSignal): Promise<void> {
  const chain = store.admission;
  if (!chain) return;
  const { group, version, resource } = store.strategy.info;
  const [path = '', search = ''] = url.split('?', 2);
  const query = new URLSearchParams(search);
  // Options carry no metadata (TypeMeta only), as kube's connect options do.
  const object: Record<string, unknown> = { kind: declaration.kind, apiVersion: `${group}/${version}` };
  const prefix = `/${declaration.name}`;
  const at = path.indexOf(prefix, path.indexOf(`/${resource}/`));
  if (declaration.path && at >= 0) object.path = decodeURIComponent(path.slice(at + prefix.length)) || undefined;
  for (const param of declaration.query) {
    const value = query.get(param.name);
    if (value === null) continue;
    object[param.name] = param.type === 'integer' ? Number(value) : param.type === 'boolean' ? value === 'true' : value;
  }
  if (object.path === undefined) delete object.path;
  const attributes: AdmissionAttributes = {
    operation: 'CONNECT',
    kind: { group, version, kind: declaration.kind },
    resource: { group, version, resource },
    subResource: declaration.name,
    name: target.name,
    namespace: target.namespace,
    object: object as unknown as KubeObject,
    oldObject: null,
    dryRun: false,
    options: null,
    userInfo: user,
  };
  await chain.mutate(attributes, signal);
  await chain.validate(attributes, signal);
}

/**
 * Mounts the connect subresources of every resource the registry serves; throws when one the registry's
 * strategies declare has no handler here.
 */
export function mountConnect(
  app: HttpsFastify,
  stores: ReadonlyMap<string, Store>,
  handlers: ReadonlyMap<string, readonly ConnectDeclaration[]>,
  identity: Identity,
  context: Omit<ConnectContext, 'store'>,
): void {
  const upgrades: Mounted[] = [];
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const [resource, store] of stores) {
    const { group, version, connect: declared = [] } = store.strategy.info;
    const available = handlers.get(resource) ?? [];
    for (const declaration of declared) {
      const found = available.find((d) => d.name === declaration.name);
      if (!found) throw new Error(`connect subresource ${resource}/${declaration.name} has no handler`);
      const handler = found.handler({ ...context, store });
      const base = `/apis/${group}/${version}/namespaces/:namespace/${resource}/:name/${declaration.name}`;
      void app.register(async (scope) => {
        // Bodies pass through untouched, whatever their type: no parser reads them.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
        for (const url of declaration.path ? [base, `${base}/*`] : [base]) {
          scope.route({
            method: [...declaration.methods],
            url,
            // A GET-only subresource answers HEAD as a GET without its body, as Fastify's GET routes do.
            exposeHeadRoute: !declaration.methods.includes('HEAD'),
            handler: async (request, reply) => {
              const { namespace, name } = request.params as ConnectTarget;
              if (request.user) await admitConnect(store, declaration, request.user, { namespace, name }, request.url, request.abortSignal);
              return handler.serve(request, reply, { namespace, name });
            },
          });
        }
      });
      if (handler.upgrade) {
        const tail = declaration.path ? '(?:/|$)' : '$';
        const pattern = new RegExp(`^/apis/${escape(group)}/${escape(version)}/namespaces/([^/]+)/${escape(resource)}/([^/]+)/${escape(declaration.name)}${tail}`);
        upgrades.push({ pattern, handler, store, declaration });
      }
    }
  }
  if (upgrades.length === 0) return;
  const upgrade = async (request: IncomingMessage, socket: Socket, head: Buffer): Promise<void> => {
    // As the router treats every other request (app.ts): undecodable UTF-8 reaches handlers as U+FFFD, and a
    // malformed escape (`%zz`) is Go's 400, answered before anything else.
    const url = withValidUtf8Path(request.url ?? '/');
    const path = url.split('?')[0]!;
    if (/%(?![0-9a-fA-F]{2})/.test(path)) return endWithStatus(socket, apiErrors.badRequest(`'${path}' is not a valid url component`));
    const mounted = upgrades.find((m) => m.pattern.test(path));
    const match = mounted?.pattern.exec(path);
    if (!mounted || !match) return endWithStatus(socket, apiErrors.routeNotFound());
    const target = { namespace: decodeURIComponent(match[1]!), name: decodeURIComponent(match[2]!) };
    try {
      const user = await identity.authenticate({ headers: request.headers, rawHeaders: request.rawHeaders, socket: socket as TLSSocket }, context.logger);
      await identity.authorize(user, request.method ?? 'GET', url, context.logger);
      await admitConnect(mounted.store, mounted.declaration, user, target, url);
    } catch (error) {
      return endWithStatus(socket, error instanceof ApiError ? error : apiErrors.internal(String(error)));
    }
    await mounted.handler.upgrade!(request, socket, head, target);
  };
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(request, socket as Socket, head).catch((error: unknown) => {
      context.logger.warn({ err: error }, 'connection upgrade failed');
      socket.destroy();
    });
  });
}
