// PATCH bodies by content type: RFC 6902 JSON patch (with `test`), RFC 7386 merge patch, and server-side apply
// (YAML or JSON). Strategic merge answers 415, as kube-apiserver answers for custom resources, so clients
// (kubectl, the garbage collector) fall back to merge patch. Every parse and transform here is linear in its
// input and safe at any nesting depth the decoder admits; keys are own data, whatever their name.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KubeObject } from '../api/meta/types.js';
import { fieldErrorBody, fieldErrors, fieldErrorString } from '../api/meta/field-errors.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import { isJsonObject } from '../registry/json-tree.js';
import { JsonBodyError, parseJsonBody, type DuplicateField } from './json-body.js';
import { applyJsonPatch, decodeJsonPatch, JsonPatchApplyError, JsonPatchDecodeError, JsonPatchTooLargeError } from '../registry/json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { mediaTypeOf } from './negotiation.js';
import { readYaml, type YamlOutcome } from './yaml-apply.js';

export type PatchType = 'json' | 'merge' | 'apply';

export const supportedPatchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const type = mediaTypeOf(contentType);
  if (type === 'application/json-patch+json') return 'json';
  if (type === 'application/merge-patch+json') return 'merge';
  if (type === 'application/apply-patch+yaml') return 'apply';
  return undefined;
}

export function unsupportedPatch(): ApiError {
  return apiErrors.unsupportedMediaType(supportedPatchTypes);
}

export interface ApplyPatch {
  config: Record<string, unknown>;
  /** What kube-apiserver's strict YAML decoding reports, one line per repeated key: `line 7: key "a" already set in map`. */
  strictErrors: string[];
}

/** fieldValidation=Strict on an apply that repeats keys: go-yaml's error, as kube-apiserver returns it. */
export function applyStrictError(lines: string[]): ApiError {
  return apiErrors.badRequest(`error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  ${lines.join('\n  ')}`);
}

/** fieldValidation=Strict on a merge or JSON patch with strict decoding errors: 422 naming the patched object, as kube does. */
export function patchStrictError(patched: unknown, strictErrors: string[]): ApiError {
  const error = fieldErrors.invalid('patch', goJson(patched), `strict decoding error: ${strictErrors.join(', ')}`);
  return new ApiError(422, 'Invalid', ` "" is invalid: ${fieldErrorString(error)}`, {
    causes: [{ reason: error.type, message: fieldErrorBody(error), field: error.field }],
  });
}

/** Go's json.Marshal of a decoded object: members in key order, HTML characters escaped. */
function goJson(value: unknown): string {
  const sorted = (_key: string, v: unknown): unknown =>
    isJsonObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v;
  return JSON.stringify(value, sorted).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const goTypeOf = (value: unknown): string => (Array.isArray(value) ? 'array' : typeof value === 'boolean' ? 'bool' : typeof value);
const yamlError = (why: string): ApiError => apiErrors.badRequest(`error decoding YAML: error converting YAML to JSON: yaml: ${why}`);

/**
 * An apply configuration, read as sigs.k8s.io/yaml reads it (YAML 1.1, the first document; go-yaml's alias
 * limits). JSON, which kubectl sends, takes the JSON decoder: linear and deep-safe, where the YAML library is
 * slow (about 1 s for a 1.4 MB mapping) and recursive (it gives up near 800 levels, where go-yaml allows 10,000).
 */
export async function parseApplyPatch(body: unknown): Promise<ApplyPatch> {
  const text = typeof body === 'string' ? body : '';
  const { value, duplicates } = (looksLikeJson(text) ? parseJsonApply(text) : undefined) ?? (await parseYamlApply(text));
  const parsed = value ?? {};
  if (!isJsonObject(parsed)) {
    throw apiErrors.badRequest(
      `error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${goTypeOf(parsed)} into Go value of type map[string]interface {}`,
    );
  }
  return { config: parsed, strictErrors: duplicates.map((d) => `line ${d.line}: key ${JSON.stringify(d.key)} already set in map`) };
}

function looksLikeJson(text: string): boolean {
  const start = text.search(/\S/);
  return start !== -1 && text[start] === '{';
}

/** undefined when the text is not JSON after all (a YAML flow mapping such as `{a: 1}`). */
function parseJsonApply(text: string): { value: unknown; duplicates: DuplicateField[] } | undefined {
  try {
    return parseJsonBody(text);
  } catch (error) {
    if (!(error instanceof JsonBodyError)) throw error;
    // go-yaml counts flow levels as the JSON decoder counts nesting, and says so in its own words.
    if (error.message.endsWith('exceeded max depth')) throw yamlError('exceeded max depth of 10000');
    return undefined;
  }
}

/** YAML bodies up to this size are read inline (tens of milliseconds at most), larger ones on the worker. */
const inlineYamlBytes = 64 * 1024;

async function parseYamlApply(text: string): Promise<{ value: unknown; duplicates: DuplicateField[] }> {
  const outcome = text.length <= inlineYamlBytes ? readYaml(text) : await yamlWorker.read(text);
  if ('error' in outcome) throw apiErrors.badRequest(`error decoding YAML: error converting YAML to JSON: ${outcome.error}`);
  const duplicates = outcome.repeated.map(({ key, line }) => ({ key, line, path: key }));
  return { value: JSON.parse(outcome.json) as unknown, duplicates };
}

/** One worker thread for every large YAML body, started on first use; it never keeps the process alive. */
class YamlWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (outcome: YamlOutcome) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  read(text: string): Promise<YamlOutcome> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    // Referenced while it has work, so a caller's await keeps the process up; idle, it never does.
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, text });
    });
  }

  private start(): Worker {
    // The worker runs this file's sibling: yaml-worker.js once built; yaml-worker.ts under tsx, which a worker
    // must register itself (loader flags do not reach a worker's entry module).
    const url = new URL(`./yaml-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
          { eval: true },
        )
      : new Worker(url);
    worker.on('message', ({ id, outcome }: { id: number; outcome: YamlOutcome }) => {
      this.pending.get(id)?.resolve(outcome);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
    });
    const failed = (why: unknown): void => {
      if (this.worker === worker) this.worker = undefined;
      const error = new Error(`the YAML reader stopped: ${why instanceof Error ? why.message : `exit code ${String(why)}`}`);
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
    worker.on('error', failed);
    worker.on('exit', failed);
    return worker;
  }
}

const yamlWorker = new YamlWorker();

/**
 * Checks a patch document's shape before any object is read, with kube-apiserver's answers. Unless
 * fieldValidation is Ignore, kube decodes a JSON patch strictly first, into its own operation type.
 */
export function validatePatch(type: Exclude<PatchType, 'apply'>, patch: unknown, strict = true): void {
  if (type === 'json') {
    if (strict && patch !== null && !Array.isArray(patch)) {
      throw apiErrors.badRequest(`error decoding patch: json: cannot unmarshal ${goTypeOf(patch)} into Go value of type []handlers.jsonPatchOp`);
    }
    for (const op of strict && Array.isArray(patch) ? patch : []) {
      if (op === null) continue;
      if (!isJsonObject(op)) throw apiErrors.badRequest(`error decoding patch: json: cannot unmarshal ${goTypeOf(op)} into Go value of type handlers.jsonPatchOp`);
      for (const field of ['op', 'path', 'from']) {
        const value = Object.hasOwn(op, field) ? op[field] : null;
        if (value !== null && typeof value !== 'string') {
          throw apiErrors.badRequest(`error decoding patch: json: cannot unmarshal ${goTypeOf(value)} into Go struct field jsonPatchOp.${field} of type string`);
        }
      }
    }
    try {
      decodeJsonPatch(patch);
    } catch (error) {
      throw patchError(error);
    }
    return;
  }
  if (patch === null || patch === undefined) throw apiErrors.badRequest('Invalid JSON Patch');
  if (!isJsonObject(patch)) {
    throw apiErrors.badRequest(`error decoding patch: json: cannot unmarshal ${goTypeOf(patch)} into Go value of type map[string]interface {}`);
  }
}

const operationFields = new Set(['op', 'path', 'from', 'value']);

/** The members of JSON patch operations that kube's strict decoding does not know (names are case-sensitive). */
export function jsonPatchUnknownFields(patch: unknown): string[] {
  const out: string[] = [];
  if (!Array.isArray(patch)) return out;
  patch.forEach((op, i) => {
    if (!isJsonObject(op)) return;
    for (const key of Object.keys(op)) if (!operationFields.has(key)) out.push(`json patch unknown field ${JSON.stringify(`[${i}].${key}`)}`);
  });
  return out;
}

export function applyPatch(type: Exclude<PatchType, 'apply'>, current: KubeObject, patch: unknown): unknown {
  if (type === 'merge') return applyMergePatch(current, patch);
  try {
    return applyJsonPatch(current, patch);
  } catch (error) {
    throw patchError(error);
  }
}

function patchError(error: unknown): unknown {
  if (error instanceof JsonPatchDecodeError) return apiErrors.badRequest(error.message);
  if (error instanceof JsonPatchTooLargeError) return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: ${error.message}`);
  // kube-apiserver wraps the library's error in a generic 422 whose message leaves the library's text out.
  if (error instanceof JsonPatchApplyError) return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  return error;
}
