// The Go types of clients/go have the JSON shape the schemas give: Go's own reflection (test/unit/go-types-oracle)
// reports every field as encoding/json sees it, and each is compared with the schema property of the same name:
// the same set of names, omitempty exactly when the schema does not require it, the same type, nested types
// compared in turn. go-types-in-step checks the files are what the generator writes; this checks what it writes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { componentSchemas, schemaPrefix, type JsonSchema } from '../../src/api/v1alpha1/schemas.js';
import { listResources } from '../../scripts/resource-list.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';

interface Shape {
  kind: string;
  items?: Shape;
  name?: string;
  component?: string;
  pointer?: boolean;
}
type Struct = Record<string, { omitempty: boolean; type: Shape }>;
interface Answer {
  error?: string;
  known?: string[];
  types?: Record<string, Struct>;
}

// Our schemas restate these of Kubernetes' types; the Go types use Kubernetes' own, expanded so that they are
// compared with our restatement field by field.
const restated: Record<string, string> = { [`${schemaPrefix}Condition`]: 'io.k8s.apimachinery.pkg.apis.meta.v1.Condition' };

const scalars: Record<string, string> = { string: 'string', boolean: 'bool', number: 'float64' };

function unwrap(schema: JsonSchema): JsonSchema {
  return Array.isArray(schema.allOf) && schema.allOf.length === 1 ? (schema.allOf[0] as JsonSchema) : schema;
}

/** Every difference between a Go struct and its schema, as "Notebook.spec.idle: ..." lines. */
function differences(types: Record<string, Struct>, goName: string, schema: JsonSchema, path: string): string[] {
  const fields = types[goName];
  if (!fields) return [`${path}: the oracle did not describe ${goName}`];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const found: string[] = [];
  for (const name of Object.keys(properties)) if (!Object.hasOwn(fields, name)) found.push(`${path}.${name}: in the schema, not in Go`);
  for (const name of Object.keys(fields)) if (!Object.hasOwn(properties, name)) found.push(`${path}.${name}: in Go, not in the schema`);
  for (const [name, propertySchema] of Object.entries(properties)) {
    const field = fields[name];
    if (!field) continue;
    if (field.omitempty === required.has(name)) found.push(`${path}.${name}: ${required.has(name) ? 'required but omitempty' : 'optional but not omitempty'}`);
    found.push(...typeDifferences(types, field.type, propertySchema, `${path}.${name}`));
  }
  return found;
}

function typeDifferences(types: Record<string, Struct>, go: Shape, schema: JsonSchema, path: string): string[] {
  const target = unwrap(schema);
  if (typeof target.$ref === 'string') {
    const name = target.$ref.replace('#/components/schemas/', '');
    const component = componentSchemas[name];
    if (!component) return [`${path}: no component ${name}`];
    const expanded = restated[name] ?? (name.startsWith(schemaPrefix) ? name.slice(schemaPrefix.length) : undefined);
    if (expanded === undefined) return go.kind === 'component' && go.component === name ? [] : [`${path}: Go has ${JSON.stringify(go)}, the schema ${name}`];
    if (go.kind !== 'object' || go.name !== expanded) return [`${path}: Go has ${JSON.stringify(go)}, the schema ${name}`];
    return differences(types, expanded, component, path);
  }
  if (target.type === 'array') {
    if (go.kind !== 'array' || !go.items) return [`${path}: Go has ${go.kind}, the schema an array`];
    return typeDifferences(types, go.items, target.items as JsonSchema, `${path}[]`);
  }
  if (target.type === 'object' && target.additionalProperties && typeof target.additionalProperties === 'object') {
    if (go.kind !== 'map' || !go.items) return [`${path}: Go has ${go.kind}, the schema a map`];
    return typeDifferences(types, go.items, target.additionalProperties as JsonSchema, `${path}{}`);
  }
  const want = target.type === 'integer' ? String(target.format) : scalars[String(target.type)];
  return go.kind === want ? [] : [`${path}: Go has ${go.kind}, the schema ${String(target.type)}${target.format ? ` (${String(target.format)})` : ''}`];
}

describe('clients/go types against the schemas', () => {
  const resources = listResources();
  let oracle: GoOracle;
  let answers: Map<string, Answer>;
  before(() => {
    oracle = buildGoOracle('go-types-oracle');
    const kinds = resources.flatMap((r) => [r.kind, r.listKind]);
    const replies = oracle.ask<Answer>(kinds.map((kind) => ({ kind, expand: Object.values(restated) })));
    answers = new Map(kinds.map((kind, i) => [kind, replies[i]!]));
  });
  after(() => oracle?.remove());

  it('register.go registers each resource\'s kind and list kind, and nothing else', () => {
    const want = resources.flatMap((r) => [r.kind, r.listKind]).sort();
    for (const [kind, answer] of answers) assert.deepEqual(answer.known, want, kind);
  });

  for (const resource of resources) {
    it(`${resource.kind} has the JSON shape of ${resource.schemaName}, field by field`, () => {
      const answer = answers.get(resource.kind)!;
      assert.equal(answer.error, undefined);
      assert.deepEqual(differences(answer.types!, resource.kind, componentSchemas[resource.schemaName]!, resource.kind), []);
    });

    it(`${resource.listKind} is a Kubernetes list of ${resource.kind}`, () => {
      const answer = answers.get(resource.listKind)!;
      assert.equal(answer.error, undefined);
      assert.deepEqual(answer.types![resource.listKind], {
        apiVersion: { omitempty: true, type: { kind: 'string' } },
        kind: { omitempty: true, type: { kind: 'string' } },
        metadata: { omitempty: true, type: { kind: 'component', component: 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta' } },
        items: { omitempty: false, type: { kind: 'array', items: { kind: 'object', name: resource.kind } } },
      });
    });
  }
});
