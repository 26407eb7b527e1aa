// How admission's JSON (a decoded kube object) becomes CEL values for @bufbuild/cel and how results come back. Objects
// and arrays are wrapped, not copied: a policy reading two fields of a 3 MiB object converts two fields.
import { celError, celType, isCelError, isCelList, isCelMap, isCelType, isCelUint, type CelList, type CelMap, type CelValue } from '@bufbuild/cel';

import { Opaque } from './library/opaque.js';

// @bufbuild/cel recognises its maps and lists by these registered symbols, which is what lets these wrappers be CEL
// values without copying.
const celMapBrand = Symbol.for('@bufbuild/cel/map');
const celListBrand = Symbol.for('@bufbuild/cel/list');
const optionalBrand = Symbol('optional');

type MapKey = bigint | string | boolean | { value: bigint } | number;

/**
 * JSON numbers: integral ones are CEL int, others double, as kube's unstructured conversion gives int64 for integer
 * schema types and float64 for number. Without a schema kube decodes by the JSON text (1.0 stays double there); here
 * the text is gone, so an integral double in the object is an int.
 */
export function jsonToCel(value: unknown): CelValue {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? BigInt(value) : value;
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'undefined':
      return null;
    case 'object':
      if (value === null) return null;
      if (value instanceof LazyMap || value instanceof OptionalValue) return value as unknown as CelValue;
      if (isCelMap(value) || isCelList(value) || isCelUint(value) || isCelType(value) || value instanceof Uint8Array) return value as CelValue;
      if (Array.isArray(value)) return new JsonList(value) as unknown as CelValue;
      return new JsonMap(value as Record<string, unknown>) as unknown as CelValue;
    default:
      throw new Error(`unsupported value of type ${typeof value}`);
  }
}

// An object's keys, listed once: a wrapper is made at every read, and size() in a loop must not list them each time.
const keysOf = new WeakMap<object, string[]>();

function objectKeys(object: Record<string, unknown>): string[] {
  let keys = keysOf.get(object);
  if (keys === undefined) {
    keys = Object.keys(object);
    keysOf.set(object, keys);
  }
  return keys;
}

class JsonMap implements ReadonlyMap<string, CelValue> {
  readonly [celMapBrand] = {};
  constructor(private readonly object: Record<string, unknown>) {}
  get size(): number {
    return objectKeys(this.object).length;
  }
  get(key: MapKey): CelValue | undefined {
    if (typeof key !== 'string' || !Object.hasOwn(this.object, key)) return undefined;
    return jsonToCel(this.object[key]);
  }
  has(key: MapKey): boolean {
    return typeof key === 'string' && Object.hasOwn(this.object, key);
  }
  keys(): MapIterator<string> {
    return objectKeys(this.object)[Symbol.iterator]();
  }
  *values(): MapIterator<CelValue> {
    for (const key of objectKeys(this.object)) yield jsonToCel(this.object[key]);
  }
  *entries(): MapIterator<[string, CelValue]> {
    for (const key of objectKeys(this.object)) yield [key, jsonToCel(this.object[key])];
  }
  [Symbol.iterator](): MapIterator<[string, CelValue]> {
    return this.entries();
  }
  forEach(callback: (value: CelValue, key: string, map: ReadonlyMap<string, CelValue>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}

class JsonList {
  readonly [celListBrand] = {};
  constructor(private readonly array: readonly unknown[]) {}
  get size(): number {
    return this.array.length;
  }
  get(index: number): CelValue | undefined {
    return index >= 0 && index < this.array.length ? jsonToCel(this.array[index]) : undefined;
  }
  *values(): IterableIterator<CelValue> {
    for (const item of this.array) yield jsonToCel(item);
  }
  [Symbol.iterator](): IterableIterator<CelValue> {
    return this.values();
  }
}

/**
 * CEL's optional type (kube enables cel.OptionalTypes). @bufbuild/cel has no such type, so an optional travels as a
 * list of zero or one element carrying a brand: equality then matches CEL's (none == none, of(a) == of(b) iff a == b)
 * and the optional functions check the brand.
 */
export class OptionalValue {
  readonly [celListBrand] = {};
  readonly [optionalBrand] = true;
  private constructor(private readonly inner: CelValue | undefined) {}
  static of(value: CelValue): OptionalValue {
    return new OptionalValue(value);
  }
  static readonly none = new OptionalValue(undefined);
  get hasValue(): boolean {
    return this.inner !== undefined;
  }
  /** The value, or undefined for none. */
  get value(): CelValue | undefined {
    return this.inner;
  }
  get size(): number {
    return this.inner === undefined ? 0 : 1;
  }
  get(index: number): CelValue | undefined {
    return index === 0 ? this.inner : undefined;
  }
  *values(): IterableIterator<CelValue> {
    if (this.inner !== undefined) yield this.inner;
  }
  [Symbol.iterator](): IterableIterator<CelValue> {
    return this.values();
  }
}

export function isOptional(value: unknown): value is OptionalValue {
  return value instanceof OptionalValue;
}

export function asCel(value: OptionalValue): CelValue {
  return value as unknown as CelValue;
}

/** What a LazyMap member's computation returns: a program's evaluation (its native value rides along unseen). */
export type LazyResult = { ok: true; value: unknown } | { ok: false; message: string };

export const nativeValue = Symbol('native CEL value');

/**
 * A map whose members are computed on first access and then kept: ValidatingAdmissionPolicy's `variables`, each
 * evaluated at most once per request and only if an expression reads it. A failed member is an error value in the
 * expression that reads it, with the member's message (failing it unless `||` or `&&` absorbs it, as in cel-go).
 */
export class LazyMap implements ReadonlyMap<string, CelValue> {
  readonly [celMapBrand] = {};
  private readonly done = new Map<string, LazyResult>();
  private readonly names: readonly string[];
  constructor(names: readonly string[], private readonly compute: (name: string) => LazyResult) {
    this.names = [...new Set(names)];
  }
  private member(name: string): CelValue {
    let result = this.done.get(name);
    if (result === undefined) {
      result = this.compute(name);
      this.done.set(name, result);
    }
    // An error value, not a throw: CEL's || and && absorb it as they would the expression's own error.
    if (!result.ok) return celError(result.message) as unknown as CelValue;
    const native = (result as { [nativeValue]?: CelValue })[nativeValue];
    return native !== undefined ? native : jsonToCel(result.value);
  }
  get size(): number {
    return this.names.length;
  }
  get(key: MapKey): CelValue | undefined {
    return typeof key === 'string' && this.names.includes(key) ? this.member(key) : undefined;
  }
  has(key: MapKey): boolean {
    return typeof key === 'string' && this.names.includes(key);
  }
  keys(): MapIterator<string> {
    return this.names[Symbol.iterator]();
  }
  *values(): MapIterator<CelValue> {
    for (const name of this.names) yield this.member(name);
  }
  *entries(): MapIterator<[string, CelValue]> {
    for (const name of this.names) yield [name, this.member(name)];
  }
  [Symbol.iterator](): MapIterator<[string, CelValue]> {
    return this.entries();
  }
  forEach(callback: (value: CelValue, key: string, map: ReadonlyMap<string, CelValue>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}

/**
 * A CEL value as plain JS: int and uint as number when exact (bigint beyond 2^53), maps as prototype-free objects,
 * bytes as Uint8Array, timestamps and durations as their RFC 3339 / Go duration strings, types as their names, an
 * optional as its value or undefined when none.
 */
export function celToJs(value: CelValue | OptionalValue): unknown {
  if (value instanceof OptionalValue) return value.value === undefined ? undefined : celToJs(value.value);
  switch (typeof value) {
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value;
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null || value instanceof Uint8Array) return value;
  if (value instanceof Opaque) return value.text;
  if (isCelUint(value)) return Number.isSafeInteger(Number(value.value)) ? Number(value.value) : value.value;
  if (isCelList(value)) return Array.from(value as CelList, (item) => celToJs(item));
  if (isCelMap(value)) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of value as CelMap) out[String(isCelUint(key) ? key.value : key)] = celToJs(item);
    return out;
  }
  if (isCelType(value)) return value.name;
  if (isCelError(value)) return undefined;
  return messageToJs(value as unknown as { message: unknown }, celType(value).name);
}

function messageToJs(value: { message: unknown }, typeName: string): unknown {
  const message = value.message as { seconds?: bigint; nanos?: number };
  const seconds = message.seconds ?? 0n;
  const nanos = message.nanos ?? 0;
  if (typeName === 'google.protobuf.Timestamp') {
    return new Date(Number(seconds) * 1000 + Math.trunc(nanos / 1e6)).toISOString().replace('.000Z', 'Z');
  }
  if (typeName === 'google.protobuf.Duration') return `${Number(seconds) + nanos / 1e9}s`;
  return typeName;
}
