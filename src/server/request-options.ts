// Query parameters and option bodies of REST requests, parsed and validated as kube-apiserver validates
// CreateOptions, UpdateOptions, PatchOptions, DeleteOptions and ListOptions.
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import { queryBoolean } from '../api/meta/query-bool.js';
import type { DeleteOptions } from '../api/meta/types.js';
import { apiErrors, type ApiError } from '../api/meta/errors.js';
import type { FieldValidation, ListOptions, WatchOptions, WriteOptions } from '../registry/store.js';
import type { IncludeObject } from './encoders.js';

export type Query = Record<string, string | string[] | undefined>;

export function queryValue(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[0] : value;
}

function invalidOptions(kind: string, errors: FieldError[]): ApiError {
  return apiErrors.invalid({ group: 'meta.k8s.io', resource: kind.toLowerCase(), kind }, '', errors);
}

/** A boolean query parameter as kube reads it (queryBoolean): undefined when absent, never an error. */
export function parseBool(query: Query, name: string): boolean | undefined {
  const value = queryValue(query, name);
  return value === undefined ? undefined : queryBoolean(value);
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/**
 * strconv.ParseInt(value, 10, 64), as kube's query decoder reads integers, with its errors. Values beyond what a
 * double holds exactly come back rounded: every caller treats them as "no bound" anyway.
 */
export function parseInteger(query: Query, name: string): number | undefined {
  const value = queryValue(query, name);
  if (value === undefined || value === '') return undefined;
  if (!/^[+-]?\d+$/.test(value)) throw apiErrors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  const exact = BigInt(value);
  if (exact < int64Min || exact > int64Max) throw apiErrors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
  return Number(exact);
}

function dryRunOf(values: string[], kind: string): boolean {
  const bad = values.filter((v) => v !== 'All');
  if (bad.length > 0) throw invalidOptions(kind, [fieldErrors.notSupported('dryRun', bad[0], ['All'])]);
  return values.length > 0;
}

function allValues(query: Query, name: string): string[] {
  const value = query[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const fieldManagerMaxLength = 128;

/** The product name of a User-Agent ("kubectl" of "kubectl/v1.32.2 (linux/amd64)"), the manager of a write without fieldManager. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]!) {
    if (!isPrintable(ch)) continue;
    if (Buffer.byteLength(out + ch) > fieldManagerMaxLength) break;
    out += ch;
  }
  return out;
}

function isPrintable(ch: string): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch);
}

export interface WriteRequest {
  query: Query;
  /** CreateOptions, UpdateOptions or PatchOptions: names the options type in errors. */
  kind: string;
  signal: AbortSignal;
  userAgent: string | undefined;
  /** Set for PATCH: server-side apply requires fieldManager and alone accepts force. */
  apply?: boolean;
}

/** Create, update and patch options, validated as kube-apiserver validates them. */
export function writeOptions(request: WriteRequest): WriteOptions & { force?: boolean } {
  const { query, kind, signal } = request;
  const dryRun = dryRunOf(allValues(query, 'dryRun'), kind);
  const fieldValidation = queryValue(query, 'fieldValidation') ?? 'Warn';
  const errors: FieldError[] = [];
  const fieldManager = queryValue(query, 'fieldManager') ?? '';
  const force = kind === 'PatchOptions' ? parseBool(query, 'force') : undefined;
  if (request.apply === true && fieldManager === '') errors.push(fieldErrors.required('fieldManager', 'is required for apply patch'));
  if (request.apply === false && force !== undefined) errors.push(fieldErrors.forbidden('force', 'may not be specified for non-apply patch'));
  if (fieldManager.length > fieldManagerMaxLength) errors.push(fieldErrors.tooLong('fieldManager', fieldManagerMaxLength));
  [...fieldManager].forEach((ch, i) => {
    if (!isPrintable(ch)) {
      const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      errors.push(fieldErrors.invalid('fieldManager', fieldManager, `invalid character U+${code} (at position ${i})`));
    }
  });
  if (!['Ignore', 'Warn', 'Strict'].includes(fieldValidation)) {
    errors.push(fieldErrors.notSupported('fieldValidation', fieldValidation, ['Ignore', 'Warn', 'Strict']));
  }
  if (errors.length > 0) throw invalidOptions(kind, errors);
  return {
    dryRun,
    fieldValidation: fieldValidation as FieldValidation,
    signal,
    fieldManager: fieldManager || managerFromUserAgent(request.userAgent),
    ...(force === undefined ? {} : { force }),
  };
}

export function listOptions(query: Query, signal: AbortSignal): ListOptions & WatchOptions & { watch: boolean; timeoutSeconds?: number } {
  const limit = parseInteger(query, 'limit');
  return {
    labelSelector: queryValue(query, 'labelSelector'),
    fieldSelector: queryValue(query, 'fieldSelector'),
    resourceVersion: queryValue(query, 'resourceVersion'),
    resourceVersionMatch: queryValue(query, 'resourceVersionMatch'),
    // A limit past any store's size means "all"; clamped so storage can still add one to it exactly.
    limit: limit !== undefined && limit > 0 ? Math.min(limit, Number.MAX_SAFE_INTEGER - 1) : undefined,
    continue: queryValue(query, 'continue'),
    allowWatchBookmarks: parseBool(query, 'allowWatchBookmarks'),
    sendInitialEvents: parseBool(query, 'sendInitialEvents'),
    watch: parseBool(query, 'watch') ?? false,
    timeoutSeconds: parseInteger(query, 'timeoutSeconds'),
    signal,
  };
}

export function includeObjectOf(query: Query): IncludeObject {
  const value = queryValue(query, 'includeObject') ?? 'Metadata';
  if (value !== 'None' && value !== 'Metadata' && value !== 'Object') {
    throw apiErrors.badRequest(`includeObject: Unsupported value: ${JSON.stringify(value)}: supported values: "None", "Metadata", "Object"`);
  }
  return value;
}

/** Go's name for the JSON type of a decoded value, as its decoder's type errors name it. */
function goJsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

type FieldType = 'string' | 'bool' | 'int64' | '[]string' | 'Preconditions';

const deleteOptionsFields: Record<keyof DeleteOptions | 'kind' | 'apiVersion' | 'ignoreStoreReadErrorWithClusterBreakingPotential', FieldType> = {
  kind: 'string',
  apiVersion: 'string',
  gracePeriodSeconds: 'int64',
  preconditions: 'Preconditions',
  orphanDependents: 'bool',
  propagationPolicy: 'string',
  dryRun: '[]string',
  ignoreStoreReadErrorWithClusterBreakingPotential: 'bool',
};

function fitsType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'int64':
      return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER;
    case '[]string':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'Preconditions':
      return (
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.entries(value as object).every(([k, v]) => (k !== 'uid' && k !== 'resourceVersion') || v === null || typeof v === 'string')
      );
  }
}

/**
 * A DELETE body's members checked against DeleteOptions' Go types before anything reads them: a member of the
 * wrong type is the 400 Go's decoder gives (JSON null is Go's zero value, as if absent); unknown members are
 * ignored, as kube ignores them.
 */
function decodeDeleteOptions(body: Record<string, unknown>): DeleteOptions {
  const options: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(deleteOptionsFields)) {
    if (!Object.hasOwn(body, field) || body[field] === null) continue;
    const value = body[field];
    if (!fitsType(value, type)) {
      const goType = type === 'Preconditions' ? 'v1.Preconditions' : type;
      throw apiErrors.badRequest(`json: cannot unmarshal ${goJsonType(value)} into Go struct field DeleteOptions.${field} of type ${goType}`);
    }
    options[field] = value;
  }
  return options as DeleteOptions;
}

/** DeleteOptions from the body (when there is one) and the query, validated. */
export function deleteOptions(body: unknown, query: Query): { options: DeleteOptions; dryRun: boolean } {
  if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
    throw apiErrors.badRequest('the body of a DELETE must be a DeleteOptions object');
  }
  const fromBody = body === undefined ? {} : decodeDeleteOptions(body as Record<string, unknown>);
  const options: DeleteOptions = { ...fromBody };
  options.gracePeriodSeconds ??= parseInteger(query, 'gracePeriodSeconds');
  options.orphanDependents ??= parseBool(query, 'orphanDependents');
  const policy = options.propagationPolicy ?? queryValue(query, 'propagationPolicy');
  const errors: FieldError[] = [];
  if (policy !== undefined) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      errors.push(fieldErrors.notSupported('propagationPolicy', policy, ['Foreground', 'Background', 'Orphan', 'nil']));
    } else options.propagationPolicy = policy;
  }
  if (options.orphanDependents !== undefined && options.propagationPolicy !== undefined) {
    errors.push(fieldErrors.invalid('propagationPolicy', options.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds < 0) {
    errors.push(fieldErrors.invalid('gracePeriodSeconds', options.gracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (errors.length > 0) throw invalidOptions('DeleteOptions', errors);
  const dryRun = dryRunOf([...(fromBody.dryRun ?? []), ...allValues(query, 'dryRun')], 'DeleteOptions');
  return { options, dryRun };
}
