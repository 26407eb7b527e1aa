// Query parameters and option bodies of REST requests, parsed and validated as kube-apiserver validates
// CreateOptions, UpdateOptions, PatchOptions, DeleteOptions and ListOptions.
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import type { DeleteOptions } from '../api/meta/types.js';
import { apiErrors, type ApiError } from '../registry/errors.js';
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

/** strconv.ParseBool, as kube's query decoder uses it. */
function parseBool(query: Query, name: string): boolean | undefined {
  const value = queryValue(query, name);
  if (value === undefined) return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True', ''].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw apiErrors.badRequest(`invalid boolean value for ${name}: ${JSON.stringify(value)}`);
}

function parseInteger(query: Query, name: string): number | undefined {
  const value = queryValue(query, name);
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw apiErrors.badRequest(`invalid integer value for ${name}: ${JSON.stringify(value)}`);
  return Number(value);
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

/** Create, update and patch options. `kind` names the options type in errors ("CreateOptions"...). */
export function writeOptions(query: Query, kind: string, signal: AbortSignal): WriteOptions {
  const dryRun = dryRunOf(allValues(query, 'dryRun'), kind);
  const fieldValidation = queryValue(query, 'fieldValidation') ?? 'Warn';
  if (!['Ignore', 'Warn', 'Strict'].includes(fieldValidation)) {
    throw invalidOptions(kind, [fieldErrors.notSupported('fieldValidation', fieldValidation, ['Ignore', 'Warn', 'Strict'])]);
  }
  const fieldManager = queryValue(query, 'fieldManager');
  if (fieldManager !== undefined && fieldManager.length > 128) {
    throw invalidOptions(kind, [fieldErrors.tooLong('fieldManager', 128)]);
  }
  return { dryRun, fieldValidation: fieldValidation as FieldValidation, signal };
}

export function listOptions(query: Query, signal: AbortSignal): ListOptions & WatchOptions & { watch: boolean; timeoutSeconds?: number } {
  const limit = parseInteger(query, 'limit');
  return {
    labelSelector: queryValue(query, 'labelSelector'),
    fieldSelector: queryValue(query, 'fieldSelector'),
    resourceVersion: queryValue(query, 'resourceVersion'),
    resourceVersionMatch: queryValue(query, 'resourceVersionMatch'),
    limit: limit !== undefined && limit > 0 ? limit : undefined,
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

/** DeleteOptions from the body (when there is one) and the query, validated. */
export function deleteOptions(body: unknown, query: Query): { options: DeleteOptions; dryRun: boolean } {
  const fromBody = body && typeof body === 'object' && !Array.isArray(body) ? (body as DeleteOptions) : {};
  if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
    throw apiErrors.badRequest('the body of a DELETE must be a DeleteOptions object');
  }
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
