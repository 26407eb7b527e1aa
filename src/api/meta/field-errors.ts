// Field validation errors worded as k8s.io/apimachinery/pkg/util/validation/field words them, so an Invalid
// Status from this server reads exactly like one from kube-apiserver.

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid'
  | 'FieldValueUnknown';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  /** The offending value, when the message shows it (Invalid, NotSupported, Duplicate). */
  value?: unknown;
  detail?: string;
}

const typeWords: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueUnknown: 'Unknown field',
};

const withValue = new Set<FieldErrorType>([
  'FieldValueInvalid',
  'FieldValueNotSupported',
  'FieldValueDuplicate',
  'FieldValueTypeInvalid',
  'FieldValueTooMany',
]);

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation and symbols; of the spaces only U+0020. */
const goPrintable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const goEscapes = new Map<number, string>([
  [0x07, '\\a'],
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0b, '\\v'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
  [0x22, '\\"'],
  [0x5c, '\\\\'],
]);

/** A string as Go's %q prints it, the form field errors give a bad value in. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const escape = goEscapes.get(cp);
    if (escape !== undefined) out += escape;
    // A lone surrogate cannot reach Go: its JSON decoder reads one as U+FFFD.
    else if (cp >= 0xd800 && cp < 0xe000) out += '\ufffd';
    else if (cp < 0x80 ? cp >= 0x20 && cp < 0x7f : goPrintable.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/**
 * A number as kube-apiserver holds a JSON number and prints it with %v: an integer as int64, anything else as a
 * float64, which Go writes with an exponent from 1e+06 up and below 1e-04.
 */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 63) return BigInt(n).toString();
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  const x = Number(exponent);
  if (x < -4 || x >= 6) return `${mantissa}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  return String(n);
}

/**
 * A metav1.Time bad value (an RFC 3339 timestamp): Go prints it with time.Time's String, in the server's zone, UTC
 * for kube-apiserver; an absent one is Go's zero time.
 */
export class GoTime {
  constructor(readonly rfc3339: string | undefined) {}

  toString(): string {
    if (this.rfc3339 === undefined) return '0001-01-01 00:00:00 +0000 UTC';
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(this.rfc3339);
    if (!m) return goQuote(this.rfc3339);
    const [, y, mo, d, h, mi, sec, fraction = '', zone] = m as unknown as string[];
    const offsetMinutes = /^[Zz]$/.test(zone!) ? 0 : (zone!.startsWith('-') ? -1 : 1) * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4)));
    const date = new Date(0);
    date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
    date.setUTCHours(Number(h), Number(mi) - offsetMinutes, Number(sec), 0);
    const pad = (v: number, n = 2): string => String(v).padStart(n, '0');
    const nanos = fraction.slice(0, 9).replace(/0+$/, '');
    return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${nanos ? `.${nanos}` : ''} +0000 UTC`;
  }
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return goNumber(value);
  if (value instanceof GoTime) return value.toString();
  // Go swaps a nil value for the string "null", which it then quotes.
  if (value === null || value === undefined) return '"null"';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The part of the message after "field: ", as metav1 StatusCause.message carries it. */
export function fieldErrorBody(error: FieldError): string {
  let body = typeWords[error.type];
  if (withValue.has(error.type)) body += `: ${renderValue(error.value)}`;
  if (error.detail) body += `: ${error.detail}`;
  return body;
}

export function fieldErrorString(error: FieldError): string {
  return `${error.field}: ${fieldErrorBody(error)}`;
}

/**
 * The list as ErrorList.ToAggregate().Error() words it, in an Invalid Status's message: one error alone, several in
 * brackets, each message once; undefined for none.
 */
export function fieldErrorListString(errors: readonly FieldError[]): string | undefined {
  const messages = [...new Set(errors.map(fieldErrorString))];
  if (messages.length === 0) return undefined;
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

export const fieldErrors = {
  required: (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, detail }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail }),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  tooLong: (field: string, max: number): FieldError => ({
    type: 'FieldValueTooLong',
    field,
    detail: `may not be more than ${max} bytes`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({
    type: 'FieldValueTypeInvalid',
    field,
    value,
    detail,
  }),
  unknown: (field: string): FieldError => ({ type: 'FieldValueUnknown', field, detail: `unknown field "${field}"` }),
};
