// kube's CEL object types (Quantity, URL, Format) as @bufbuild/cel values. @bufbuild/cel has no user-defined value
// types, so one travels as a branded map with a single entry holding its canonical key: CEL equality on two such maps
// is then kube's Equal (two quantities are equal when their values are, whatever their suffixes).
import type { CelValue } from '@bufbuild/cel';

const celMapBrand = Symbol.for('@bufbuild/cel/map');

export class Opaque<T> implements ReadonlyMap<string, CelValue> {
  readonly [celMapBrand] = {};
  constructor(
    readonly typeName: string,
    private readonly key: CelValue,
    readonly data: T,
    /** What the value is as a result: kube converts these types to their string forms. */
    readonly text: string,
  ) {}
  get size(): number {
    return 1;
  }
  get(key: unknown): CelValue | undefined {
    return key === this.typeName ? this.key : undefined;
  }
  has(key: unknown): boolean {
    return key === this.typeName;
  }
  *keys(): MapIterator<string> {
    yield this.typeName;
  }
  *values(): MapIterator<CelValue> {
    yield this.key;
  }
  *entries(): MapIterator<[string, CelValue]> {
    yield [this.typeName, this.key];
  }
  [Symbol.iterator](): MapIterator<[string, CelValue]> {
    return this.entries();
  }
  forEach(callback: (value: CelValue, key: string, map: ReadonlyMap<string, CelValue>) => void): void {
    callback(this.key, this.typeName, this);
  }
}

export function opaque<T>(value: unknown, typeName: string): T {
  if (value instanceof Opaque && value.typeName === typeName) return value.data as T;
  throw new Error('no such overload');
}

export function asValue<T>(value: Opaque<T>): CelValue {
  return value as unknown as CelValue;
}
