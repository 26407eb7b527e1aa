// cel-go's sets extension (ext.Sets, in kube from 1.29): sets.contains, sets.equivalent, sets.intersects.
import { celFunc, CelScalar, listType, type CelFunc, type CelList, type CelValue } from '@bufbuild/cel';
import { celEquals } from './compare.js';

const { DYN, BOOL } = CelScalar;
const LIST = listType(DYN);

function includes(list: CelList, item: CelValue): boolean {
  for (const element of list) if (celEquals(element, item)) return true;
  return false;
}

function containsAll(list: CelList, sublist: CelList): boolean {
  for (const item of sublist) if (!includes(list, item)) return false;
  return true;
}

export const setsLibrary: CelFunc[] = [
  celFunc('sets.contains', [LIST, LIST], BOOL, (list, sublist) => containsAll(list, sublist)),
  celFunc('sets.equivalent', [LIST, LIST], BOOL, (a, b) => containsAll(a, b) && containsAll(b, a)),
  celFunc('sets.intersects', [LIST, LIST], BOOL, (a, b) => {
    for (const item of a) if (includes(b, item)) return true;
    return false;
  }),
];
