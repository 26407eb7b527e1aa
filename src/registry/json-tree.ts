// Plain JSON trees from client input, walked without recursion: a body may nest as deep as the JSON decoder
// allows (10,000 levels, as Go's encoding/json), far past what a recursive walk survives on Node's stack.

export type JsonObject = Record<string, unknown>;

/**
 * How deep an object may nest once unknown fields are pruned (only a field whose schema preserves unknown
 * fields, such as a template's managedFields[].fieldsV1, can nest at all). kube-apiserver keeps whatever its
 * decoder read, up to 10,000 levels. Here serialization, comparison and field ownership recurse after this
 * point: V8's JSON.stringify gives up near 4,000 levels on Node's default stack, and the field manager's
 * comparisons overflowed intermittently near 3,000. Past this, a 400 in apimachinery's words for a depth limit
 * (util/json's "exceeded max depth of N"), with room to spare below both.
 */
export const maxKeptDepth = 1_000;

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Sets an own data property: "__proto__" becomes a key like any other instead of replacing the prototype. */
export function setOwnKey(object: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

/** A deep copy of a JSON tree (own enumerable keys only), in time linear in its size at any depth. */
export function cloneJson<T>(value: T): T {
  return cloneMeasured(value).copy;
}

/**
 * A deep copy of a JSON tree with its depth (as jsonDepth counts it) and its number of values (objects, arrays and
 * scalars), in one pass: a large body is walked once where a copy, a depth check and a size estimate would walk
 * it three times.
 */
export function cloneMeasured<T>(value: T): Measured<T> {
  const steps = cloneSteps(value);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

export interface Measured<T> {
  copy: T;
  depth: number;
  values: number;
  /**
   * At least the UTF-8 bytes of JSON.stringify(copy), found while copying: a tree this bound keeps under a size
   * limit needs no serialization to prove it. Each UTF-16 unit of a string or key counts 6 (an escape such as
   * \u001f, the most any unit takes), a number 25 (the longest a double prints), every member its separators.
   */
  jsonBytesBound: number;
}

/** How many values cloneSteps copies between two steps: a few milliseconds of work. */
const valuesPerStep = 16_384;

/** cloneMeasured, yielding after every few thousand values copied, so a caller may give the event loop a turn. */
export function* cloneSteps<T>(value: T): Generator<void, Measured<T>, undefined> {
  if (value === null || typeof value !== 'object') return { copy: value, depth: 0, values: 1, jsonBytesBound: scalarBytesBound(value) };
  const root: unknown = Array.isArray(value) ? new Array<unknown>(value.length) : {};
  const stack: Pending[] = [{ source: value, target: root, depth: 1 }];
  let deepest = 1;
  let values = 1;
  let bound = 0;
  let nextStep = valuesPerStep;
  while (stack.length > 0) {
    const { source, target, depth } = stack.pop()!;
    if (depth > deepest) deepest = depth;
    // Brackets, and a comma after every member, the last one's standing for the closing bracket's.
    bound += 2;
    // A step ends inside a node too: one map may hold 100,000 keys.
    if (Array.isArray(source)) {
      const out = target as unknown[];
      for (let i = 0; i < source.length; i++) {
        const item = source[i];
        bound += 1 + scalarBytesBound(item);
        out[i] = copyChild(item, depth + 1, stack);
        if (++values >= nextStep) {
          nextStep = values + valuesPerStep;
          yield;
        }
      }
    } else {
      const out = target as JsonObject;
      const from = source as JsonObject;
      for (const key of Object.keys(from)) {
        const member = from[key];
        // The quoted key, its colon and its comma.
        bound += 6 * key.length + 4 + scalarBytesBound(member);
        setOwnKey(out, key, copyChild(member, depth + 1, stack));
        if (++values >= nextStep) {
          nextStep = values + valuesPerStep;
          yield;
        }
      }
    }
  }
  return { copy: root as T, depth: deepest, values, jsonBytesBound: bound };
}

/** A scalar's share of jsonBytesBound; an object or array counts its own as it is copied. */
function scalarBytesBound(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 6 * value.length + 2;
    case 'number':
      return 25;
    case 'boolean':
    case 'undefined':
      return 5;
    case 'object':
      return value === null ? 4 : 0;
    default:
      // Nothing JSON decodes to; JSON.stringify skips functions and symbols and throws on a bigint.
      return Infinity;
  }
}

interface Pending {
  source: unknown;
  target: unknown;
  depth: number;
}

function copyChild(child: unknown, depth: number, stack: Pending[]): unknown {
  if (child === null || typeof child !== 'object') return child;
  const copy: unknown = Array.isArray(child) ? new Array<unknown>(child.length) : {};
  stack.push({ source: child, target: copy, depth });
  return copy;
}

/**
 * Whether two trees read back the same once serialized to JSON: members whose value is undefined are absent, and
 * members compare in any order. What comparing JSON.parse(JSON.stringify(x)) of both finds, without either copy;
 * on trees decoded from JSON, plain structural equality.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') {
      if (asJsonScalar(x) !== asJsonScalar(y)) return false;
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      const ys = y as unknown[];
      if (x.length !== ys.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], ys[i]]);
      continue;
    }
    const xo = x as JsonObject;
    const yo = y as JsonObject;
    let present = 0;
    for (const key of Object.keys(xo)) {
      if (xo[key] === undefined) continue;
      present++;
      if (!Object.hasOwn(yo, key) || yo[key] === undefined) return false;
      stack.push([xo[key], yo[key]]);
    }
    for (const key of Object.keys(yo)) if (yo[key] !== undefined) present--;
    if (present !== 0) return false;
  }
  return true;
}

/** A scalar as JSON writes it inside an array: undefined and non-finite numbers become null. */
function asJsonScalar(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

/** The deepest nesting of objects and arrays in a tree (a scalar is 0, `{}` is 1), without recursion. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > deepest) deepest = depth;
    const children = Array.isArray(node) ? node : Object.values(node as JsonObject);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}
