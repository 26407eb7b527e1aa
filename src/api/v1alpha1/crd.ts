// A CustomResourceDefinition equivalent to one of our kinds, generated from the same schemas: what a user would
// install instead of this server. Benchmarks and the server-side-apply golden tests run it beside our API.
// References are inlined and the OpenAPI-only keywords a structural schema forbids are dropped; list and map
// types, keys and scalar defaults are kept, so structured-merge-diff sees the same types on both sides.
import { componentSchemas, schemaPrefix, type JsonSchema } from './schemas.js';

export interface CrdNames {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
}

export interface CrdScale {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath: string;
}

const dropped = new Set([
  '$ref',
  'allOf',
  'oneOf',
  'readOnly',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-group-version-kind',
  'x-kubernetes-unions',
]);

function resolve(schema: JsonSchema): JsonSchema {
  const target = (schema.$ref as string | undefined) ?? ((schema.allOf as JsonSchema[] | undefined)?.[0]?.$ref as string | undefined);
  if (!target) return schema;
  const name = target.slice(target.lastIndexOf('/') + 1);
  const referenced = componentSchemas[name];
  if (!referenced) throw new Error(`unknown schema ${name}`);
  const { $ref: _ref, allOf: _allOf, ...siblings } = schema;
  return { ...referenced, ...siblings };
}

function structural(input: JsonSchema, depth: number): JsonSchema {
  if (depth > 40) throw new Error('schema nests too deeply to inline');
  const schema = resolve(input);
  const out: JsonSchema = {};
  const intOrString = schema.format === 'int-or-string' || (Array.isArray(schema.oneOf) && schema.type === undefined);
  for (const [key, value] of Object.entries(schema)) {
    if (dropped.has(key)) continue;
    if (key === 'format' && (value === 'int-or-string' || intOrString)) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, structural(v, depth + 1)]));
    } else if (key === 'items') {
      const { default: _itemDefault, ...items } = structural(value as JsonSchema, depth + 1);
      out.items = items;
    } else if (key === 'additionalProperties' && typeof value === 'object') {
      out.additionalProperties = structural(value as JsonSchema, depth + 1);
    } else if (key === 'default' && value !== null && typeof value === 'object') {
      continue;
    } else out[key] = value;
  }
  if (intOrString) {
    out['x-kubernetes-int-or-string'] = true;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (out.type === 'object' && out.properties === undefined && out.additionalProperties === undefined) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

export function customResourceDefinition(names: CrdNames, scale?: CrdScale): Record<string, unknown> {
  const root = structural(componentSchemas[schemaPrefix + names.kind]!, 0);
  const properties = { ...(root.properties as Record<string, JsonSchema>), metadata: { type: 'object' } };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${names.group}` },
    spec: {
      group: names.group,
      scope: names.namespaced ? 'Namespaced' : 'Cluster',
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
        categories: names.categories,
      },
      versions: [
        {
          name: names.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { ...root, properties } },
          subresources: { status: {}, ...(scale ? { scale } : {}) },
        },
      ],
    },
  };
}
