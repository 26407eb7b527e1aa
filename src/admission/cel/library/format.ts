// kube's format library (k8s.io/apiserver/pkg/cel/library/format.go): format.<name>() and format.named(name), whose
// validate(s) gives none when s is valid and otherwise the messages kube's validators give.
import { celFunc, celList, celMethod, CelScalar, mapType, type CelFunc } from '@bufbuild/cel';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isQualifiedName, isValidLabelValue } from '../../../api/meta/object-meta-validation.js';
import { asCel, OptionalValue } from '../values.js';
import { asValue, Opaque, opaque } from './opaque.js';
import { requestUriError } from './url.js';

const { DYN, STRING } = CelScalar;
const OBJECT = mapType(DYN, DYN);
const typeName = 'kubernetes.NamedFormat';

/** apimachinery's NameIs* with prefix: a trailing '-' is allowed, as generateName's prefix may end with one. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

const uuid = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const fullDate = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTime = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function validDate(year: string, month: string, day: string): boolean {
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}

function isUri(s: string): string[] {
  const error = requestUriError(s);
  return error === undefined ? [] : [error];
}

const formats: Record<string, (s: string) => string[]> = Object.assign(Object.create(null) as Record<string, (s: string) => string[]>, {
  dns1123Label: (s: string) => isDns1123Label(s),
  dns1123Subdomain: (s: string) => isDns1123Subdomain(s),
  dns1035Label: (s: string) => isDns1035Label(s),
  qualifiedName: (s: string) => isQualifiedName(s),
  dns1123LabelPrefix: (s: string) => isDns1123Label(maskTrailingDash(s)),
  dns1123SubdomainPrefix: (s: string) => isDns1123Subdomain(maskTrailingDash(s)),
  dns1035LabelPrefix: (s: string) => isDns1035Label(maskTrailingDash(s)),
  labelValue: (s: string) => isValidLabelValue(s),
  uri: isUri,
  uuid: (s: string) => (uuid.test(s) ? [] : ['does not match the UUID format']),
  byte: (s: string) => (base64.test(s) ? [] : ['invalid base64']),
  date: (s: string) => {
    const m = fullDate.exec(s);
    return m !== null && validDate(m[1]!, m[2]!, m[3]!) ? [] : ['invalid date'];
  },
  datetime: (s: string) => {
    const m = dateTime.exec(s);
    const valid = m !== null && validDate(m[1]!, m[2]!, m[3]!) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 60;
    return valid ? [] : ['invalid datetime'];
  },
});

function formatValue(name: string): Opaque<string> {
  return new Opaque(typeName, name, name, name);
}

export const formatLibrary: CelFunc[] = [
  ...Object.keys(formats).map((name) => celFunc(`format.${name}`, [], DYN, () => asValue(formatValue(name)))),
  celFunc('format.named', [STRING], DYN, (name) =>
    asCel(Object.hasOwn(formats, name) ? OptionalValue.of(asValue(formatValue(name))) : OptionalValue.none),
  ),
  celMethod('validate', OBJECT, [STRING], DYN, function (text) {
    const errors = formats[opaque<string>(this, typeName)]!(text);
    return asCel(errors.length === 0 ? OptionalValue.none : OptionalValue.of(celList(errors)));
  }),
];
