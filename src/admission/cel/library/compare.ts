// CEL's own ==, < and + for library functions that compare or add elements (lists' min, max, sum, indexOf; sets),
// taken from @bufbuild/cel's standard overloads so heterogeneous numbers compare as CEL compares them.
import { isCelError, type CelValue } from '@bufbuild/cel';
import { charge } from '../cost.js';

type Overloads = { call(id: number, target: CelValue | undefined, args: CelValue[]): unknown };
let find: (name: string) => Overloads | undefined = () => undefined;

/** Called once by the environment with its resolver. */
export function bindOperators(resolver: (name: string) => Overloads | undefined): void {
  find = resolver;
}

// Each comparison or addition a library function makes costs a unit: sets.contains of two long lists is their product.
function apply(name: string, left: CelValue, right: CelValue): CelValue {
  charge(1);
  const result = find(name)?.call(0, undefined, [left, right]);
  if (result === undefined) throw new Error('no such overload');
  if (isCelError(result)) throw result;
  return result as CelValue;
}

export function celEquals(left: CelValue, right: CelValue): boolean {
  return apply('_==_', left, right) === true;
}

/** -1, 0 or 1, as cel-go's Compare; no such overload for values that do not compare. */
export function compareValues(left: CelValue, right: CelValue): number {
  if (apply('_<_', left, right) === true) return -1;
  if (apply('_>_', left, right) === true) return 1;
  return 0;
}

export function addValues(left: CelValue, right: CelValue): CelValue {
  return apply('_+_', left, right);
}
