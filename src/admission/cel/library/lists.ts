// kube's lists library (k8s.io/apiserver/pkg/cel/library/lists.go): isSorted, sum, min, max, indexOf, lastIndexOf.
import { celMethod, CelScalar, listType, type CelFunc, type CelValue } from '@bufbuild/cel';
import { compareValues, celEquals, addValues } from './compare.js';

const { DYN, BOOL, INT } = CelScalar;
const LIST = listType(DYN);

function extreme(list: Iterable<CelValue>, name: string, prefer: number): CelValue {
  let result: CelValue | undefined;
  for (const item of list) {
    if (result === undefined) result = item;
    else if (compareValues(result, item) === prefer) result = item;
  }
  if (result === undefined) throw new Error(`${name} called on empty list`);
  return result;
}

export const listsLibrary: CelFunc[] = [
  celMethod('isSorted', LIST, [], BOOL, function () {
    let previous: CelValue | undefined;
    for (const item of this) {
      if (previous !== undefined && compareValues(previous, item) === 1) return false;
      previous = item;
    }
    return true;
  }),
  celMethod('sum', LIST, [], DYN, function () {
    let total: CelValue | undefined;
    for (const item of this) total = total === undefined ? item : addValues(total, item);
    return total ?? 0n;
  }),
  celMethod('min', LIST, [], DYN, function () {
    return extreme(this, 'min', 1);
  }),
  celMethod('max', LIST, [], DYN, function () {
    return extreme(this, 'max', -1);
  }),
  celMethod('indexOf', LIST, [DYN], INT, function (item) {
    let index = 0;
    for (const element of this) {
      if (celEquals(element, item)) return BigInt(index);
      index++;
    }
    return -1n;
  }),
  celMethod('lastIndexOf', LIST, [DYN], INT, function (item) {
    const items = Array.from(this);
    for (let index = items.length - 1; index >= 0; index--) if (celEquals(items[index]!, item)) return BigInt(index);
    return -1n;
  }),
];
