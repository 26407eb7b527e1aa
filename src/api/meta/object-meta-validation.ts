// ObjectMeta validation as k8s.io/apimachinery/pkg/api/validation does it: names, namespaces, labels,
// annotations, finalizers, owner references, and the fields an update may not change.
import { fieldErrors, GoTime, type FieldError } from './field-errors.js';
import type { ObjectMeta } from './types.js';

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelValueFmt = `(${qualifiedNameFmt})?`;

const dns1123Label = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123Subdomain = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1035Label = new RegExp(`^${dns1035LabelFmt}$`);
const qualifiedName = new RegExp(`^${qualifiedNameFmt}$`);
const labelValue = new RegExp(`^${labelValueFmt}$`);

export const totalAnnotationSizeLimitBytes = 256 * 1024;

const maxLength = (n: number): string => `must be no more than ${n} characters`;
/** Go's len(), which the limits are checked with, counts UTF-8 bytes: 32 'é' are over 63. */
const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** A name rule: returns the messages kube-apiserver would give for this value, empty when valid. */
export type NameValidator = (name: string) => string[];

export const isDns1123Subdomain: NameValidator = (value) => {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLength(253));
  if (!dns1123Subdomain.test(value)) {
    errs.push(
      `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`,
    );
  }
  return errs;
};

export const isDns1123Label: NameValidator = (value) => {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLength(63));
  if (!dns1123Label.test(value)) {
    errs.push(
      `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${dns1123LabelFmt}')`,
    );
  }
  return errs;
};

export const isDns1035Label: NameValidator = (value) => {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLength(63));
  if (!dns1035Label.test(value)) {
    errs.push(
      `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${dns1035LabelFmt}')`,
    );
  }
  return errs;
};

export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name = value;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part must be non-empty`);
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else if (parts.length > 2) {
    return [
      `a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFmt}') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push(`name part must be non-empty`);
  else if (byteLength(name) > 63) errs.push(`name part ${maxLength(63)}`);
  // kube tests the pattern on an empty name part too, so it gets both messages.
  if (!qualifiedName.test(name)) {
    errs.push(
      `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${qualifiedNameFmt}')`,
    );
  }
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLength(63));
  if (!labelValue.test(value)) {
    errs.push(
      `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '${labelValueFmt}')`,
    );
  }
  return errs;
}

/**
 * Whether a key is a qualified name without a prefix, the common case, decided by one test where isQualifiedName
 * splits and collects messages: a map of 100,000 labels is checked in a few milliseconds.
 */
function isPlainQualifiedName(key: string): boolean {
  return key.length > 0 && key.length <= 63 && qualifiedName.test(key);
}

function isValidLabelValueQuickly(value: string): boolean {
  return value.length <= 63 && labelValue.test(value);
}

export function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels)) return [fieldErrors.typeInvalid(field, labels, 'must be a map of string to string')];
  const errs: FieldError[] = [];
  const map = labels as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (isPlainQualifiedName(key) && typeof value === 'string' && isValidLabelValueQuickly(value)) continue;
    for (const m of isQualifiedName(key)) errs.push(fieldErrors.invalid(field, key, m));
    if (typeof value !== 'string') errs.push(fieldErrors.typeInvalid(`${field}[${key}]`, value, 'must be a string'));
    else for (const m of isValidLabelValue(value)) errs.push(fieldErrors.invalid(field, value, m));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== 'object' || Array.isArray(annotations)) {
    return [fieldErrors.typeInvalid(field, annotations, 'must be a map of string to string')];
  }
  const errs: FieldError[] = [];
  let total = 0;
  const map = annotations as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    const value = map[key];
    const lower = key.toLowerCase();
    if (!isPlainQualifiedName(lower)) for (const m of isQualifiedName(lower)) errs.push(fieldErrors.invalid(field, key, m));
    if (typeof value !== 'string') {
      errs.push(fieldErrors.typeInvalid(`${field}[${key}]`, value, 'must be a string'));
      continue;
    }
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (total > totalAnnotationSizeLimitBytes) errs.push(fieldErrors.tooLong(field, totalAnnotationSizeLimitBytes));
  return errs;
}

/** kube-apiserver validates generateName as a name after masking one trailing dash. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

export function validateObjectMeta(meta: ObjectMeta, validateName: NameValidator): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.generateName) {
    for (const m of validateName(maskTrailingDash(meta.generateName))) {
      errs.push(fieldErrors.invalid('metadata.generateName', meta.generateName, m));
    }
  }
  if (!meta.name) {
    errs.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const m of validateName(meta.name)) errs.push(fieldErrors.invalid('metadata.name', meta.name, m));
  }
  if (!meta.namespace) {
    errs.push(fieldErrors.required('metadata.namespace'));
  } else {
    for (const m of isDns1123Label(meta.namespace)) errs.push(fieldErrors.invalid('metadata.namespace', meta.namespace, m));
  }
  if (meta.generation !== undefined && meta.generation < 0) {
    errs.push(fieldErrors.invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  }
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  (meta.finalizers ?? []).forEach((finalizer, i) => {
    for (const m of isQualifiedName(finalizer)) errs.push(fieldErrors.invalid(`metadata.finalizers[${i}]`, finalizer, m));
  });
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const field = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion) errs.push(fieldErrors.invalid(`${field}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errs.push(fieldErrors.invalid(`${field}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errs.push(fieldErrors.invalid(`${field}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errs.push(fieldErrors.invalid(`${field}.uid`, ref.uid ?? '', 'uid must not be empty'));
  });
  if ((meta.ownerReferences ?? []).filter((ref) => ref.controller === true).length > 1) {
    errs.push(fieldErrors.invalid('metadata.ownerReferences', meta.ownerReferences, 'Only one reference can have Controller set to true'));
  }
  return errs;
}

/** The ObjectMeta rules of an update: everything validateObjectMeta checks, plus what may never change. */
export function validateObjectMetaUpdate(next: ObjectMeta, old: ObjectMeta, validateName: NameValidator): FieldError[] {
  const errs = validateObjectMeta(next, validateName);
  const immutable = (field: keyof ObjectMeta, value: unknown = next[field]): void => {
    if (next[field] !== old[field]) errs.push(fieldErrors.invalid(`metadata.${field}`, value, 'field is immutable'));
  };
  immutable('name');
  immutable('namespace');
  immutable('uid');
  immutable('creationTimestamp', new GoTime(next.creationTimestamp));
  return errs;
}
