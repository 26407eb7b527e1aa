// CEL equality that charges the budget as it goes. @bufbuild/cel's == walks lists and maps whole at one call's price,
// so `items.all(x, object == oldObject)` on a 3 MiB object would do gigabytes of comparing for a few hundred thousand
// units; here each element, entry and ten characters compared costs a unit, and scalars compare as @bufbuild/cel
// compares them (numbers across int, uint and double).
import { celEnv, celFunc, CelScalar, isCelError, isCelList, isCelMap, listType, type CelFunc, type CelList, type CelMap, type CelValue } from '@bufbuild/cel';
import { charge } from '../cost.js';

const { DYN, BOOL } = CelScalar;

type Overloads = { call(id: number, target: CelValue | undefined, args: CelValue[]): unknown };
const plain = celEnv().funcs as unknown as { find(name: string): Overloads | undefined };
const scalarEquals = plain.find('_==_')!;

const isList = (v: CelValue): v is CelList => typeof v === 'object' && v !== null && isCelList(v);
const isMap = (v: CelValue): v is CelMap => typeof v === 'object' && v !== null && isCelMap(v);

export function deepEquals(left: CelValue, right: CelValue): boolean {
  if (isList(left) || isList(right)) {
    if (!isList(left) || !isList(right) || left.size !== right.size) return false;
    const rightItems = right[Symbol.iterator]();
    for (const item of left) {
      charge(1);
      if (!deepEquals(item, rightItems.next().value as CelValue)) return false;
    }
    return true;
  }
  if (isMap(left) || isMap(right)) {
    if (!isMap(left) || !isMap(right) || left.size !== right.size) return false;
    for (const [key, value] of left) {
      charge(1);
      const other = right.get(key);
      if (other === undefined || !deepEquals(value, other)) return false;
    }
    return true;
  }
  if (typeof left === 'string' && typeof right === 'string') charge(Math.ceil(Math.min(left.length, right.length) * 0.1));
  const result = scalarEquals.call(0, undefined, [left, right]);
  return result === true && !isCelError(result);
}

export const equalityLibrary: CelFunc[] = [
  celFunc('_==_', [DYN, DYN], BOOL, (left, right) => deepEquals(left, right)),
  celFunc('_!=_', [DYN, DYN], BOOL, (left, right) => !deepEquals(left, right)),
  celFunc('@in', [DYN, listType(DYN)], BOOL, (item, list) => {
    for (const element of list) {
      charge(1);
      if (deepEquals(element, item)) return true;
    }
    return false;
  }),
];
