// The REST routes of the group: every verb of every resource and subresource, with content negotiation. Routes
// only parse HTTP and render results; the rules live in the registry.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpsFastify } from './types.js';
import type { KubeObject } from '../api/meta/types.js';
import { group, version } from '../api/v1alpha1/schemas.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import type { Registry } from '../registry/registry.js';
import type { ListResult, Store, WriteResult } from '../registry/store.js';
import type { ScaleStrategy } from '../registry/strategy.js';
import { ScaleManagedFields } from '../fieldmanager/scale-managed-fields.js';
import { encodeList, encodeObject, type EncodeContext } from './encoders.js';
import type { ServerMetrics } from './metrics.js';
import { contentTypes, listContentTypes, mediaTypeOf, negotiate } from './negotiation.js';
import {
  applyPatch,
  applyStrictError,
  jsonPatchUnknownFields,
  parseApplyPatch,
  patchStrictError,
  patchTypeOf,
  unsupportedPatch,
  validatePatch,
  type PatchType,
} from './patch.js';
import { deleteOptions, includeObjectOf, listOptions, writeOptions as parseWriteOptions, type Query } from './request-options.js';
import { sendJson } from './send.js';
import { warningHeaders } from './warnings.js';
import { streamError, streamWatch } from './watch-stream.js';

export interface RestDeps {
  registry: Registry;
  metrics: ServerMetrics;
  /** Aborted at shutdown: open watches end cleanly. */
  shutdown: AbortSignal;
}

/** What a request is, for metrics and logs (kube's RequestInfo). */
export interface ApiRequestInfo {
  verb: string;
  resource: string;
  subresource: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiInfo?: ApiRequestInfo;
    /** Aborted when the client disconnects before the response is complete. */
    abortSignal?: AbortSignal;
  }
}

type Params = { namespace?: string; resource: string; name?: string; subresource?: string };

const methodNotAllowed = apiErrors.methodNotAllowed;
const notFound = apiErrors.routeNotFound;

function notAcceptable(): ApiError {
  return new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io');
}

function warningHeader(reply: FastifyReply, warnings: string[]): void {
  const headers = warningHeaders(warnings);
  if (headers.length > 0) reply.header('Warning', headers);
}

export function registerRest(app: HttpsFastify, deps: RestDeps): void {
  const base = `/apis/${group}/${version}`;
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

  const storeFor = (request: FastifyRequest): Store => {
    const { resource } = request.params as Params;
    const store = deps.registry.stores.get(resource);
    if (!store) throw notFound();
    return store;
  };

  const context = (request: FastifyRequest, store: Store, list: boolean): EncodeContext => {
    const representation = negotiate(request.headers.accept, list);
    if (!representation) throw notAcceptable();
    return { info: store.strategy.info, representation, includeObject: includeObjectOf(request.query as Query) };
  };

  const sendObject = (request: FastifyRequest, reply: FastifyReply, store: Store, object: KubeObject, code = 200): FastifyReply => {
    const ctx = context(request, store, false);
    return sendJson(reply, encodeObject(ctx, { object, json: JSON.stringify(object) }), contentTypes[ctx.representation], code);
  };

  const sendWrite = (request: FastifyRequest, reply: FastifyReply, store: Store, result: WriteResult, code = 200): FastifyReply => {
    warningHeader(reply, result.warnings);
    return sendObject(request, reply, store, result.object, result.created ? 201 : code);
  };

  const sendList = (request: FastifyRequest, reply: FastifyReply, store: Store, result: ListResult): FastifyReply => {
    const ctx = context(request, store, true);
    // One 64 KiB chunk ahead of the socket, not Readable.from's default of 16: hundreds of LISTs in flight
    // would otherwise hold a MiB each before the client read any of it.
    const body = Readable.from(encodeList(ctx, result), { highWaterMark: 1 });
    return reply.header('Content-Type', listContentTypes[ctx.representation]).send(body);
  };

  // Never the request's own 'close': Node emits it once the body is read, long before the work is done.
  const signalOf = (request: FastifyRequest): AbortSignal => request.abortSignal ?? new AbortController().signal;

  const listOrWatch = async (request: FastifyRequest, reply: FastifyReply, namespace: string | undefined, pinnedName?: string): Promise<FastifyReply | void> => {
    const store = storeFor(request);
    const query = request.query as Query;
    const options = listOptions(query, signalOf(request));
    if (pinnedName !== undefined) {
      options.fieldSelector = [`metadata.name=${pinnedName}`, options.fieldSelector].filter(Boolean).join(',');
    }
    const resource = store.strategy.info.resource;
    if (!options.watch && pinnedName === undefined) {
      request.apiInfo = { verb: 'list', resource, subresource: '' };
      return sendList(request, reply, store, await store.list(namespace, options));
    }
    request.apiInfo = { verb: 'watch', resource, subresource: '' };
    const ctx = context(request, store, false);
    let watcher;
    try {
      watcher = await store.watch(namespace, options);
    } catch (error) {
      // Too old a resourceVersion is an ERROR event on a 200 stream, which is what reflectors expect.
      if (error instanceof ApiError && error.code === 410) return streamError(request, reply, ctx, error.status);
      throw error;
    }
    await streamWatch(request, reply, watcher, ctx, {
      timeoutSeconds: options.timeoutSeconds,
      shutdown: deps.shutdown,
      onOpen: () => deps.metrics.watchers.inc({ resource }),
      onClose: () => deps.metrics.watchers.dec({ resource }),
    });
  };

  app.route({
    method: [...methods],
    url: `${base}/namespaces/:namespace/:resource`,
    handler: async (request, reply) => {
      const store = storeFor(request);
      const { namespace } = request.params as Required<Params>;
      const query = request.query as Query;
      const resource = store.strategy.info.resource;
      switch (request.method) {
        case 'GET':
          return listOrWatch(request, reply, namespace);
        case 'POST': {
          request.apiInfo = { verb: 'create', resource, subresource: '' };
          const result = await store.create(namespace, request.body, writeOptions(request, 'CreateOptions'));
          return sendWrite(request, reply, store, result, 201);
        }
        case 'DELETE': {
          request.apiInfo = { verb: 'deletecollection', resource, subresource: '' };
          const { options, dryRun } = deleteOptions(request.body, query);
          const result = await store.deleteCollection(namespace, listOptions(query, signalOf(request)), options, { dryRun });
          return sendList(request, reply, store, result);
        }
        default:
          throw methodNotAllowed();
      }
    },
  });

  app.route({
    method: [...methods],
    url: `${base}/namespaces/:namespace/:resource/:name`,
    handler: async (request, reply) => {
      const store = storeFor(request);
      const { namespace, name } = request.params as Required<Params>;
      const query = request.query as Query;
      const resource = store.strategy.info.resource;
      switch (request.method) {
        case 'GET': {
          if (listOptions(query, signalOf(request)).watch) return listOrWatch(request, reply, namespace, name);
          request.apiInfo = { verb: 'get', resource, subresource: '' };
          const read = await store.get(namespace, name, (query.resourceVersion as string | undefined) ?? '', signalOf(request));
          return sendObject(request, reply, store, read.object);
        }
        case 'PUT': {
          request.apiInfo = { verb: 'update', resource, subresource: '' };
          return sendWrite(request, reply, store, await store.update(namespace, name, request.body, writeOptions(request, 'UpdateOptions')));
        }
        case 'PATCH': {
          request.apiInfo = { verb: 'patch', resource, subresource: '' };
          return sendWrite(request, reply, store, await patch(request, store, namespace, name, false));
        }
        case 'DELETE': {
          request.apiInfo = { verb: 'delete', resource, subresource: '' };
          const { options, dryRun } = deleteOptions(request.body, query);
          const { object, deleted } = await store.delete(namespace, name, options, { dryRun });
          const accepted = !deleted && options.orphanDependents === false;
          return sendObject(request, reply, store, object, accepted ? 202 : 200);
        }
        default:
          throw methodNotAllowed();
      }
    },
  });

  app.route({
    method: [...methods],
    url: `${base}/namespaces/:namespace/:resource/:name/:subresource`,
    handler: async (request, reply) => {
      const store = storeFor(request);
      const { namespace, name, subresource } = request.params as Required<Params>;
      const info = store.strategy.info;
      if (!info.subresources.includes(subresource)) throw notFound();
      const query = request.query as Query;
      const verb = { GET: 'get', PUT: 'update', PATCH: 'patch' }[request.method as 'GET' | 'PUT' | 'PATCH'];
      if (!verb) throw methodNotAllowed();
      request.apiInfo = { verb, resource: info.resource, subresource };
      if (subresource === 'scale') return scale(request, reply, store, store.strategy.scale!, namespace, name);
      if (request.method === 'GET') {
        return sendObject(request, reply, store, (await store.get(namespace, name, (query.resourceVersion as string | undefined) ?? '')).object);
      }
      if (request.method === 'PUT') {
        return sendWrite(request, reply, store, await store.updateStatus(namespace, name, request.body, writeOptions(request, 'UpdateOptions')));
      }
      return sendWrite(request, reply, store, await patch(request, store, namespace, name, true));
    },
  });

  app.route({
    method: [...methods],
    url: `${base}/:resource`,
    handler: async (request, reply) => {
      storeFor(request);
      if (request.method !== 'GET') throw methodNotAllowed();
      return listOrWatch(request, reply, undefined);
    },
  });

  function writeOptions(request: FastifyRequest, kind: string, patchType?: PatchType): ReturnType<typeof parseWriteOptions> {
    // A create or update body is an object, never a patch: kube answers 415 rather than reading a patch as one.
    if (kind !== 'PatchOptions' && request.body !== undefined && mediaTypeOf(request.headers['content-type']) !== 'application/json') {
      throw apiErrors.unsupportedMediaType(['application/json']);
    }
    const options = parseWriteOptions({
      query: request.query as Query,
      kind,
      signal: signalOf(request),
      userAgent: request.headers['user-agent'],
      ...(patchType ? { apply: patchType === 'apply' } : {}),
    });
    // kube decodes a JSON patch strictly into its operation type, anything else into an object.
    const prefix = patchType === 'json' ? 'json patch ' : '';
    const strictErrors = [
      ...(request.duplicateFields ?? []).map((field) => `${prefix}duplicate field ${JSON.stringify(field.path)}`),
      ...(patchType === 'json' && options.fieldValidation !== 'Ignore' ? jsonPatchUnknownFields(request.body) : []),
    ];
    if (strictErrors.length > 0) options.strictErrors = strictErrors;
    return options;
  }

  function patchTypeOrThrow(request: FastifyRequest): PatchType {
    const type = patchTypeOf(request.headers['content-type']);
    if (!type) throw unsupportedPatch();
    return type;
  }

  /** PATCH of the main resource or /status: merge, JSON patch or server-side apply. */
  async function patch(request: FastifyRequest, store: Store, namespace: string, name: string, status: boolean): Promise<WriteResult> {
    const type = patchTypeOrThrow(request);
    const options = writeOptions(request, 'PatchOptions', type);
    if (type === 'apply') {
      const { config, strictErrors } = await parseApplyPatch(request.body);
      if (strictErrors.length > 0 && options.fieldValidation === 'Strict') throw applyStrictError(strictErrors);
      const result = await store.apply(namespace, name, config, { fieldManager: options.fieldManager!, force: options.force ?? false }, options, status);
      return options.fieldValidation === 'Warn' ? { ...result, warnings: [...result.warnings, ...strictErrors] } : result;
    }
    validatePatch(type, request.body, options.fieldValidation !== 'Ignore');
    return store.patch(
      namespace,
      name,
      (current) => {
        const patched = applyPatch(type, current, request.body);
        if (options.strictErrors && options.fieldValidation === 'Strict') throw patchStrictError(patched, options.strictErrors);
        return patched;
      },
      options,
      status,
    );
  }

  /** autoscaling/v1 Scale over a resource's replicas: what an HPA or `kubectl scale` reads and writes. */
  async function scale(request: FastifyRequest, reply: FastifyReply, store: Store, strategy: ScaleStrategy, namespace: string, name: string): Promise<FastifyReply> {
    const toScale = (object: KubeObject): Record<string, unknown> => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
        creationTimestamp: object.metadata.creationTimestamp,
      },
      spec: { replicas: strategy.specReplicas(object) },
      status: { replicas: strategy.statusReplicas(object), selector: strategy.selector(object) },
    });
    // As for custom resources, a Scale is built from the parent without managedFields: owners live on the parent.
    const send = (object: KubeObject): FastifyReply => sendJson(reply, JSON.stringify(toScale(object)));
    if (request.method === 'GET') return send((await store.get(namespace, name)).object);
    const fieldManager = store.fieldManagers.scale!;
    const patchType = request.method === 'PATCH' ? patchTypeOrThrow(request) : undefined;
    const options = writeOptions(request, request.method === 'PUT' ? 'UpdateOptions' : 'PatchOptions', patchType);
    const manager = options.fieldManager ?? '';
    const config = patchType === 'apply' ? (await parseApplyPatch(request.body)).config : undefined;
    if (patchType && patchType !== 'apply') validatePatch(patchType, request.body);
    const parentVersion = `${store.strategy.info.group}/${store.strategy.info.version}`;
    const result = await store.patch(
      namespace,
      name,
      (current) => {
        // Ownership moves through the Scale: the owners of the parent's replicas own Scale's spec.replicas.
        const owners = new ScaleManagedFields(current.metadata.managedFields, parentVersion, strategy.replicasPath);
        const oldScale = toScale(current) as unknown as KubeObject;
        const subresourceOwners = owners.toSubresource();
        if (subresourceOwners) oldScale.metadata.managedFields = subresourceOwners;
        let wanted: KubeObject;
        if (config) wanted = fieldManager.apply(oldScale, config as unknown as KubeObject, manager, options.force ?? false);
        else {
          const body = (patchType && patchType !== 'apply' ? applyPatch(patchType, oldScale, request.body) : request.body) as KubeObject | null;
          if (body === null || typeof body !== 'object' || Array.isArray(body)) throw apiErrors.badRequest('the body of a Scale must be a JSON object');
          wanted = fieldManager.update(oldScale, { ...body, metadata: { ...(body.metadata ?? {}) } }, manager);
        }
        const replicas = (wanted.spec as { replicas?: unknown } | undefined)?.replicas;
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
          throw apiErrors.invalid({ group: 'autoscaling', resource: 'scale', kind: 'Scale' }, name, [
            { type: 'FieldValueInvalid', field: 'spec.replicas', value: replicas ?? null, detail: 'must be greater than or equal to 0' },
          ]);
        }
        const rv = wanted.metadata?.resourceVersion;
        if (rv && rv !== current.metadata.resourceVersion) throw apiErrors.modified(store.ref, name);
        const parent = strategy.withReplicas(current, replicas);
        const parentOwners = owners.toParent(wanted.metadata?.managedFields);
        const { managedFields: _old, ...metadata } = parent.metadata;
        return { ...parent, metadata: parentOwners ? { ...metadata, managedFields: parentOwners } : metadata };
      },
      { ...options, ownershipRecorded: true },
    );
    warningHeader(reply, result.warnings);
    return send(result.object);
  }
}
