// One resource, described once: its names, schema, rules, Table columns and subresources. defineResource fills in
// what a definition leaves out with the rules every resource of ours shares (k8s.io/apiserver's defaults for a
// resource with a status subresource) and refuses, when the server starts, a definition that could only fail later.
import type { FieldError } from '../api/meta/field-errors.js';
import { isDns1123Subdomain, type NameValidator } from '../api/meta/object-meta-validation.js';
import type { PrinterColumn } from '../api/meta/printers.js';
import type { KubeObject } from '../api/meta/types.js';
import type { JsonSchema } from '../api/v1alpha1/schemas.js';
import type { ConnectSubresource, ProgressStrategy, ResourceInfo, ScaleStrategy, Strategy } from './strategy.js';

export interface ResourceDefinition {
  group: string;
  version: string;
  kind: string;
  /** Plural name, as in the URL: "notebooks". */
  resource: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  /** False is refused: the HTTP layer serves namespaced resources only. */
  namespaced: boolean;
  schema: {
    /** The component of the kind, e.g. "io.example.ai.v1alpha1.Notebook"; its list is the same name ending in "List". */
    name: string;
    components: Readonly<Record<string, JsonSchema>>;
  };
  /** Defaults to DNS-1123 subdomains, as for any object. */
  validateName?: NameValidator;
  /** Field selectors beyond metadata.name and metadata.namespace, e.g. "status.phase": a dotted path to a scalar. */
  selectableFields?: string[];
  /** The main resource's rules; each one left out is the shared default below. */
  strategy?: {
    /** After status is dropped: set defaults. Mutates `object`. */
    prepareForCreate?(object: KubeObject): void;
    /** After the old status is kept: set defaults. Mutates `object`. */
    prepareForUpdate?(object: KubeObject, old: KubeObject): void;
    validate?(object: KubeObject): FieldError[];
    /** Defaults to `validate` of the new object. */
    validateUpdate?(object: KubeObject, old: KubeObject): FieldError[];
    warnings?(object: KubeObject, old?: KubeObject): string[];
  };
  /** The /status subresource's rules; it always keeps the old spec. */
  statusStrategy?: {
    validate?(object: KubeObject, old: KubeObject): FieldError[];
  };
  printerColumns: readonly PrinterColumn[];
  /** Present when the resource serves /scale. */
  scale?: ScaleStrategy;
  /** Present when the resource serves /progress: its workload's reports, kept in status.progress. */
  progress?: ProgressStrategy;
  /** Subresources that do work rather than read or write the object. */
  connect?: ConnectSubresource[];
}

const noErrors = (): FieldError[] => [];
const noWarnings = (): string[] => [];

/** The main resource ignores status on create. */
function dropStatus(object: KubeObject): void {
  delete object.status;
}

/** The main resource ignores status on update: it keeps whatever the old object had. */
function keepOldStatus(object: KubeObject, old: KubeObject): void {
  if (old.status === undefined) delete object.status;
  else object.status = old.status;
}

/** A /status write ignores spec: it keeps whatever the old object had. */
function keepOldSpec(object: KubeObject, old: KubeObject): void {
  if (old.spec === undefined) delete object.spec;
  else object.spec = old.spec;
}

function scalarAt(object: KubeObject, path: readonly string[]): string {
  let value: unknown = object;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return '';
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' ? value : '';
}

function invalid(definition: ResourceDefinition, problem: string): Error {
  return new Error(`resource definition ${definition.resource || '(unnamed)'}: ${problem}`);
}

function check(definition: ResourceDefinition): void {
  for (const key of ['group', 'version', 'kind', 'resource', 'singular'] as const) {
    if (typeof definition[key] !== 'string' || definition[key] === '') throw invalid(definition, `${key} is required`);
  }
  if (!definition.namespaced) throw invalid(definition, 'only namespaced resources are served');
  const { name, components } = definition.schema;
  if (!Object.hasOwn(components, name)) throw invalid(definition, `schema ${name} is not among its components`);
  if (!name.endsWith(`.${definition.kind}`)) throw invalid(definition, `schema ${name} is not named after kind ${definition.kind}`);
  const columns = definition.printerColumns;
  if (columns.length === 0 || columns[0]!.name !== 'Name') throw invalid(definition, 'printer columns must start with Name');
  if (new Set(columns.map((c) => c.name)).size !== columns.length) throw invalid(definition, 'printer column names must be unique');
  for (const field of definition.selectableFields ?? []) {
    if (!/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/.test(field) || field.startsWith('metadata.')) {
      throw invalid(definition, `selectable field ${field} is not a path beyond metadata`);
    }
  }
  const connect = definition.connect ?? [];
  const names = new Set(['status', 'scale', 'progress']);
  for (const sub of connect) {
    if (names.has(sub.name)) throw invalid(definition, `subresource ${sub.name} is declared twice`);
    names.add(sub.name);
    if (sub.methods.length === 0 || sub.verbs.length === 0) throw invalid(definition, `connect subresource ${sub.name} has no methods or verbs`);
  }
}

/** The Strategy the generic store runs for a definition; throws on a definition that is incomplete. */
export function defineResource(definition: ResourceDefinition): Strategy {
  check(definition);
  const rules = definition.strategy ?? {};
  const validate = rules.validate ?? noErrors;
  const selectable = definition.selectableFields ?? [];
  const paths = selectable.map((field) => [field, field.split('.')] as const);
  const info: ResourceInfo = {
    group: definition.group,
    version: definition.version,
    kind: definition.kind,
    listKind: `${definition.kind}List`,
    resource: definition.resource,
    singular: definition.singular,
    shortNames: definition.shortNames ?? [],
    categories: definition.categories ?? [],
    namespaced: definition.namespaced,
    subresources: ['status', ...(definition.scale ? ['scale'] : []), ...(definition.progress ? ['progress'] : [])],
    ...(definition.connect ? { connect: definition.connect } : {}),
  };
  return {
    info,
    schemaName: definition.schema.name,
    schemas: definition.schema.components,
    printerColumns: definition.printerColumns,
    validateName: definition.validateName ?? isDns1123Subdomain,
    selectableFields: selectable,
    fieldValues: (object) => {
      const values: Record<string, string> = {
        'metadata.name': object.metadata.name ?? '',
        'metadata.namespace': object.metadata.namespace ?? '',
      };
      for (const [field, path] of paths) values[field] = scalarAt(object, path);
      return values;
    },
    prepareForCreate: (object) => {
      dropStatus(object);
      rules.prepareForCreate?.(object);
    },
    prepareForUpdate: (object, old) => {
      keepOldStatus(object, old);
      rules.prepareForUpdate?.(object, old);
    },
    validate,
    validateUpdate: rules.validateUpdate ?? ((object) => validate(object)),
    warnings: rules.warnings ?? noWarnings,
    prepareForStatusUpdate: keepOldSpec,
    validateStatusUpdate: definition.statusStrategy?.validate ?? noErrors,
    ...(definition.scale ? { scale: definition.scale } : {}),
    ...(definition.progress ? { progress: definition.progress } : {}),
  };
}
