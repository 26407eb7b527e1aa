// JSON values as structured-merge-diff orders and compares them (sigs.k8s.io/structured-merge-diff/v4/value):
// numbers before strings before booleans before lists before maps before null.
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonMap = { [key: string]: Json };

export function isMap(value: unknown): value is JsonMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The map's own value at `key`. Keys are user data (labels, annotations, node selectors): "constructor" or
 * "toString" absent from the map must read as absent, not as Object.prototype's member.
 */
export function ownValue(map: JsonMap | undefined, key: string): Json | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Sets `key` on a plain map; "__proto__" becomes a key like any other instead of replacing the prototype. */
export function setOwn(map: JsonMap, key: string, value: Json): void {
  if (key === '__proto__') Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  else map[key] = value;
}

const rank = (value: Json): number => {
  if (typeof value === 'number') return 0;
  if (typeof value === 'string') return 1;
  if (typeof value === 'boolean') return 2;
  if (Array.isArray(value)) return 3;
  if (value !== null) return 4;
  return 5;
};

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareValues(a: Json, b: Json): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return sign(ra - rb);
  if (typeof a === 'number') return sign(a - (b as number));
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a)) {
    const bl = b as Json[];
    for (let i = 0; i < Math.min(a.length, bl.length); i++) {
      const c = compareValues(a[i]!, bl[i]!);
      if (c !== 0) return c;
    }
    return sign(a.length - bl.length);
  }
  if (a === null) return 0;
  const bm = b as JsonMap;
  const ak = Object.keys(a).sort();
  const bk = Object.keys(bm).sort();
  for (let i = 0; i < Math.min(ak.length, bk.length); i++) {
    const c = compareStrings(ak[i]!, bk[i]!) || compareValues(a[ak[i]!]!, bm[bk[i]!]!);
    if (c !== 0) return c;
  }
  return sign(ak.length - bk.length);
}

export function equalValues(a: Json | undefined, b: Json | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => equalValues(item, b[i]));
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equalValues(a[k], b[k]));
  }
  return a === b;
}

/** JSON as Go's encoding/json writes it: <, > and & escaped, map keys sorted. */
export function goJson(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return /[<>&\u2028\u2029]/.test(text) ? escapeHtml(text) : text;
  }
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (isMap(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
    return v;
  };
  return escapeHtml(JSON.stringify(sorted(value)));
}

function escapeHtml(text: string): string {
  return text
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A value as structured-merge-diff prints it inside a field path: strings quoted, maps as k=v pairs. */
export function valueString(value: Json): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(valueString).join(',')}]`;
  if (typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}=${valueString(v)}`).join('');
  return String(value);
}
