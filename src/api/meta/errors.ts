// Typed API errors, each worded as k8s.io/apimachinery/pkg/api/errors words it. They sit below every layer that
// refuses a request (field manager, registry, HTTP layer), which raise them; the HTTP layer renders `status` as is.
import { fieldErrorBody, fieldErrorListString, type FieldError } from './field-errors.js';
import type { Status, StatusCause, StatusDetails } from './types.js';

export interface ResourceRef {
  group: string;
  /** Plural resource name, e.g. "notebooks". */
  resource: string;
  kind: string;
}

export class ApiError extends Error {
  readonly status: Status;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
    if (details) this.status.details = details;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): string {
    return this.status.reason!;
  }
}

const qualified = (ref: ResourceRef): string => (ref.group ? `${ref.resource}.${ref.group}` : ref.resource);

export const apiErrors = {
  notFound: (ref: ResourceRef, name: string): ApiError =>
    new ApiError(404, 'NotFound', `${qualified(ref)} "${name}" not found`, { name, group: ref.group, kind: ref.resource }),

  alreadyExists: (ref: ResourceRef, name: string): ApiError =>
    new ApiError(409, 'AlreadyExists', `${qualified(ref)} "${name}" already exists`, { name, group: ref.group, kind: ref.resource }),

  conflict: (ref: ResourceRef, name: string, why: string): ApiError =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(ref)} "${name}": ${why}`, {
      name,
      group: ref.group,
      kind: ref.resource,
    }),

  /** The wording of a lost optimistic-concurrency race, as every client knows it. */
  modified: (ref: ResourceRef, name: string): ApiError =>
    apiErrors.conflict(ref, name, 'the object has been modified; please apply your changes to the latest version and try again'),

  invalid: (ref: ResourceRef, name: string, errors: FieldError[]): ApiError => {
    const causes: StatusCause[] = errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
    const summary = fieldErrorListString(errors);
    return new ApiError(422, 'Invalid', `${ref.kind}.${ref.group} "${name}" is invalid${summary === undefined ? '' : `: ${summary}`}`, {
      ...(name ? { name } : {}),
      group: ref.group,
      kind: ref.kind,
      causes,
    });
  },

  badRequest: (message: string, causes?: StatusCause[]): ApiError =>
    new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined),

  /** fieldValidation=Strict: every unknown field in one message, as the strict decoder reports them. */
  strictDecoding: (paths: string[]): ApiError =>
    apiErrors.badRequest(
      `strict decoding error: ${paths.map((p) => `unknown field "${p}"`).join(', ')}`,
      paths.map((field) => ({ reason: 'FieldValueUnknown', message: `unknown field "${field}"`, field })),
    ),

  forbidden: (ref: ResourceRef, name: string, why: string): ApiError =>
    new ApiError(403, 'Forbidden', `${qualified(ref)}${name ? ` "${name}"` : ''} is forbidden: ${why}`, {
      name: name || undefined,
      group: ref.group,
      kind: ref.resource,
    }),

  /** 403 for a request the authorizer refused, worded as kube-apiserver's forbiddenMessage. */
  forbiddenRequest: (
    user: string,
    request: { kind: 'resource'; attributes: { verb: string; group: string; resource: string; subresource: string; namespace: string; name: string } } | { kind: 'nonResource'; path: string; verb: string },
    reason: string,
  ): ApiError => {
    const why = reason ? `: ${reason}` : '';
    if (request.kind === 'nonResource') {
      return new ApiError(403, 'Forbidden', `forbidden: User "${user}" cannot ${request.verb} path "${request.path}"${why}`, {});
    }
    const a = request.attributes;
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
    const message = `User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}${why}`;
    return apiErrors.forbidden({ group: a.group, resource: a.resource, kind: '' }, a.name, message);
  },

  namespaceNotFound: (namespace: string): ApiError =>
    apiErrors.notFound({ group: '', resource: 'namespaces', kind: 'Namespace' }, namespace),

  namespaceTerminating: (namespace: string): ApiError =>
    new ApiError(403, 'Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`, {
      name: namespace,
      kind: 'namespaces',
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
    }),

  /** A method the resource does not serve, worded as kube's NewMethodNotSupported (verb "" for unknown methods). */
  methodNotSupported: (ref: ResourceRef, verb: string, why?: string): ApiError =>
    new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind ${JSON.stringify(qualified(ref))}${why ? `: ${why}` : ''}`, {
      group: ref.group,
      kind: ref.resource,
    }),

  /** 415 for a body in a media type the endpoint does not read, naming the ones it does. */
  unsupportedMediaType: (accepted: readonly string[]): ApiError =>
    new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`),

  methodNotAllowed: (): ApiError =>
    new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),

  /** The 404 of a path that names nothing this server serves. */
  routeNotFound: (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),

  /** 410 for a watch or list from a revision the history no longer holds. */
  resourceExpired: (message: string): ApiError => new ApiError(410, 'Expired', message),

  continueExpired: (): ApiError =>
    apiErrors.resourceExpired(
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    ),

  tooLargeResourceVersion: (wanted: number, current: number): ApiError =>
    new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${wanted}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),

  timeout: (message: string): ApiError => new ApiError(504, 'Timeout', `Timeout: ${message}`, { retryAfterSeconds: 1 }),

  serviceUnavailable: (message: string): ApiError => new ApiError(503, 'ServiceUnavailable', message, { retryAfterSeconds: 1 }),

  internal: (message: string): ApiError =>
    new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
};
