// The REST routes of the group: every verb of every resource and subresource, with content negotiation. Routes
// only parse HTTP and render results; the rules live in the registry.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpsFastify } from './types.js';
import type { KubeObject } from '../api/meta/types.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import type { Registry } from '../registry/registry.js';
import type { ListResult, ReadObject, Store, WriteResult } from '../registry/store.js';
import type { Subresource } from '../registry/subresources.js';
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
import { deleteOptions, includeObjectOf, listOptions, queryValue, writeOptions as parseWriteOptions, type Query } from './request-options.js';
import type { AdmissionRequest } from '../registry/admission.js';
import type { DeleteOptions } from '../api/meta/types.js';
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

/** meta.k8s.io/v1 CreateOptions or UpdateOptions as the query sent them (kube's parameter codec). */
function writeAdmissionOptions(query: Query, kind: string): Record<string, unknown> {
  const dryRun = query.dryRun === undefined ? [] : Array.isArray(query.dryRun) ? query.dryRun : [query.dryRun];
  const fieldManager = queryValue(query, 'fieldManager');
  const fieldValidation = queryValue(query, 'fieldValidation');
  return {
    kind,
    apiVersion: 'meta.k8s.io/v1',
    ...(dryRun.length > 0 ? { dryRun } : {}),
    ...(fieldManager ? { fieldManager } : {}),
    ...(fieldValidation ? { fieldValidation } : {}),
  };
}

export function registerRest(app: HttpsFastify, deps: RestDeps): void {
  const { group, version } = deps.registry.groupVersion;
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
    return { info: store.strategy.info, printerColumns: store.strategy.printerColumns, representation, includeObject: includeObjectOf(request.query as Query) };
  };

  const sendRead = (request: FastifyRequest, reply: FastifyReply, store: Store, read: ReadObject, code = 200): FastifyReply => {
    const ctx = context(request, store, false);
    return sendJson(reply, encodeObject(ctx, read), contentTypes[ctx.representation], code);
  };

  const sendObject = (request: FastifyRequest, reply: FastifyReply, store: Store, object: KubeObject, code = 200): FastifyReply =>
    sendRead(request, reply, store, { object, json: JSON.stringify(object) }, code);

  const sendWrite = (request: FastifyRequest, reply: FastifyReply, store: Store, result: WriteResult, code = 200): FastifyReply => {
    warningHeader(reply, result.warnings);
    const status = result.created ? 201 : code;
    const serialized = result.serialized;
    if (serialized?.object !== result.object) return sendObject(request, reply, store, result.object, status);
    return sendRead(request, reply, store, serialized, status);
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
          const admission = deleteAdmission(request, options, dryRun);
          const result = await store.deleteCollection(namespace, listOptions(query, signalOf(request)), options, { dryRun, admission, signal: signalOf(request) });
          warningHeader(reply, result.warnings ?? []);
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
          // The cached JSON as it is: a JSON GET never decodes the object.
          return sendRead(request, reply, store, read);
        }
        case 'PUT': {
          request.apiInfo = { verb: 'update', resource, subresource: '' };
          return sendWrite(request, reply, store, await store.update(namespace, name, request.body, writeOptions(request, 'UpdateOptions')));
        }
        case 'PATCH': {
          request.apiInfo = { verb: 'patch', resource, subresource: '' };
          return sendWrite(request, reply, store, await patch(request, mainResource(store), namespace, name));
        }
        case 'DELETE': {
          request.apiInfo = { verb: 'delete', resource, subresource: '' };
          const { options, dryRun } = deleteOptions(request.body, query);
          const { object, deleted, warnings } = await store.delete(namespace, name, options, { dryRun, admission: deleteAdmission(request, options, dryRun), signal: signalOf(request) });
          warningHeader(reply, warnings ?? []);
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
      const sub = deps.registry.subresources(info.resource).get(subresource);
      if (!sub) throw notFound();
      const query = request.query as Query;
      const verb = { GET: 'get', PUT: 'update', PATCH: 'patch' }[request.method as 'GET' | 'PUT' | 'PATCH'];
      if (!verb) throw methodNotAllowed();
      request.apiInfo = { verb, resource: info.resource, subresource };
      // Of the parent's kind (status), answered as the parent is, Tables included; of another kind (Scale), as JSON.
      const sameKind = sub.gvk.group === info.group && sub.gvk.version === info.version && sub.gvk.kind === info.kind;
      const sendSub = (result: WriteResult): FastifyReply => {
        if (sameKind) return sendWrite(request, reply, store, result);
        warningHeader(reply, result.warnings);
        return sendJson(reply, JSON.stringify(result.object));
      };
      if (request.method === 'GET') {
        const object = await sub.get(namespace, name, (query.resourceVersion as string | undefined) ?? '');
        return sameKind ? sendObject(request, reply, store, object) : sendJson(reply, JSON.stringify(object));
      }
      if (request.method === 'PUT') return sendSub(await sub.update(namespace, name, request.body, writeOptions(request, 'UpdateOptions')));
      return sendSub(await patch(request, sub, namespace, name));
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
    // A patch is admitted as the update (or, applied to an absent object, the create) it becomes, as kube does.
    options.admission = admissionRequest(request, writeAdmissionOptions(request.query as Query, kind === 'PatchOptions' ? 'UpdateOptions' : kind));
    return options;
  }

  /** What admission is told of a request: its user, its options as AdmissionReview shows them, its audit event. */
  function admissionRequest(request: FastifyRequest, options: Record<string, unknown>): AdmissionRequest | undefined {
    const user = request.user;
    if (!user) return undefined;
    return {
      user,
      options,
      annotate: (annotations) => {
        const audit = request.audit;
        if (audit) audit.event.annotations = { ...audit.event.annotations, ...annotations };
      },
    };
  }

  function deleteAdmission(request: FastifyRequest, options: DeleteOptions, dryRun: boolean): AdmissionRequest | undefined {
    return admissionRequest(request, { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', ...options, ...(dryRun ? { dryRun: ['All'] } : {}) });
  }

  function patchTypeOrThrow(request: FastifyRequest): PatchType {
    const type = patchTypeOf(request.headers['content-type']);
    if (!type) throw unsupportedPatch();
    return type;
  }

  /** The main resource, as the one interface PATCH writes through. */
  function mainResource(store: Store): Pick<Subresource, 'patch' | 'apply'> {
    return {
      patch: (namespace, name, patch, options) => store.patch(namespace, name, patch, options),
      apply: (namespace, name, config, apply, options) => store.apply(namespace, name, config, apply, options),
    };
  }

  /** PATCH of the main resource or a subresource: merge, JSON patch or server-side apply. */
  async function patch(request: FastifyRequest, target: Pick<Subresource, 'patch' | 'apply'>, namespace: string, name: string): Promise<WriteResult> {
    const type = patchTypeOrThrow(request);
    const options = writeOptions(request, 'PatchOptions', type);
    if (type === 'apply') {
      const { config, strictErrors } = await parseApplyPatch(request.body);
      if (strictErrors.length > 0 && options.fieldValidation === 'Strict') throw applyStrictError(strictErrors);
      const result = await target.apply(namespace, name, config, { fieldManager: options.fieldManager!, force: options.force ?? false }, options);
      return options.fieldValidation === 'Warn' ? { ...result, warnings: [...result.warnings, ...strictErrors] } : result;
    }
    validatePatch(type, request.body, options.fieldValidation !== 'Ignore');
    return target.patch(
      namespace,
      name,
      (current) => {
        const patched = applyPatch(type, current, request.body);
        if (options.strictErrors && options.fieldValidation === 'Strict') throw patchStrictError(patched, options.strictErrors);
        return patched;
      },
      options,
    );
  }
}
