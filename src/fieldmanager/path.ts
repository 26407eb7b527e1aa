// Path elements of a field path (sigs.k8s.io/structured-merge-diff/v4/fieldpath): a field of a map, the key of an
// item of a list-map, the value of an item of a set, or an index. Their order and their FieldsV1 spelling
// ("f:", "k:", "v:", "i:") are kube-apiserver's, so managedFields read the same from either server.
import { compareValues, goJson, valueString, type Json } from './value.js';

export type KeyField = [name: string, value: Json];
export type PathElement = { field: string } | { key: KeyField[] } | { value: Json } | { index: number };
export type Path = PathElement[];

const order = (pe: PathElement): number => ('field' in pe ? 0 : 'key' in pe ? 1 : 'value' in pe ? 2 : 3);

function compareKeys(a: KeyField[], b: KeyField[]): number {
  for (let i = 0; ; i++) {
    if (i >= a.length && i >= b.length) return 0;
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const [an, av] = a[i]!;
    const [bn, bv] = b[i]!;
    if (an !== bn) return an < bn ? -1 : 1;
    const c = compareValues(av, bv);
    if (c !== 0) return c;
  }
}

export function comparePathElements(a: PathElement, b: PathElement): number {
  const oa = order(a);
  const ob = order(b);
  if (oa !== ob) return oa < ob ? -1 : 1;
  if ('field' in a) {
    const bf = (b as { field: string }).field;
    return a.field < bf ? -1 : a.field > bf ? 1 : 0;
  }
  if ('key' in a) return compareKeys(a.key, (b as { key: KeyField[] }).key);
  if ('value' in a) return compareValues(a.value, (b as { value: Json }).value);
  const bi = (b as { index: number }).index;
  return a.index < bi ? -1 : a.index > bi ? 1 : 0;
}

/** The key of a path element inside a FieldsV1 document. */
export function serializePathElement(pe: PathElement): string {
  if ('field' in pe) return `f:${pe.field}`;
  if ('key' in pe) return `k:{${pe.key.map(([name, value]) => `${goJson(name)}:${goJson(value)}`).join(',')}}`;
  if ('value' in pe) return `v:${goJson(pe.value)}`;
  return `i:${pe.index}`;
}

export class PathElementError extends Error {}

/** Parses a FieldsV1 key; undefined for a prefix this version does not know (kube skips those too). */
export function deserializePathElement(text: string): PathElement | undefined {
  if (text.length < 2) throw new PathElementError('key must be 2 characters long:');
  if (text[1] !== ':') throw new PathElementError(`missing colon: ${text}`);
  const rest = text.slice(2);
  switch (text[0]) {
    case 'f':
      return { field: rest };
    case 'v':
      return { value: parseJson(rest) };
    case 'k': {
      const parsed = parseJson(rest);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new PathElementError(`invalid key: ${rest}`);
      return { key: sortKey(Object.entries(parsed)) };
    }
    case 'i': {
      if (!/^-?\d+$/.test(rest)) throw new PathElementError(`invalid index: ${rest}`);
      return { index: Number(rest) };
    }
    default:
      return undefined;
  }
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new PathElementError((error as Error).message);
  }
}

export function sortKey(fields: KeyField[]): KeyField[] {
  return [...fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A path as kube-apiserver prints it in conflicts: .spec.template.spec.containers[name="main"].image */
export function pathString(path: Path): string {
  return path
    .map((pe) => {
      if ('field' in pe) return `.${pe.field}`;
      if ('key' in pe) return `[${pe.key.map(([n, v]) => `${n}=${valueString(v)}`).join(',')}]`;
      if ('value' in pe) return `[=${valueString(pe.value)}]`;
      return `[${pe.index}]`;
    })
    .join('');
}
