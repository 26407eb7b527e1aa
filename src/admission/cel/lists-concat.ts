// List concatenation that stays linear. @bufbuild/cel nests a view per `+`, so `map` and `filter` (whose macros add
// one element per iteration) build a chain as deep as the list, slow to read and deep enough to overflow the stack on
// a 100,000-element list. Here a list that is the full extent of its array is extended in place (earlier views keep
// their own length and never see the additions), so n appends cost O(n).
import { charge } from './cost.js';
import type { CelValue } from '@bufbuild/cel';

const celListBrand = Symbol.for('@bufbuild/cel/list');

export class AppendList {
  readonly [celListBrand] = {};
  constructor(
    private readonly array: CelValue[],
    readonly size: number,
  ) {}
  get(index: number): CelValue | undefined {
    return index >= 0 && index < this.size ? this.array[index] : undefined;
  }
  *values(): IterableIterator<CelValue> {
    for (let i = 0; i < this.size; i++) yield this.array[i]!;
  }
  [Symbol.iterator](): IterableIterator<CelValue> {
    return this.values();
  }
  static concat(left: Iterable<CelValue> & { size: number }, right: Iterable<CelValue> & { size: number }): AppendList {
    if (left instanceof AppendList && left.size === left.array.length) {
      charge(right.size);
      for (const item of right) left.array.push(item);
      return new AppendList(left.array, left.array.length);
    }
    charge(left.size + right.size);
    const array = [...left, ...right];
    return new AppendList(array, array.length);
  }
}
