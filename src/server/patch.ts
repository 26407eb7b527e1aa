// PATCH bodies by content type: RFC 6902 JSON patch (with `test`), RFC 7386 merge patch, and server-side apply
// (YAML or JSON). Strategic merge answers 415, as kube-apiserver answers for custom resources, so clients
// (kubectl, the garbage collector) fall back to merge patch. Every parse and transform here is linear in its
// input and safe at any nesting depth the decoder admits; keys are own data, whatever their name.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Composer, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, type Alias, type Document, type Node as YamlNode } from 'yaml';
import type { KubeObject } from '../api/meta/types.js';
import { fieldErrorBody, fieldErrors, fieldErrorString } from '../api/meta/field-errors.js';
import { ApiError, apiErrors } from '../registry/errors.js';
import { isJsonObject } from '../registry/json-tree.js';
import { JsonBodyError, parseJsonBody, type DuplicateField } from './json-body.js';
import { applyJsonPatch, decodeJsonPatch, JsonPatchApplyError, JsonPatchDecodeError, JsonPatchTooLargeError } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';

export type PatchType = 'json' | 'merge' | 'apply';

export const supportedPatchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json-patch+json') return 'json';
  if (type === 'application/merge-patch+json') return 'merge';
  if (type === 'application/apply-patch+yaml') return 'apply';
  return undefined;
}

export function unsupportedPatch(): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${supportedPatchTypes.join(', ')}`,
  );
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

/** Lexemes read between two turns of the event loop: the library's lexer and parser are the slow part. */
const lexemesPerTurn = 20_000;

async function parseYamlApply(text: string): Promise<{ value: unknown; duplicates: DuplicateField[] }> {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  const tokens = [];
  let lexemes = 0;
  for (const lexeme of new Lexer().lex(text)) {
    tokens.push(...parser.next(lexeme));
    if (++lexemes % lexemesPerTurn === 0) await nextTurn();
  }
  tokens.push(...parser.end());
  // Duplicate keys are found below in one pass: the library's own check compares every pair of keys.
  const composer = new Composer({ version: '1.1', uniqueKeys: false });
  let document: Document.Parsed | undefined;
  for (const token of tokens) for (const composed of composer.next(token)) document ??= composed;
  for (const composed of composer.end()) document ??= composed;
  if (!document) return { value: null, duplicates: [] };
  const error = document.errors[0];
  if (error) throw yamlError(error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:$/, ''));
  // Composing the document is one step of the library (about 200 ms for 100,000 keys); the steps around it yield.
  await nextTurn();
  const duplicates = checkYaml(document.contents, (alias) => alias.resolve(document), lineCounter);
  await nextTurn();
  try {
    return { value: document.toJS({ maxAliasCount: -1 }), duplicates };
  } catch (error) {
    throw yamlError((error as Error).message.split('\n')[0]!);
  }
}

// go-yaml's alias budget (sigs.k8s.io/yaml/goyaml.v2 decode.go): past 100 aliased nodes and 1,000 decoded
// ones, the share of nodes that come from alias expansion may be 99% up to 400,000 decoded nodes, falling
// linearly to 10% at 4,000,000.
const aliasRatioLow = 400_000;
const aliasRatioHigh = 4_000_000;

function allowedAliasRatio(decoded: number): number {
  if (decoded <= aliasRatioLow) return 0.99;
  if (decoded >= aliasRatioHigh) return 0.1;
  return 0.99 - 0.89 * ((decoded - aliasRatioLow) / (aliasRatioHigh - aliasRatioLow));
}

/**
 * One walk of the YAML tree, without expanding an alias: repeated keys per mapping (go-yaml's strict error),
 * an alias inside its own anchor, and go-yaml's alias budget counted from each node's expanded size.
 */
function checkYaml(root: unknown, resolve: (alias: Alias) => unknown, lines: LineCounter): DuplicateField[] {
  const duplicates: DuplicateField[] = [];
  const expanded = new Map<unknown, number>();
  const open = new Set<unknown>();
  let decoded = 0;
  let aliased = 0;
  const count = (nodes: number, fromAliases: number): void => {
    decoded += nodes;
    aliased += fromAliases;
    if (aliased > 100 && decoded > 1000 && aliased / decoded > allowedAliasRatio(decoded)) throw yamlError('document contains excessive aliasing');
  };
  const stack: Array<[node: unknown, leaving: boolean]> = [[root, false]];
  while (stack.length > 0) {
    const [node, leaving] = stack.pop()!;
    if (node === null || node === undefined) continue;
    if (isAlias(node)) {
      const target = resolve(node);
      if (target === undefined) throw yamlError(`unknown anchor '${node.source}' referenced`);
      if (open.has(target)) throw yamlError(`anchor '${node.source}' value contains itself`);
      const size = expanded.get(target) ?? 1;
      expanded.set(node, 1 + size);
      count(1, 0);
      count(size, size);
      continue;
    }
    const children: unknown[] = [];
    if (isMap(node)) for (const pair of node.items) children.push(pair.key, pair.value);
    else if (isSeq(node)) children.push(...node.items);
    else if (isPair(node)) children.push(node.key, node.value);
    if (!leaving) {
      open.add(node);
      count(1, 0);
      stack.push([node, true]);
      for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], false]);
      if (isMap(node)) duplicates.push(...repeatedKeys(node.items as Array<{ key: unknown }>, lines, duplicates.length));
      continue;
    }
    open.delete(node);
    let size = 1;
    for (const child of children) size += child === null || child === undefined ? 0 : (expanded.get(child) ?? 1);
    expanded.set(node, size);
  }
  return duplicates;
}

function repeatedKeys(pairs: Array<{ key: unknown }>, lines: LineCounter, already: number): DuplicateField[] {
  const seen = new Set<string>();
  const out: DuplicateField[] = [];
  for (const { key } of pairs) {
    // go-yaml cannot use a mapping or sequence as a key of the map it decodes into.
    if (isMap(key) || isSeq(key)) throw yamlError(`invalid map key: ${String(key)}`);
    if (!isScalar(key)) continue;
    const id = `${typeof key.value}:${String(key.value)}`;
    if (!seen.has(id)) seen.add(id);
    else if (already + out.length < 100) out.push({ key: String(key.value), path: String(key.value), line: lines.linePos((key as YamlNode).range?.[0] ?? 0).line });
  }
  return out;
}

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
