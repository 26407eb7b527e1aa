// kube's quantity library (k8s.io/apiserver/pkg/cel/library/quantity.go) on resource.Quantity's semantics
// (../../quantity.ts): exact values, so "no more than 8 GPUs" compares 8 with 8000m as equal.
import { celFunc, celMethod, CelScalar, mapType, type CelFunc } from '@bufbuild/cel';
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  subtractQuantities,
  type Quantity,
} from '../../quantity.js';
import { asValue, Opaque, opaque } from './opaque.js';

const { DYN, BOOL, INT, STRING, DOUBLE } = CelScalar;
const OBJECT = mapType(DYN, DYN);
const typeName = 'kubernetes.Quantity';
const nano = 1_000_000_000n;
const int64Max = (1n << 63n) - 1n;
const int64Min = -(1n << 63n);

/**
 * resource.Quantity keeps small values as an int64 and a base-10 scale exactly as written ("1000m" is 1000×10⁻³), and
 * the rest as an arbitrary-precision decimal. AsInt64, hence isInteger and asInteger, answers from that form, not from
 * the value: 1000m is not an integer to kube, nor is 1.5 + 500m. So the form is carried beside the exact value.
 */
interface Amount {
  value: bigint;
  scale: number;
}

interface KubeQuantity {
  quantity: Quantity;
  /** The int64 form, or undefined when kube holds the value as a decimal. */
  amount: Amount | undefined;
}

interface Shape {
  sign: string;
  whole: string;
  fraction: string;
  /** The suffix: letters, then an optional sign and digits (e3, Ki, m). */
  suffix: string;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/**
 * resource.parseQuantityString's grammar, [+-]?digits(.digits)?[eEinumkKMGTP]*[+-]?digits, scanned by hand: a regular
 * expression for it has adjacent digit runs that a backtracking engine tries every split of, quadratic on a tenant's
 * megabyte of zeros.
 */
function quantityShape(text: string): Shape | undefined {
  let i = 0;
  const sign = text[0] === '+' || text[0] === '-' ? text[0] : '';
  i += sign.length;
  const wholeStart = i;
  while (isDigit(text[i])) i++;
  const whole = text.slice(wholeStart, i);
  let fraction = '';
  if (text[i] === '.') {
    const fractionStart = ++i;
    while (isDigit(text[i])) i++;
    fraction = text.slice(fractionStart, i);
  }
  const suffixStart = i;
  while (i < text.length && 'eEinumkKMGTP'.includes(text[i]!)) i++;
  if (text[i] === '+' || text[i] === '-') i++;
  while (isDigit(text[i])) i++;
  return i === text.length ? { sign, whole, fraction, suffix: text.slice(suffixStart) } : undefined;
}

const decimalExponents: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binaryExponents: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const maxExponent = 10_000;
const formatWrong = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const fitsInt64 = (v: bigint): boolean => v <= int64Max && v >= int64Min;

/** resource.ParseQuantity's int64 fast path: the form kube keeps, where the value fits it. */
function parseAmount(text: string): Amount | undefined {
  if (text === '0') return { value: 0n, scale: 0 };
  const { sign, whole, fraction, suffix } = quantityShape(text)!;
  let first = 0;
  while (whole[first] === '0') first++;
  const num = whole.slice(first) || '0';
  let scale = 0;
  let precision: number;
  let mantissa = 1n;
  if (Object.hasOwn(binaryExponents, suffix)) {
    const exponent = binaryExponents[suffix]!;
    if (fraction.length !== 0) return undefined;
    mantissa = 1n << BigInt(exponent);
    precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
  } else {
    scale = Object.hasOwn(decimalExponents, suffix) ? decimalExponents[suffix]! : Number(suffix.slice(1));
    precision = 18 - (num.length + fraction.length);
  }
  if (precision < 0) return undefined;
  scale -= fraction.length;
  if (scale < -9) return undefined;
  const value = BigInt(num + fraction) * mantissa;
  if (!fitsInt64(value)) return undefined;
  return { value: sign === '-' ? -value : value, scale };
}

function parseKubeQuantity(text: string): KubeQuantity {
  // kube checks the shape before the suffix, so "8GB" is a format error, not a suffix error.
  const shape = text === '' ? undefined : quantityShape(text);
  if (shape === undefined) throw new Error(formatWrong);
  // Values are held exactly, so 1e999999999 would be a billion-digit number: a tenant's string may not ask for that.
  // kube takes exponents up to 2^31 in its decimal form; past ±10,000 is refused here.
  const exponent = /^[eE]([+-]?[0-9]+)$/.exec(shape.suffix);
  if (exponent !== null && Math.abs(Number(exponent[1])) > maxExponent) throw new Error(`quantity exponent out of range: ${shape.suffix}`);
  return { quantity: parseQuantity(text), amount: parseAmount(text) };
}

function scaleUp(value: bigint, by: number): bigint | undefined {
  const result = value * 10n ** BigInt(by);
  return fitsInt64(result) ? result : undefined;
}

/** int64Amount.Add: undefined when kube would fall back to its decimal form. */
function addAmounts(a: Amount, b: Amount): Amount | undefined {
  if (b.value === 0n) return a;
  if (a.value === 0n) return b;
  if (a.scale === b.scale) {
    const sum = a.value + b.value;
    return fitsInt64(sum) ? { value: sum, scale: a.scale } : undefined;
  }
  if (a.scale > b.scale) {
    const scaled = scaleUp(a.value, a.scale - b.scale);
    if (scaled === undefined || !fitsInt64(scaled + b.value)) return undefined;
    return { value: scaled + b.value, scale: b.scale };
  }
  const scaled = scaleUp(b.value, b.scale - a.scale);
  if (scaled === undefined || !fitsInt64(a.value + scaled)) return undefined;
  return { value: a.value + scaled, scale: a.scale };
}

function combine(a: KubeQuantity, b: KubeQuantity, negate: boolean): KubeQuantity {
  const bAmount = b.amount && { value: negate ? -b.amount.value : b.amount.value, scale: b.amount.scale };
  const quantity = negate ? subtractQuantities(a.quantity, b.quantity) : addQuantities(a.quantity, b.quantity);
  return { quantity, amount: a.amount && bAmount ? addAmounts(a.amount, bAmount) : undefined };
}

function fromInt(value: bigint): KubeQuantity {
  return { quantity: { nanos: value * nano, format: 'DecimalExponent' }, amount: { value, scale: 0 } };
}

function quantityValue(value: KubeQuantity): Opaque<KubeQuantity> {
  return new Opaque(typeName, value.quantity.nanos, value, formatQuantity(value.quantity));
}

const kq = (value: unknown): KubeQuantity => opaque<KubeQuantity>(value, typeName);
const q = (value: unknown): Quantity => kq(value).quantity;

/** Quantity.AsInt64. */
function asInt64(value: KubeQuantity): bigint | undefined {
  const amount = value.amount;
  if (amount === undefined || amount.scale < 0) return undefined;
  return amount.scale === 0 ? amount.value : scaleUp(amount.value, amount.scale);
}

export const quantityLibrary: CelFunc[] = [
  celFunc('quantity', [STRING], DYN, (text) => asValue(quantityValue(parseKubeQuantity(text)))),
  celFunc('isQuantity', [STRING], BOOL, (text) => {
    try {
      parseKubeQuantity(text);
      return true;
    } catch {
      return false;
    }
  }),
  celFunc('sign', [OBJECT], INT, (value) => {
    const nanos = q(value).nanos;
    return nanos > 0n ? 1n : nanos < 0n ? -1n : 0n;
  }),
  celMethod('isGreaterThan', OBJECT, [OBJECT], BOOL, function (other) {
    return compareQuantities(q(this), q(other)) === 1;
  }),
  celMethod('isLessThan', OBJECT, [OBJECT], BOOL, function (other) {
    return compareQuantities(q(this), q(other)) === -1;
  }),
  celMethod('compareTo', OBJECT, [OBJECT], INT, function (other) {
    return BigInt(compareQuantities(q(this), q(other)));
  }),
  celMethod('asApproximateFloat', OBJECT, [], DOUBLE, function () {
    return Number(q(this).nanos) / 1e9;
  }),
  celMethod('asInteger', OBJECT, [], INT, function () {
    const value = asInt64(kq(this));
    if (value === undefined) throw new Error('cannot convert value to integer');
    return value;
  }),
  celMethod('isInteger', OBJECT, [], BOOL, function () {
    return asInt64(kq(this)) !== undefined;
  }),
  celMethod('add', OBJECT, [OBJECT], DYN, function (other) {
    return asValue(quantityValue(combine(kq(this), kq(other), false)));
  }),
  celMethod('add', OBJECT, [INT], DYN, function (other) {
    return asValue(quantityValue(combine(kq(this), fromInt(other), false)));
  }),
  celMethod('sub', OBJECT, [OBJECT], DYN, function (other) {
    return asValue(quantityValue(combine(kq(this), kq(other), true)));
  }),
  celMethod('sub', OBJECT, [INT], DYN, function (other) {
    return asValue(quantityValue(combine(kq(this), fromInt(other), true)));
  }),
];
