// resource.Quantity as k8s.io/apimachinery parses, adds, compares and prints it: the numbers of ResourceQuota's hard
// and used, of container requests and limits. Values are held exactly, in nano units, as kube rounds anything finer
// up to 1n; the format remembered is the suffix family the value was written in, which decides how it prints.
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value × 10⁹. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

const nano = 1_000_000_000n;
const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalByExponent = new Map(Object.entries(decimalSuffixes).map(([suffix, exponent]) => [exponent, suffix]));
const binaryByPower = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const shape = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;
const maxDigits = 1_000;
const maxExponent = 10_000;

/** kube's ErrFormatWrong, ErrSuffix and ErrNumeric share this prefix; a caller shows the whole message. */
export class QuantityError extends Error {}

export const zero: Quantity = { nanos: 0n, format: 'DecimalSI' };

/** resource.ParseQuantity: throws QuantityError with kube's wording when the string is not a quantity. */
export function parseQuantity(text: string): Quantity {
  const match = shape.exec(text);
  if (!match || text === '' || (match[2] === '' && (match[3] ?? '') === '')) throw new QuantityError('quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'');
  const [, sign, whole = '', fraction = '', suffix = ''] = match;
  let format: QuantityFormat;
  let exponent10 = 0;
  let power2 = 0;
  if (Object.hasOwn(decimalSuffixes, suffix)) {
    format = 'DecimalSI';
    exponent10 = decimalSuffixes[suffix]!;
  } else if (Object.hasOwn(binarySuffixes, suffix)) {
    format = 'BinarySI';
    power2 = binarySuffixes[suffix]!;
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    format = 'DecimalExponent';
    exponent10 = Number(suffix.slice(1));
  } else {
    throw new QuantityError('unable to parse quantity\'s suffix');
  }
  // Tenants write requests and limits; exact arithmetic on a billion-digit value (1e999999999) would hold the event
  // loop for minutes. Values this far past int64 mean nothing to a quota, and are refused here instead.
  // Leading zeros are no magnitude: kube reads a megabyte of them before a 1e3 as 1000.
  const significant = whole.replace(/^0+/, '');
  if (significant.length + fraction.length > maxDigits || Math.abs(exponent10) > maxExponent) {
    throw new QuantityError(`quantity out of the range this server computes with (at most ${maxDigits} digits and an exponent within ±${maxExponent})`);
  }
  const digits = BigInt(significant + fraction || '0') << BigInt(power2);
  const scale = exponent10 - fraction.length + 9;
  let nanos: bigint;
  if (scale >= 0) nanos = digits * 10n ** BigInt(scale);
  else {
    // Finer than 1n: kube rounds up, away from zero.
    const divisor = 10n ** BigInt(-scale);
    nanos = digits / divisor + (digits % divisor === 0n ? 0n : 1n);
  }
  return { nanos: sign === '-' ? -nanos : nanos, format };
}

/** Quantity.String(): the canonical form, as large a suffix as loses nothing, in the value's own suffix family. */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  const negative = q.nanos < 0n;
  const magnitude = negative ? -q.nanos : q.nanos;
  const sign = negative ? '-' : '';
  if (q.format === 'BinarySI' && magnitude >= 1024n * nano && magnitude % nano === 0n) {
    let value = magnitude / nano;
    let power = 0;
    while (value % 1024n === 0n && power < binaryByPower.length - 1) {
      value /= 1024n;
      power++;
    }
    return `${sign}${value}${binaryByPower[power]}`;
  }
  let value = magnitude;
  let exponent = -9;
  while (value % 10n === 0n) {
    value /= 10n;
    exponent++;
  }
  const over = ((exponent % 3) + 3) % 3;
  value *= 10n ** BigInt(over);
  exponent -= over;
  if (q.format === 'DecimalExponent') return `${sign}${value}${exponent === 0 ? '' : `e${exponent}`}`;
  const suffix = decimalByExponent.get(exponent);
  if (suffix !== undefined) return `${sign}${value}${suffix}`;
  // Past E no SI suffix exists: the value is written out in full.
  return `${sign}${value * 10n ** BigInt(exponent - 18)}E`;
}

/** Quantity.Add: the sum keeps the first operand's format, unless that one is zero, as kube's in-place Add does. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

/** Quantity.Sub, formatted as Add is. */
export function subtractQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos - b.nanos, format: a.nanos === 0n ? b.format : a.format };
}

export function multiplyQuantity(q: Quantity, times: number): Quantity {
  return { nanos: q.nanos * BigInt(times), format: q.format };
}

/** Quantity.Cmp: -1, 0 or 1. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}
