// Structural validation of request bodies against the kind's JSON Schema: ajv for types, enums, bounds and
// required fields; a walk of the same schema for unknown fields, which kube-apiserver drops (fieldValidation
// Ignore/Warn) or rejects (Strict). Ajv never rewrites a body here: no coercion, no defaults, no removal.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { fieldErrors, type FieldError } from './meta/field-errors.js';
import type { JsonSchema } from './v1alpha1/schemas.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats: string[]) => Ajv;

const documentId = 'components';

export class SchemaValidator {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  /** What each schema resolves to, by identity: every field of every body resolves its schema. */
  private readonly resolved = new WeakMap<JsonSchema, JsonSchema>();

  constructor(private readonly schemas: Record<string, JsonSchema>) {
    this.ajv = new Ajv({ allErrors: true, verbose: true, strict: false, validateFormats: true, coerceTypes: false, useDefaults: false });
    addFormats(this.ajv, ['date-time', 'byte']);
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    this.ajv.addFormat('int-or-string', true);
    this.ajv.addFormat('double', true);
    this.ajv.addSchema({ $id: documentId, components: { schemas } });
  }

  /** Ajv errors of `value` against the component `name`, as field errors. */
  validate(name: string, value: unknown): FieldError[] {
    let validator = this.validators.get(name);
    if (!validator) {
      validator = this.ajv.getSchema(`${documentId}#/components/schemas/${name}`);
      if (!validator) throw new Error(`no schema ${name}`);
      this.validators.set(name, validator);
    }
    if (validator(value)) return [];
    const seen = new Set<string>();
    const out: FieldError[] = [];
    for (const error of validator.errors ?? []) {
      const fieldError = toFieldError(error);
      if (!fieldError) continue;
      const key = `${fieldError.type}|${fieldError.field}|${fieldError.detail ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(fieldError);
    }
    return out;
  }

  /**
   * Removes, in place, every field the schema does not declare, and returns their paths ("spec.foo",
   * "spec.template.spec.containers[0].bogus"). Objects without declared properties are open maps.
   */
  pruneUnknownFields(name: string, value: unknown): string[] {
    const unknown: string[] = [];
    this.prune(this.resolveOnce({ $ref: `#/components/schemas/${name}` }), value, { segments: [], unknown });
    // In the order kube-apiserver reports them: sorted as Go sorts strings, by their UTF-8 bytes.
    return unknown.sort(compareAsUtf8);
  }

  private resolve(schema: JsonSchema): JsonSchema {
    const known = this.resolved.get(schema);
    if (known) return known;
    const resolved = this.resolveOnce(schema);
    this.resolved.set(schema, resolved);
    return resolved;
  }

  private resolveOnce(schema: JsonSchema): JsonSchema {
    let current = schema;
    for (;;) {
      const target = typeof current.$ref === 'string' ? current.$ref : undefined;
      const allOf = Array.isArray(current.allOf) && current.allOf.length === 1 ? (current.allOf[0] as JsonSchema) : undefined;
      if (target) {
        const name = target.replace('#/components/schemas/', '');
        const next = this.schemas[name];
        if (!next) throw new Error(`unresolved schema reference ${target}`);
        current = next;
      } else if (allOf && !current.properties) {
        current = allOf;
      } else {
        return current;
      }
    }
  }

  private prune(schema: JsonSchema, value: unknown, walk: PruneWalk): void {
    if (value === null || typeof value !== 'object') return;
    if (schema['x-kubernetes-preserve-unknown-fields'] === true) return;
    const segments = walk.segments;
    if (Array.isArray(value)) {
      const items = schema.items as JsonSchema | undefined;
      if (!items) return;
      const itemSchema = this.resolve(items);
      if (prunesNothing(itemSchema)) return;
      for (let i = 0; i < value.length; i++) {
        segments.push(i);
        this.prune(itemSchema, value[i], walk);
        segments.pop();
      }
      return;
    }
    const record = value as Record<string, unknown>;
    const properties = schema.properties as Record<string, JsonSchema> | undefined;
    if (properties) {
      for (const key of Object.keys(record)) {
        // A field named like an Object.prototype member ("constructor", "__proto__") is unknown unless declared.
        const child = Object.hasOwn(properties, key) ? properties[key] : undefined;
        if (!child) {
          const parent = pathOf(segments);
          walk.unknown.push(parent ? `${parent}.${key}` : key);
          delete record[key];
          continue;
        }
        const resolved = this.resolve(child);
        // null for a field that is not nullable means "not set", as Go's decoding and CRD pruning read it:
        // client-go's typed objects send e.g. metadata.creationTimestamp: null in every embedded template.
        if (record[key] === null && child.nullable !== true && resolved.nullable !== true) {
          delete record[key];
          continue;
        }
        segments.push(key);
        this.prune(resolved, record[key], walk);
        segments.pop();
      }
      return;
    }
    const additional = schema.additionalProperties;
    if (additional && typeof additional === 'object') {
      const valueSchema = this.resolve(additional as JsonSchema);
      if (prunesNothing(valueSchema)) return;
      for (const [key, child] of Object.entries(record)) {
        segments.push({ mapKey: key });
        this.prune(valueSchema, child, walk);
        segments.pop();
      }
    }
  }
}

/**
 * Where a prune is: the fields, item indexes and map keys it went through, spelled as a path only for an unknown
 * field (most bodies have none, and every field would otherwise build the path of its own).
 */
interface PruneWalk {
  segments: Array<string | number | { mapKey: string }>;
  unknown: string[];
}

/** "spec.template.spec.containers[0]", "spec.selector[app]": fields joined by ".", items and map values in brackets. */
function pathOf(segments: PruneWalk['segments']): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'object') path += `[${segment.mapKey}]`;
    else path += path ? `.${segment}` : segment;
  }
  return path;
}

/**
 * A schema that declares no properties, items or map values keeps any value whole: pruning under it finds
 * nothing, so the members of a map of scalars (100,000 labels) need not be visited one by one.
 */
function prunesNothing(schema: JsonSchema): boolean {
  const additional = schema.additionalProperties;
  return !schema.properties && !schema.items && !(additional && typeof additional === 'object');
}

function fieldPath(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(segment) ? `[${segment}]` : out ? `.${segment}` : segment;
  }
  return out;
}

function toFieldError(error: ErrorObject): FieldError | undefined {
  const field = fieldPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return fieldErrors.required(field ? `${field}.${String(params.missingProperty)}` : String(params.missingProperty));
    case 'type':
      return fieldErrors.typeInvalid(field, error.data, `must be of type ${String(params.type)}`);
    case 'enum':
      return fieldErrors.notSupported(field, error.data, (params.allowedValues as unknown[]).map(String));
    case 'minimum':
    case 'exclusiveMinimum':
      return fieldErrors.invalid(field, error.data, `must be greater than or equal to ${String(params.limit)}`);
    case 'maximum':
    case 'exclusiveMaximum':
      return fieldErrors.invalid(field, error.data, `must be less than or equal to ${String(params.limit)}`);
    case 'maxLength':
      return fieldErrors.tooLong(field, Number(params.limit));
    case 'minLength':
      return fieldErrors.invalid(field, error.data, `must be at least ${String(params.limit)} characters long`);
    case 'pattern':
      return fieldErrors.invalid(field, error.data, `must match the pattern ${String(params.pattern)}`);
    case 'format':
      return fieldErrors.invalid(field, error.data, `must be a valid ${String(params.format)}`);
    case 'oneOf':
    case 'anyOf':
    case 'allOf':
    case 'if':
      // The branch errors that follow say what is wrong; the combinator's own error adds nothing.
      return undefined;
    default:
      return fieldErrors.invalid(field, error.data, error.message ?? error.keyword);
  }
}

/**
 * Go's string order (UTF-8 bytes), which is code point order. UTF-16 code units differ from it only where a
 * surrogate (a code point past U+FFFF) meets a unit at or above U+E000: the surrogate's code point is larger.
 */
function compareAsUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xHigh = x >= 0xd800 && x <= 0xdfff;
    const yHigh = y >= 0xd800 && y <= 0xdfff;
    if (xHigh !== yHigh && (xHigh ? y >= 0xe000 : x >= 0xe000)) return xHigh ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
