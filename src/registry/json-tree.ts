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
  if (value === null || typeof value !== 'object') return value;
  const root: unknown = Array.isArray(value) ? new Array<unknown>(value.length) : {};
  const stack: Array<[source: unknown, target: unknown]> = [[value, root]];
  while (stack.length > 0) {
    const [source, target] = stack.pop()!;
    if (Array.isArray(source)) {
      const out = target as unknown[];
      for (let i = 0; i < source.length; i++) out[i] = copyChild(source[i], stack);
    } else {
      const out = target as JsonObject;
      for (const key of Object.keys(source as JsonObject)) setOwnKey(out, key, copyChild((source as JsonObject)[key], stack));
    }
  }
  return root as T;
}

function copyChild(child: unknown, stack: Array<[unknown, unknown]>): unknown {
  if (child === null || typeof child !== 'object') return child;
  const copy: unknown = Array.isArray(child) ? new Array<unknown>(child.length) : {};
  stack.push([child, copy]);
  return copy;
}

/** Structural equality of two JSON trees, without recursion. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x)) {
      const ys = y as unknown[];
      if (x.length !== ys.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], ys[i]]);
      continue;
    }
    const xo = x as JsonObject;
    const yo = y as JsonObject;
    const keys = Object.keys(xo);
    if (keys.length !== Object.keys(yo).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(yo, key)) return false;
      stack.push([xo[key], yo[key]]);
    }
  }
  return true;
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
