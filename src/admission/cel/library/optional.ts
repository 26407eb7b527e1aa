// CEL optional values (cel.OptionalTypes, which kube enables from 1.28): optional.of/none/ofNonZeroValue, hasValue,
// value, orValue, or, and the calls the optional syntax is parsed into.
import { celFunc, celMethod, CelScalar, isCelList, isCelMap, listType, type CelFunc, type CelValue } from '@bufbuild/cel';
import { asCel, isOptional, OptionalValue } from '../values.js';
import { chargeIteration, optIndex, optList, optMap, optSelect } from '../syntax.js';

const { DYN, BOOL, INT } = CelScalar;
const LIST = listType(DYN);

export class NoSuchOverload extends Error {
  constructor() {
    super('no such overload');
  }
}

function optional(value: CelValue): OptionalValue {
  if (!isOptional(value)) throw new NoSuchOverload();
  return value;
}

function isZero(value: CelValue): boolean {
  if (value === null || value === false || value === '' || value === 0n || value === 0) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && (isCelList(value) || isCelMap(value))) return (value as { size: number }).size === 0;
  if (typeof value === 'object' && 'value' in value && value.value === 0n) return true;
  return false;
}

/** A map's member or a list's element if present; none otherwise (cel-go's QualifyIfPresent). */
function qualifyIfPresent(container: CelValue, key: CelValue): OptionalValue {
  let target = container;
  if (isOptional(target)) {
    if (!target.hasValue) return OptionalValue.none;
    target = target.value!;
  }
  if (typeof target === 'object' && target !== null && isCelMap(target)) {
    const map = target as unknown as { get(key: unknown): CelValue | undefined };
    const found = typeof key === 'object' && key !== null && !isCelList(key) && !isCelMap(key) ? undefined : map.get(key);
    return found === undefined ? OptionalValue.none : OptionalValue.of(found);
  }
  if (typeof target === 'object' && target !== null && isCelList(target) && !isOptional(target)) {
    let index: number;
    if (typeof key === 'bigint') index = Number(key);
    else if (typeof key === 'number' && Number.isInteger(key)) index = key;
    else throw new NoSuchOverload();
    const list = target as unknown as { size: number; get(i: number): CelValue | undefined };
    return index >= 0 && index < list.size ? OptionalValue.of(list.get(index)!) : OptionalValue.none;
  }
  throw new NoSuchOverload();
}

export const optionalLibrary: CelFunc[] = [
  celFunc('optional.of', [DYN], DYN, (value) => asCel(OptionalValue.of(value))),
  celFunc('optional.none', [], DYN, () => asCel(OptionalValue.none)),
  celFunc('optional.ofNonZeroValue', [DYN], DYN, (value) => asCel(isZero(value) ? OptionalValue.none : OptionalValue.of(value))),
  celMethod('hasValue', LIST, [], BOOL, function () {
    return optional(this).hasValue;
  }),
  celMethod('value', LIST, [], DYN, function () {
    const opt = optional(this);
    if (!opt.hasValue) throw new Error('optional.none() dereference');
    return opt.value!;
  }),
  celMethod('orValue', LIST, [DYN], DYN, function (fallback) {
    const opt = optional(this);
    return opt.hasValue ? opt.value! : fallback;
  }),
  celMethod('or', LIST, [DYN], DYN, function (other) {
    const opt = optional(this);
    return opt.hasValue ? asCel(opt) : asCel(optional(other));
  }),
  celFunc(optSelect, [DYN, DYN], DYN, (container, field) => asCel(qualifyIfPresent(container, field))),
  celFunc(optIndex, [DYN, DYN], DYN, (container, key) => asCel(qualifyIfPresent(container, key))),
  celFunc(optList, [LIST, LIST], LIST, (elements, optionalIndices) => {
    const marked = new Set(Array.from(optionalIndices, (i) => Number(i)));
    const out: CelValue[] = [];
    let index = 0;
    for (const element of elements) {
      if (!marked.has(index++)) out.push(element);
      else if (optional(element).hasValue) out.push((element as unknown as OptionalValue).value!);
    }
    return out;
  }),
  celFunc(optMap, [LIST, LIST, LIST], DYN, (keys, values, optionalIndices) => {
    const marked = new Set(Array.from(optionalIndices, (i) => Number(i)));
    const out = new Map<string | bigint | boolean, CelValue>();
    const valueList = Array.from(values);
    let index = 0;
    for (const key of keys) {
      const value = valueList[index]!;
      const isMarked = marked.has(index++);
      if (typeof key !== 'string' && typeof key !== 'bigint' && typeof key !== 'boolean') throw new Error('unsupported key type');
      if (out.has(key)) throw new Error(`Failed with repeated key: ${String(key)}`);
      if (!isMarked) out.set(key, value);
      else if (optional(value).hasValue) out.set(key, (value as unknown as OptionalValue).value!);
    }
    return out;
  }),
  // Identity: the call itself is what the budget charges, once per iteration, as many units as its second argument.
  celFunc(chargeIteration, [DYN, INT], DYN, (condition) => condition),
];
