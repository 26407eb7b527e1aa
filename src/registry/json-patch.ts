// RFC 6902 JSON patch as kube-apiserver applies it (gopkg.in/evanphx/json-patch.v4 from k8s.io/apiserver's
// endpoints/handlers/patch.go), quirks included: negative array indices count from the end, `replace` of an
// absent object member adds it, `copy` from an absent member copies null. The document is copied once; every
// operation costs time linear in its path and in the value it adds or copies (array inserts also shift the
// array, as in kube), and keys are own data properties only. The patch itself is never changed: a conflict
// retry applies it again.
import { isJsonObject, sameJson, cloneJson, setOwnKey, type JsonObject } from './json-tree.js';

/** kube-apiserver's maxJSONPatchOperations. */
export const maxJsonPatchOperations = 10_000;
/** kube-apiserver's default JSONPatchMaxCopyBytes: the bytes `copy` operations may add, summed over a patch. */
export const maxJsonPatchCopyBytes = 3 * 1024 * 1024;
/**
 * Array elements that inserts and removes may shift, summed over a patch (about 50 ms here). Each insert or
 * remove shifts the rest of its array, in kube's library as here; kube pays that on one goroutine, this server
 * on the event loop everyone shares: 10,000 inserts at the front of a 1.3-million-element array (a 3 MB patch)
 * would hold it for 6 s. A patch past this fails as kube fails a patch past its copy limit.
 */
export const maxJsonPatchShiftedElements = 100_000_000;

/** The patch is not a JSON array of operation objects: kube-apiserver answers 400 with this message. */
export class JsonPatchDecodeError extends Error {}
/** More operations than kube-apiserver accepts: 413. */
export class JsonPatchTooLargeError extends Error {}
/** An operation that does not apply to the document: kube-apiserver answers 422. */
export class JsonPatchApplyError extends Error {}

type Container = JsonObject | unknown[];

const goTypeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'boolean' ? 'bool' : typeof value;

/** The checks kube-apiserver makes before it reads the object (jsonpatch.DecodePatch and the operation count). */
export function decodeJsonPatch(patch: unknown): Array<JsonObject | null> {
  if (patch === null) return [];
  if (!Array.isArray(patch)) throw new JsonPatchDecodeError(`json: cannot unmarshal ${goTypeOf(patch)} into Go value of type jsonpatch.Patch`);
  for (const op of patch) {
    if (op !== null && !isJsonObject(op)) throw new JsonPatchDecodeError(`json: cannot unmarshal ${goTypeOf(op)} into Go value of type jsonpatch.Operation`);
  }
  if (patch.length > maxJsonPatchOperations) {
    throw new JsonPatchTooLargeError(`The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`);
  }
  return patch as Array<JsonObject | null>;
}

/** Applies `patch` to a copy of `document`; `document` itself is never changed. */
export function applyJsonPatch(document: unknown, patch: unknown): unknown {
  const ops = decodeJsonPatch(patch);
  let doc = cloneJson(document) as Container;
  let copied = 0;
  const shifts = { count: 0 };
  for (const op of ops) {
    const kind = op !== null && Object.hasOwn(op, 'op') && typeof op.op === 'string' ? op.op : 'unknown';
    const o = op ?? {};
    switch (kind) {
      case 'add': {
        const path = pathOf(o, 'path', `add operation failed to decode path`);
        const [con, key] = locate(doc, path, () => `add operation does not apply: doc is missing path: ${JSON.stringify(path)}`);
        add(con, key, cloneJson(valueOf(o)), `error in add for path: '${path}'`, shifts);
        break;
      }
      case 'remove': {
        const path = pathOf(o, 'path', 'remove operation failed to decode path');
        const [con, key] = locate(doc, path, () => `remove operation does not apply: doc is missing path: ${JSON.stringify(path)}`);
        remove(con, key, `error in remove for path: '${path}'`, shifts);
        break;
      }
      case 'replace': {
        const path = pathOf(o, 'path', 'replace operation failed to decode path');
        if (path === '') {
          // A whole-document replace with a scalar is silently ignored by the library kube-apiserver uses.
          const value = valueOf(o);
          if (value !== null && typeof value === 'object') doc = cloneJson(value) as Container;
          break;
        }
        const [con, key] = locate(doc, path, () => `replace operation does not apply: doc is missing path: ${path}`);
        if (Array.isArray(con)) {
          const index = arrayIndex(con, key, con.length, () => `replace operation does not apply: doc is missing key: ${path}`);
          con[index] = cloneJson(valueOf(o));
        } else setOwnKey(con, key, cloneJson(valueOf(o)));
        break;
      }
      case 'move': {
        const from = pathOf(o, 'from', 'move operation failed to decode from');
        const [source, sourceKey] = locate(doc, from, () => `move operation does not apply: doc is missing from path: ${from}`);
        const value = get(source, sourceKey, `error in move for path: '${sourceKey}'`);
        remove(source, sourceKey, `error in move for path: '${sourceKey}'`, shifts);
        const path = pathOf(o, 'path', 'move operation failed to decode path');
        // Moving a node into its own child finds no destination once the node is removed, as in kube.
        const [con, key] = locate(doc, path, () => `move operation does not apply: doc is missing destination path: ${path}`);
        add(con, key, value ?? null, `error in move for path: '${path}'`, shifts);
        break;
      }
      case 'test': {
        const path = pathOf(o, 'path', 'test operation failed to decode path');
        const failed = new JsonPatchApplyError(`testing value ${path} failed: test failed`);
        if (path === '') {
          if (!sameJson(doc, valueOf(o))) throw failed;
          break;
        }
        const [con, key] = locate(doc, path, () => `test operation does not apply: is missing path: ${path}`);
        const actual = get(con, key, `error in test for path: '${path}'`);
        if (actual === undefined || actual === null) {
          if (Object.hasOwn(o, 'value') && o.value === null) break;
          throw failed;
        }
        if (!Object.hasOwn(o, 'value') || !sameJson(actual, o.value)) throw failed;
        break;
      }
      case 'copy': {
        const from = pathOf(o, 'from', 'copy operation failed to decode from');
        const [source, sourceKey] = locate(doc, from, () => `copy operation does not apply: doc is missing from path: ${from}`);
        const value = get(source, sourceKey, `error in copy for from: '${from}'`);
        const path = pathOf(o, 'path', 'copy operation failed to decode path');
        const [con, key] = locate(doc, path, () => `copy operation does not apply: doc is missing destination path: ${path}`);
        // Sized before it is copied, so a patch that doubles the document stops at the limit, not at the heap's.
        // A null or absent source copies nothing the library counts.
        copied += value === undefined || value === null ? 0 : encodedSize(value, maxJsonPatchCopyBytes - copied);
        if (copied > maxJsonPatchCopyBytes) {
          throw new JsonPatchApplyError(
            `Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${maxJsonPatchCopyBytes}`,
          );
        }
        add(con, key, value === undefined ? null : cloneJson(value), 'error while adding value during copy', shifts);
        break;
      }
      default:
        throw new JsonPatchApplyError(`Unexpected kind: ${kind}`);
    }
  }
  return doc;
}

function pathOf(op: JsonObject, field: 'path' | 'from', context: string): string {
  if (!Object.hasOwn(op, field)) throw new JsonPatchApplyError(`${context}: missing value`);
  const value = op[field];
  if (typeof value !== 'string') throw new JsonPatchApplyError(`${context}: json: cannot unmarshal ${goTypeOf(value)} into Go value of type string`);
  return value;
}

/** An operation's value; an absent one is null, as the library reads it. */
function valueOf(op: JsonObject): unknown {
  return Object.hasOwn(op, 'value') ? op.value : null;
}

const unescapeToken = (token: string): string => (token.includes('~') ? token.replace(/~1/g, '/').replace(/~0/g, '~') : token);

/** The container of a pointer's last token and that token; a null or scalar on the way means "missing". */
function locate(doc: Container, pointer: string, missing: () => string): [Container, string] {
  const tokens = pointer.split('/');
  if (tokens.length < 2) throw new JsonPatchApplyError(`${missing()}: missing value`);
  let node: Container = doc;
  for (let i = 1; i < tokens.length - 1; i++) {
    const next = Array.isArray(node) ? arrayElement(node, unescapeToken(tokens[i]!)) : ownMember(node, unescapeToken(tokens[i]!));
    if (next === null || typeof next !== 'object') throw new JsonPatchApplyError(`${missing()}: missing value`);
    node = next as Container;
  }
  return [node, unescapeToken(tokens[tokens.length - 1]!)];
}

function ownMember(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function arrayElement(array: unknown[], token: string): unknown {
  const index = parseIndex(token);
  if (index === undefined) return undefined;
  const i = index < 0 ? index + array.length : index;
  return i >= 0 && i < array.length ? array[i] : undefined;
}

/** strconv.Atoi: optional sign, decimal digits, within int64. */
function parseIndex(token: string): number | undefined {
  if (!/^[+-]?\d+$/.test(token)) return undefined;
  const value = Number(token);
  return Math.abs(value) <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

function atoiError(token: string): string {
  const why = /^[+-]?\d+$/.test(token) ? 'value out of range' : 'invalid syntax';
  return `strconv.Atoi: parsing ${JSON.stringify(token)}: ${why}`;
}

/** Resolves an index into an array of `size` (negative counts from the end), or fails with kube's wording. */
function arrayIndex(array: unknown[], token: string, size: number, invalid: () => string): number {
  const index = parseIndex(token);
  if (index === undefined) throw new JsonPatchApplyError(invalid());
  const i = index < 0 ? index + size : index;
  if (i < 0 || i >= size) throw new JsonPatchApplyError(invalid());
  return i;
}

function get(con: Container, key: string, context: string): unknown {
  if (!Array.isArray(con)) return ownMember(con, key);
  const index = parseIndex(key);
  if (index === undefined) throw new JsonPatchApplyError(`${context}: ${atoiError(key)}`);
  return con[arrayIndex(con, key, con.length, () => `${context}: Unable to access invalid index: ${index}: invalid index referenced`)];
}

/** Counts the elements an insert or remove at `index` shifts, and fails the patch past the budget. */
function shift(shifts: { count: number }, array: unknown[], index: number): void {
  shifts.count += array.length - index;
  if (shifts.count > maxJsonPatchShiftedElements) {
    throw new JsonPatchApplyError(`Unable to complete the patch, its inserts and removes shift more than ${maxJsonPatchShiftedElements} array elements`);
  }
}

function add(con: Container, key: string, value: unknown, context: string, shifts: { count: number }): void {
  if (!Array.isArray(con)) {
    setOwnKey(con, key, value);
    return;
  }
  if (key === '-') {
    con.push(value);
    return;
  }
  const index = parseIndex(key);
  if (index === undefined) throw new JsonPatchApplyError(`${context}: value was not a proper array index: '${key}': ${atoiError(key)}`);
  const i = arrayIndex(con, key, con.length + 1, () => `${context}: Unable to access invalid index: ${index}: invalid index referenced`);
  shift(shifts, con, i);
  con.splice(i, 0, value);
}

function remove(con: Container, key: string, context: string, shifts: { count: number }): void {
  if (!Array.isArray(con)) {
    if (!Object.hasOwn(con, key)) throw new JsonPatchApplyError(`${context}: Unable to remove nonexistent key: ${key}: missing value`);
    delete con[key];
    return;
  }
  const index = parseIndex(key);
  if (index === undefined) throw new JsonPatchApplyError(`${context}: ${atoiError(key)}`);
  const i = arrayIndex(con, key, con.length, () => `${context}: Unable to access invalid index: ${index}: invalid index referenced`);
  shift(shifts, con, i + 1);
  con.splice(i, 1);
}

/**
 * The length of Go's json.Marshal of `value` (HTML-safe escapes, UTF-8), which is what the library counts
 * against the copy limit. Stops counting once past `budget`: the caller only needs to know it was exceeded.
 */
export function encodedSize(value: unknown, budget = Infinity): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= budget) {
    const node = stack.pop();
    if (node === null || node === undefined) size += 4;
    else if (typeof node === 'boolean') size += node ? 4 : 5;
    else if (typeof node === 'number') size += String(node).length;
    else if (typeof node === 'string') size += stringSize(node);
    else if (Array.isArray(node)) {
      size += 2 + Math.max(0, node.length - 1);
      for (const child of node) stack.push(child);
    } else {
      const keys = Object.keys(node as JsonObject);
      size += 2 + Math.max(0, keys.length - 1) + keys.length;
      for (const key of keys) {
        size += stringSize(key);
        stack.push((node as JsonObject)[key]);
      }
    }
  }
  return size;
}

function stringSize(text: string): number {
  let size = 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x0a || c === 0x0d || c === 0x09) size += 2;
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) size += 6;
    else if (c < 0x80) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size += 4;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) size += 6;
    else size += 3;
  }
  return size;
}
