// corev1.ResourceList and the few operations k8s.io/apiserver's quota package defines on it (Add, Mask,
// LessThanOrEqual, and the sorted `name=value,…` its admission errors print), over ResourceQuota objects as
// kube-apiserver returns them (raw JSON, so a status written back keeps every field it had).
import { addQuantities, compareQuantities, formatQuantity, parseQuantity, QuantityError, type Quantity } from '../quantity.js';

export type ResourceList = Map<string, Quantity>;

export interface ScopeSelectorRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

/** A core/v1 ResourceQuota as read from kube-apiserver. */
export interface ResourceQuota {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion: string; [key: string]: unknown };
  spec?: { hard?: Record<string, string>; scopes?: string[]; scopeSelector?: { matchExpressions?: ScopeSelectorRequirement[] } };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * A ResourceList from an object's map of strings. kube-apiserver has validated every stored quota's quantities; one
 * it did not (never seen) is left out rather than failing every create in the namespace.
 */
export function resourceList(values: Record<string, string> | undefined): ResourceList {
  const list: ResourceList = new Map();
  for (const [name, value] of Object.entries(values ?? {})) {
    try {
      list.set(name, parseQuantity(value));
    } catch (error) {
      if (!(error instanceof QuantityError)) throw error;
    }
  }
  return list;
}

export function toStrings(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of list) out[name] = formatQuantity(value);
  return out;
}

export function add(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map();
  for (const [name, value] of a) {
    const other = b.get(name);
    out.set(name, other ? addQuantities(value, other) : value);
  }
  for (const [name, value] of b) if (!out.has(name)) out.set(name, value);
  return out;
}

/** The entries of `list` whose names are in `names`. */
export function mask(list: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = new Map();
  for (const name of names) {
    const value = list.get(name);
    if (value) out.set(name, value);
  }
  return out;
}

/** The names in `a` whose value is above `b`'s (names `b` lacks never are). */
export function exceeding(a: ResourceList, b: ResourceList): string[] {
  const out: string[] = [];
  for (const [name, value] of a) {
    const limit = b.get(name);
    if (limit && compareQuantities(value, limit) > 0) out.push(name);
  }
  return out;
}

export function equal(a: ResourceList, b: ResourceList): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) {
    const other = b.get(name);
    if (!other || compareQuantities(value, other) !== 0) return false;
  }
  return true;
}

/** `name=value,…` sorted by name: the lists in kube's "exceeded quota" message. */
export function prettyPrint(list: ResourceList): string {
  return [...list.keys()]
    .sort()
    .map((name) => `${name}=${formatQuantity(list.get(name)!)}`)
    .join(',');
}

/** Every scope a quota is restricted by, as kube's getScopeSelectorsFromQuota gathers them. */
export function scopeSelectors(quota: ResourceQuota): ScopeSelectorRequirement[] {
  return [
    ...(quota.spec?.scopes ?? []).map((scopeName) => ({ scopeName, operator: 'Exists' })),
    ...(quota.spec?.scopeSelector?.matchExpressions ?? []),
  ];
}
