// cel-go's strings extension at the version kube uses (ext.Strings(ext.StringsVersion(2)) from 1.29): @bufbuild/cel's
// own strings extension, with split given Go's strings.SplitN semantics (a limit keeps the rest in the last part) and
// the indexing functions counting code points as cel-go does, not UTF-16 units.
import { celMethod, CelScalar, listType, type CelFunc } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

const { STRING, INT } = CelScalar;

function splitN(text: string, separator: string, limit: number): string[] {
  if (limit === 0) return [];
  const parts = separator === '' ? Array.from(text) : text.split(separator);
  if (limit < 0 || parts.length <= limit) return parts;
  if (separator === '') return [...parts.slice(0, limit - 1), parts.slice(limit - 1).join('')];
  return [...parts.slice(0, limit - 1), parts.slice(limit - 1).join(separator)];
}

const outOfRange = (index: number | bigint): Error => new Error(`index out of range: ${index}`);

/** The string as code points, or undefined when every code point is one UTF-16 unit (indexes then agree). */
function codePoints(text: string): string[] | undefined {
  return /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : undefined;
}

function charAt(text: string, index: bigint): string {
  const points = codePoints(text) ?? text;
  if (index < 0n || index > BigInt(points.length)) throw outOfRange(index);
  return index === BigInt(points.length) ? '' : points[Number(index)]!;
}

function indexOf(text: string, search: string, start: bigint, last: boolean): bigint {
  const points = codePoints(text);
  const length = points?.length ?? text.length;
  if (start < 0n || start > BigInt(length)) throw outOfRange(start);
  if (points === undefined && codePoints(search) === undefined) {
    return BigInt(last ? text.lastIndexOf(search, Number(start)) : text.indexOf(search, Number(start)));
  }
  const all = points ?? Array.from(text);
  const needle = Array.from(search);
  const matchesAt = (i: number): boolean => needle.every((point, j) => all[i + j] === point);
  if (last) {
    for (let i = Math.min(Number(start), all.length - needle.length); i >= 0; i--) if (matchesAt(i)) return BigInt(i);
  } else {
    for (let i = Number(start); i + needle.length <= all.length; i++) if (matchesAt(i)) return BigInt(i);
  }
  return -1n;
}

function substring(text: string, start: bigint, end: bigint | undefined): string {
  const points = codePoints(text);
  const length = BigInt(points?.length ?? text.length);
  const stop = end ?? length;
  if (start < 0n || start > length) throw outOfRange(start);
  if (stop < 0n || stop > length) throw outOfRange(stop);
  if (start > stop) throw new Error(`invalid substring range. start: ${start}, end: ${stop}`);
  return points === undefined ? text.slice(Number(start), Number(stop)) : points.slice(Number(start), Number(stop)).join('');
}

export const stringsLibrary: CelFunc[] = [
  ...strings,
  celMethod('split', STRING, [STRING], listType(STRING), function (separator) {
    return splitN(this, separator, -1);
  }),
  celMethod('split', STRING, [STRING, INT], listType(STRING), function (separator, limit) {
    return splitN(this, separator, Number(limit));
  }),
  celMethod('charAt', STRING, [INT], STRING, function (index) {
    return charAt(this, index);
  }),
  celMethod('indexOf', STRING, [STRING], INT, function (search) {
    return indexOf(this, search, 0n, false);
  }),
  celMethod('indexOf', STRING, [STRING, INT], INT, function (search, start) {
    return indexOf(this, search, start, false);
  }),
  celMethod('lastIndexOf', STRING, [STRING], INT, function (search) {
    return indexOf(this, search, BigInt((codePoints(this) ?? this).length), true);
  }),
  celMethod('lastIndexOf', STRING, [STRING, INT], INT, function (search, start) {
    return indexOf(this, search, start, true);
  }),
  celMethod('substring', STRING, [INT], STRING, function (start) {
    return substring(this, start, undefined);
  }),
  celMethod('substring', STRING, [INT, INT], STRING, function (start, end) {
    return substring(this, start, end);
  }),
];
