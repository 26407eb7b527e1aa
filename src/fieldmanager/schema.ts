// The OpenAPI schemas seen the way structured-merge-diff sees them (k8s.io/kube-openapi/pkg/schemaconv): every
// node is a scalar, a list (atomic, or associative as a set or keyed map) or a map (its fields, an element type for
// other keys, granular or atomic). Converted lazily, one named component at a time.
import type { JsonSchema } from '../api/v1alpha1/schemas.js';

export type MapRelationship = 'atomic' | 'separable' | '';

export interface TypeRef {
  named?: string;
  inlined?: Atom;
  /** x-kubernetes-map-type beside a reference overrides the referenced map's relationship. */
  relationship?: MapRelationship;
}

export interface ListType {
  relationship: 'atomic' | 'associative';
  keys: string[];
  element: TypeRef;
}

export interface StructField {
  type: TypeRef;
  default?: unknown;
}

export interface MapType {
  fields: Map<string, StructField>;
  relationship: MapRelationship;
  /** The type of keys that are not declared fields; undefined when the map allows none. */
  element?: TypeRef;
}

export interface Atom {
  scalar?: boolean;
  list?: ListType;
  map?: MapType;
}

const untypedName = '__untyped_atomic_';
const deducedName = '__untyped_deduced_';
const untypedAtom: Atom = {
  scalar: true,
  list: { relationship: 'atomic', keys: [], element: { named: untypedName } },
  map: { fields: new Map(), relationship: 'atomic', element: { named: untypedName } },
};
const deducedAtom: Atom = {
  scalar: true,
  list: { relationship: 'atomic', keys: [], element: { named: untypedName } },
  map: { fields: new Map(), relationship: 'separable', element: { named: deducedName } },
};
/** Types kube-openapi maps to an untyped scalar rather than converting their schema. */
const scalarComponents = new Set(['io.k8s.apimachinery.pkg.api.resource.Quantity']);
const untypedComponents = new Set(['io.k8s.apimachinery.pkg.runtime.RawExtension']);

export class SchemaError extends Error {}

export class SmdSchema {
  private readonly atoms = new Map<string, Atom>([
    [untypedName, untypedAtom],
    [deducedName, deducedAtom],
  ]);

  constructor(private readonly components: Record<string, JsonSchema>) {}

  resolve(type: TypeRef): Atom {
    let atom: Atom;
    if (type.inlined) atom = type.inlined;
    else if (type.named) atom = this.named(type.named);
    else return {};
    if (type.relationship && atom.map) atom = { ...atom, map: { ...atom.map, relationship: type.relationship } };
    return atom;
  }

  private named(name: string): Atom {
    let atom = this.atoms.get(name);
    if (atom) return atom;
    const schema = this.components[name];
    if (!schema) throw new SchemaError(`schema error: no type found matching: ${name}`);
    if (scalarComponents.has(name)) atom = { scalar: true };
    else if (untypedComponents.has(name)) atom = untypedAtom;
    else atom = this.parse(schema, false);
    this.atoms.set(name, atom);
    return atom;
  }

  private parse(schema: JsonSchema, inheritedPreserve: boolean): Atom {
    const preserve = inheritedPreserve || schema['x-kubernetes-preserve-unknown-fields'] === true;
    const type = schema.type as string | undefined;
    if (type === undefined) return { scalar: true, list: this.parseList(schema, preserve), map: this.parseObject(schema, preserve) };
    if (type === 'object') return { map: this.parseObject(schema, preserve) };
    if (type === 'array') return { list: this.parseList(schema, preserve) };
    return { scalar: true };
  }

  private ref(schema: JsonSchema, preserve: boolean): TypeRef {
    let target = schema.$ref as string | undefined;
    const allOf = schema.allOf as JsonSchema[] | undefined;
    if (!target && allOf?.length === 1 && allOf[0]!.$ref) target = allOf[0]!.$ref as string;
    if (target) {
      const named = target.slice(target.lastIndexOf('/') + 1);
      const relationship = mapRelationship(schema);
      return relationship ? { named, relationship } : { named };
    }
    return { inlined: this.parse(schema, preserve) };
  }

  private parseObject(schema: JsonSchema, preserve: boolean): MapType {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const fields = new Map<string, StructField>();
    for (const [name, member] of Object.entries(properties)) {
      fields.set(name, { type: this.ref(member, preserve), ...(member.default === undefined ? {} : { default: member.default }) });
    }
    const additional = schema.additionalProperties as JsonSchema | boolean | undefined;
    let element: TypeRef | undefined;
    if (additional === undefined) element = preserve || fields.size === 0 ? { named: deducedName } : undefined;
    else if (typeof additional === 'object') element = this.ref(additional, preserve);
    else if (additional) element = { named: deducedName };
    return { fields, relationship: mapRelationship(schema), ...(element ? { element } : {}) };
  }

  private parseList(schema: JsonSchema, preserve: boolean): ListType {
    const items = schema.items as JsonSchema | undefined;
    const element: TypeRef = items ? this.ref(items, preserve) : { named: untypedName };
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set') return { relationship: 'associative', keys: [], element };
    if (listType === 'map') return { relationship: 'associative', keys: (schema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [], element };
    if (listType === undefined) {
      const strategy = schema['x-kubernetes-patch-strategy'];
      if (strategy === 'merge' || strategy === 'merge,retainKeys') {
        const key = schema['x-kubernetes-patch-merge-key'] as string | undefined;
        return { relationship: 'associative', keys: key ? [key] : [], element };
      }
    }
    return { relationship: 'atomic', keys: [], element };
  }
}

function mapRelationship(schema: JsonSchema): MapRelationship {
  const type = schema['x-kubernetes-map-type'];
  if (type === 'atomic') return 'atomic';
  if (type === 'granular') return 'separable';
  return '';
}
