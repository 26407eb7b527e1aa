// Keys named like Object.prototype members are data like any other key, through the real server over HTTP on
// each storage backend: every such name, in every map-typed field the kinds' schemas reach, through every write
// verb, and out again through every way of removing one key. The names and the map fields are generated (from
// Object.prototype and from src/api/v1alpha1/schemas.ts), so a new map field or verb is covered without a new case.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { apiVersion, componentSchemas, schemaPrefix, type JsonSchema } from '../../src/api/v1alpha1/schemas.js';
import { lazyServer, type Backend, type ServerProcess } from '../support/server.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };
/**
 * One step of a path: a field, or an item of a list — by its key fields in a list-map, the first item of an atomic
 * list. `fill` is what the step's node starts as when the fixture does not have it (the schema's required fields).
 */
type Step = { field: string; fill?: Json } | { item: JsonMap; keyed: boolean; fill?: JsonMap };

const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
const kinds = { Notebook: 'notebooks', Job: 'jobs', Dataset: 'datasets' } as const;
type Kind = keyof typeof kinds;
const namespace = 'proto';

const fixtures: Record<Kind, () => JsonMap> = {
  Notebook: () => ({ template: { spec: { containers: [{ name: 'main', image: 'jupyter/base-notebook:2024-01-01' }] } } }),
  Job: () => ({ template: { spec: { containers: [{ name: 'main', image: 'pytorch/pytorch:2.3.0' }] } } }),
  Dataset: () => ({ source: { uri: 's3://bucket/data' } }),
};

interface MapField {
  kind: Kind;
  steps: Step[];
  /** x-kubernetes-map-type: atomic — the map is owned, applied and compared as one value. */
  atomic: boolean;
  /** Values are quantities rather than strings. */
  quantity: boolean;
  /** The object without a name, holding every parent of the map. */
  base: JsonMap;
  /**
   * The step of the outermost field owned, applied and compared as one value (an atomic struct or list on the way,
   * or the map itself when atomic); undefined when each key is its own field.
   */
  leaf?: number;
}

/** The object's own ObjectMeta keys are validated as kube validates them; maps nested in a CRD-like schema are not. */
const validatesKeys = (field: MapField): boolean =>
  field.steps.length === 2 && 'field' in field.steps[0]! && field.steps[0].field === 'metadata';
/** kube's qualified-name rule for label and annotation keys without a prefix (k8s.io/apimachinery validation). */
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const isLabels = (field: MapField): boolean => validatesKeys(field) && (field.steps[1] as { field: string }).field === 'labels';

function resolve(schema: JsonSchema): JsonSchema {
  for (;;) {
    const allOf = schema.allOf as JsonSchema[] | undefined;
    const target = (schema.$ref as string | undefined) ?? (allOf?.length === 1 ? (allOf[0]!.$ref as string | undefined) : undefined);
    if (!target) return schema;
    schema = componentSchemas[target.slice(target.lastIndexOf('/') + 1)]!;
  }
}

/** The smallest value the schema accepts: its required fields, first enum values, minimums. */
function minimal(raw: JsonSchema): Json {
  const schema = resolve(raw);
  if (Array.isArray(schema.enum)) return schema.enum[0] as Json;
  switch (schema.type) {
    case 'string':
      return 'x';
    case 'integer':
    case 'number':
      return Math.max(1, Number(schema.minimum ?? 1));
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      return Object.fromEntries(((schema.required as string[] | undefined) ?? []).map((r) => [r, minimal(properties[r] ?? {})]));
    }
    default:
      // Quantity and int-or-string.
      return '1';
  }
}

/** The key fields of a list's items (list-map keys, or the patch merge key), none for an atomic list. */
function listKeys(schema: JsonSchema): string[] {
  const type = schema['x-kubernetes-list-type'];
  if (type === 'map') return (schema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
  const key = schema['x-kubernetes-patch-merge-key'] as string | undefined;
  return type === undefined && key && String(schema['x-kubernetes-patch-strategy']).startsWith('merge') ? [key] : [];
}

/** The kind's object with every parent of the map at `steps`, created from the steps' fills where the fixture lacks them. */
function baseObject(kind: Kind, steps: Step[]): JsonMap {
  const object: JsonMap = { apiVersion, kind, metadata: {}, spec: fixtures[kind]() };
  let node: Json = object;
  for (const step of steps.slice(0, -1)) {
    if ('field' in step) {
      const parent = node as JsonMap;
      if (!Object.hasOwn(parent, step.field)) parent[step.field] = structuredClone(step.fill ?? {});
      node = parent[step.field]!;
    } else {
      const list = node as Json[];
      if (at(list, [step]) === undefined) list.push(structuredClone(step.fill!));
      node = at(list, [step])!;
    }
  }
  return object;
}

/**
 * Every map (an object with additionalProperties) reachable from the kind's schema through declared fields and
 * list items: the fixture's items where it has them (the first container), else an item of required fields only.
 */
function mapFields(kind: Kind): MapField[] {
  const out: MapField[] = [];
  const root = { apiVersion, kind, metadata: {}, spec: fixtures[kind]() } as JsonMap;
  const walk = (raw: JsonSchema, value: Json | undefined, steps: Step[], seen: Set<JsonSchema>, outerLeaf: number | undefined): void => {
    const schema = resolve(raw);
    if (seen.has(schema) || steps.length > 16) return;
    const inPath = new Set(seen).add(schema);
    const atomic = (raw['x-kubernetes-map-type'] ?? schema['x-kubernetes-map-type']) === 'atomic';
    const leaf = outerLeaf ?? (atomic && steps.length > 0 ? steps.length - 1 : undefined);
    const additional = schema.additionalProperties;
    if (additional && typeof additional === 'object') {
      const element = resolve(additional as JsonSchema);
      out.push({ kind, steps, atomic, quantity: element.type !== 'string', base: baseObject(kind, steps), ...(leaf === undefined ? {} : { leaf }) });
      return;
    }
    if (schema.type === 'array') {
      const keys = listKeys(schema);
      const first = Array.isArray(value) ? value[0] : undefined;
      const fill = first === undefined ? minimal(schema.items as JsonSchema) : undefined;
      const item = first ?? fill;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
      const step: Step = { item: Object.fromEntries(keys.map((k) => [k, item[k]!])), keyed: keys.length > 0, ...(fill ? { fill: fill as JsonMap } : {}) };
      walk(schema.items as JsonSchema, item, [...steps, step], inPath, leaf ?? (keys.length > 0 ? undefined : steps.length - 1));
      return;
    }
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const present = value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
    for (const [name, child] of Object.entries(properties)) {
      if (steps.length === 0 && name === 'status') continue;
      const own = present && Object.hasOwn(present, name) ? present[name] : undefined;
      const fill = own === undefined ? minimal(child) : undefined;
      walk(child, own ?? fill, [...steps, { field: name, ...(fill === undefined ? {} : { fill }) }], inPath, leaf);
    }
  };
  walk(componentSchemas[schemaPrefix + kind]!, root, [], new Set(), undefined);
  return out;
}

const fieldName = (field: MapField): string =>
  field.steps
    .map((s) => ('field' in s ? `.${s.field}` : s.keyed ? `[${Object.entries(s.item).map(([k, v]) => `${k}=${String(v)}`).join(',')}]` : '[0]'))
    .join('');

/** The value at `steps`, reading own properties only. */
function at(object: Json | undefined, steps: Step[]): Json | undefined {
  let value = object;
  for (const step of steps) {
    if ('field' in step) value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, step.field) ? value[step.field] : undefined;
    else if (!Array.isArray(value)) value = undefined;
    else value = step.keyed ? value.find((item) => Object.entries(step.item).every(([k, v]) => (item as JsonMap)?.[k] === v)) : value[0];
  }
  return value;
}

/** Sets the map at `steps`, creating declared parents as empty objects. */
function setAt(object: JsonMap, steps: Step[], map: JsonMap): void {
  let node: Json = object;
  steps.forEach((step, i) => {
    const last = i === steps.length - 1;
    if ('field' in step) {
      const parent = node as JsonMap;
      if (last) parent[step.field] = map;
      else node = Object.hasOwn(parent, step.field) ? parent[step.field]! : (parent[step.field] = {});
    } else node = at(node, [step])!;
  });
}

const pointer = (steps: Step[], object: Json): string => {
  let node: Json | undefined = object;
  return steps
    .map((step) => {
      if ('field' in step) {
        node = at(node, [step]);
        return `/${step.field}`;
      }
      const index = (node as Json[]).findIndex((item) => at([item], [step]) !== undefined);
      node = (node as Json[])[index];
      return `/${index}`;
    })
    .join('');
};
const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** A merge patch that sets the map at `steps` to `patch`; below a list the whole list is replaced, holding `full`. */
function mergePatchFor(current: Json | undefined, steps: Step[], patch: JsonMap, full: JsonMap): Json {
  const [step, ...rest] = steps;
  if (!step) return patch;
  if ('item' in step) {
    const list = structuredClone(current) as Json[];
    setAt({ list } as JsonMap, [{ field: 'list' }, ...steps], full);
    return list;
  }
  return { [step.field]: mergePatchFor(at(current, [step]), rest, patch, full) };
}

/**
 * An apply configuration holding only the map (and the keys of list-map items on the way); a field owned as one
 * value (an atomic struct or list) is configured whole, as the base has it, with the map in place.
 */
function applyConfigFor(field: MapField, name: string, map: JsonMap): JsonMap {
  const { steps } = field;
  const config: JsonMap = { apiVersion, kind: field.kind, metadata: { name } };
  let node: JsonMap = config;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if ('item' in step) continue;
    const next = steps[i + 1];
    if (!next) node[step.field] = map;
    else if (i === field.leaf) {
      const whole = { value: structuredClone(at(field.base, steps.slice(0, i + 1))) ?? {} } as JsonMap;
      setAt(whole, [{ field: 'value' }, ...steps.slice(i + 1)], map);
      node[step.field] = whole.value!;
      break;
    } else if ('item' in next) {
      const item: JsonMap = { ...next.item };
      node[step.field] = [item];
      node = item;
    } else node = (node[step.field] as JsonMap | undefined) ?? (node[step.field] = {});
  }
  return config;
}

/** The FieldsV1 node at `steps` in one manager's entry, or undefined. */
function fieldsAt(fieldsV1: Json | undefined, steps: Step[]): JsonMap | undefined {
  let node = fieldsV1;
  for (const step of steps) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if ('field' in step) node = Object.hasOwn(node, `f:${step.field}`) ? node[`f:${step.field}`] : undefined;
    else {
      const key = Object.keys(node).find((k) => k.startsWith('k:') && JSON.stringify(JSON.parse(k.slice(2))) === JSON.stringify(step.item));
      node = key === undefined ? undefined : node[key];
    }
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? node : undefined;
}

const sortedEntries = (map: Json | undefined): [string, Json][] =>
  map !== null && typeof map === 'object' && !Array.isArray(map) ? Object.entries(map).sort(([a], [b]) => (a < b ? -1 : 1)) : [];

type Verb = 'create' | 'update' | 'merge' | 'json' | 'apply';
const verbs: Verb[] = ['create', 'update', 'merge', 'json', 'apply'];
const contentTypes = { merge: 'application/merge-patch+json', json: 'application/json-patch+json', apply: 'application/apply-patch+yaml' };

let server: ServerProcess;

interface Response {
  status: number;
  body: string;
  json: JsonMap;
}

async function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
  const res = await server.http(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': contentType } });
  let json: JsonMap = {};
  try {
    json = JSON.parse(res.body) as JsonMap;
  } catch {
    // Not JSON: the assertions on status show the body.
  }
  return { status: res.status, body: res.body, json };
}

const collection = (kind: Kind): string => `/apis/${apiVersion}/namespaces/${namespace}/${kinds[kind]}`;

async function expectStatus(res: Response, want: number, what: string): Promise<void> {
  assert.equal(res.status, want, `${what}: ${res.body.slice(0, 600)}`);
}

async function read(kind: Kind, name: string): Promise<JsonMap> {
  const res = await call('GET', `${collection(kind)}/${name}`);
  await expectStatus(res, 200, `GET ${name}`);
  return res.json;
}

async function listed(kind: Kind, selector: string): Promise<string[]> {
  const res = await call('GET', `${collection(kind)}?labelSelector=${encodeURIComponent(selector)}`);
  await expectStatus(res, 200, `LIST ${selector}`);
  return (res.json.items as JsonMap[]).map((item) => (item.metadata as JsonMap).name as string);
}

const valueFor = (field: MapField, i: number): string => (field.quantity ? String(i + 1) : `v${i}`);

/** Writes `map` at the field through `verb`, on an object created holding only `{plain}` there (or, for create, at once). */
async function write(verb: Verb, field: MapField, name: string, map: JsonMap, manager: string): Promise<Response> {
  const url = `${collection(field.kind)}/${name}?fieldManager=${manager}`;
  if (verb === 'create') {
    const object = structuredClone(field.base);
    object.metadata = { name };
    setAt(object, field.steps, map);
    return call('POST', `${collection(field.kind)}?fieldManager=${manager}`, object);
  }
  const current = await read(field.kind, name);
  const existing = Object.fromEntries(sortedEntries(at(current, field.steps)));
  const added = Object.fromEntries(Object.entries(map).filter(([k]) => !Object.hasOwn(existing, k)));
  switch (verb) {
    case 'update': {
      setAt(current, field.steps, { ...existing, ...map });
      return call('PUT', url, current);
    }
    case 'merge':
      return call('PATCH', url, mergePatchFor(current, field.steps, added, { ...existing, ...map }), contentTypes.merge);
    case 'json': {
      const base = pointer(field.steps, current);
      return call('PATCH', url, Object.entries(added).map(([k, v]) => ({ op: 'add', path: `${base}/${escapePointer(k)}`, value: v })), contentTypes.json);
    }
    case 'apply':
      return call('PATCH', `${url}&force=true`, applyConfigFor(field, name, map), contentTypes.apply);
  }
}

/** Removes `key` through the verb's own way of removing one key; `applied` is what the applier still applies. */
async function remove(verb: Verb, field: MapField, name: string, key: string, manager: string, applied: JsonMap): Promise<Response> {
  const url = `${collection(field.kind)}/${name}?fieldManager=${manager}`;
  const current = await read(field.kind, name);
  const existing = Object.fromEntries(sortedEntries(at(current, field.steps)));
  const remaining = Object.fromEntries(Object.entries(existing).filter(([k]) => k !== key));
  switch (verb) {
    case 'create':
    case 'update':
      setAt(current, field.steps, remaining);
      return call('PUT', url, current);
    case 'merge':
      return call('PATCH', url, mergePatchFor(current, field.steps, Object.fromEntries([[key, null]]), remaining), contentTypes.merge);
    case 'json': {
      const path = `${pointer(field.steps, current)}/${escapePointer(key)}`;
      return call('PATCH', url, [{ op: 'test', path, value: existing[key]! }, { op: 'remove', path }], contentTypes.json);
    }
    case 'apply':
      return call('PATCH', `${url}&force=true`, applyConfigFor(field, name, applied), contentTypes.apply);
  }
}

async function checkSelectors(field: MapField, name: string, map: JsonMap, absent: string[]): Promise<void> {
  if (!isLabels(field)) return;
  for (const [key, value] of Object.entries(map)) {
    for (const selector of [`${key}=${String(value)}`, `${key}==${String(value)}`, key, `${key} in (${String(value)},x)`]) {
      assert.ok((await listed(field.kind, selector)).includes(name), `${selector} finds ${name}`);
    }
    for (const selector of [`!${key}`, `${key}!=${String(value)}`, `${key} notin (${String(value)})`]) {
      assert.ok(!(await listed(field.kind, selector)).includes(name), `${selector} does not find ${name}`);
    }
  }
  for (const key of absent) {
    assert.ok(!(await listed(field.kind, key)).includes(name), `${key} no longer finds ${name}`);
    assert.ok((await listed(field.kind, `!${key}`)).includes(name), `!${key} finds ${name}`);
  }
}

/** Every key of the map is owned by `manager` (the map itself, when atomic); removed keys by nobody. */
function checkOwnership(object: JsonMap, field: MapField, manager: string, keys: string[], removed: string[]): void {
  const entries = ((object.metadata as JsonMap).managedFields ?? []) as JsonMap[];
  const mine = entries.find((e) => e.manager === manager);
  const leaf = field.leaf;
  if (leaf !== undefined || keys.length > 0) assert.ok(mine, `${manager} has a managedFields entry: ${JSON.stringify(entries)}`);
  if (leaf !== undefined) {
    const parent = fieldsAt(mine!.fieldsV1, field.steps.slice(0, leaf));
    const owned = field.steps[leaf] as { field: string };
    assert.deepEqual(parent?.[`f:${owned.field}`], {}, `${manager} owns ${owned.field} of ${fieldName(field)} as a whole: ${JSON.stringify(mine!.fieldsV1)}`);
    return;
  }
  const node = fieldsAt(mine?.fieldsV1, field.steps);
  for (const key of keys) assert.ok(node && Object.hasOwn(node, `f:${key}`), `${manager} owns ${fieldName(field)}.${key}: ${JSON.stringify(mine?.fieldsV1)}`);
  for (const entry of entries) {
    const owned = fieldsAt(entry.fieldsV1, field.steps);
    for (const key of removed) assert.ok(!owned || !Object.hasOwn(owned, `f:${key}`), `nobody owns removed ${key}: ${JSON.stringify(entry)}`);
  }
}

function checkMap(object: JsonMap, field: MapField, want: JsonMap): void {
  assert.deepEqual(sortedEntries(at(object, field.steps)), sortedEntries(want), `${fieldName(field)} of ${JSON.stringify(object.metadata)}`);
}

const objectName = (field: MapField, index: number, verb: Verb): string => `m${index}-${verb}`;

function cases(fields: MapField[]): void {
  fields.forEach((field, index) => {
    for (const verb of verbs) {
      it(`${field.kind} ${fieldName(field)} via ${verb}: every Object.prototype name stored, selected, owned and removed one by one`, async () => {
        const name = objectName(field, index, verb);
        const manager = `proto-${verb}`;
        const plain = { plain: valueFor(field, 99) };
        const names = validatesKeys(field) ? prototypeNames.filter((n) => qualifiedName.test(n)) : prototypeNames;
        const invalid = prototypeNames.filter((n) => !names.includes(n));
        const map: JsonMap = Object.fromEntries(names.map((n, i) => [n, valueFor(field, i)]));
        if (verb !== 'create') await expectStatus(await write('create', field, name, plain, 'proto-base'), 201, 'create base');

        // A key kube refuses (not a qualified name) is a 422 naming it, never dropped silently or a 500.
        for (const bad of invalid) {
          const res = await write(verb, field, name, Object.fromEntries([[bad, 'x']]), manager);
          await expectStatus(res, 422, `${verb} with ${bad}`);
          assert.match(res.json.message as string, new RegExp(`Invalid value: "${bad}"`));
          if (verb === 'create') await expectStatus(await call('GET', `${collection(field.kind)}/${name}`), 404, 'nothing created');
          else checkMap(await read(field.kind, name), field, plain);
        }

        const res = await write(verb, field, name, verb === 'create' ? { ...plain, ...map } : map, manager);
        await expectStatus(res, verb === 'create' ? 201 : 200, `${verb} with every name`);
        // An apply of an atomic map, or of an atomic list holding it, replaces it whole: the base's key goes.
        const whole = field.leaf !== undefined;
        const base = verb === 'apply' && whole ? {} : plain;
        let expected: JsonMap = { ...base, ...map };
        checkMap(res.json, field, expected);
        let object = await read(field.kind, name);
        checkMap(object, field, expected);
        checkOwnership(object, field, manager, names, []);
        await checkSelectors(field, name, { ...base, ...map }, []);

        // A /status write keeps the map as it is.
        if (verb === 'create') {
          const status = await call('PUT', `${collection(field.kind)}/${name}/status`, { ...object, status: { phase: 'Pending' } });
          await expectStatus(status, 200, 'PUT /status');
          checkMap(status.json, field, expected);
        }
        if (verb === 'merge') {
          const status = await call('PATCH', `${collection(field.kind)}/${name}/status`, { status: { phase: 'Pending' } }, contentTypes.merge);
          await expectStatus(status, 200, 'merge patch /status');
          checkMap(status.json, field, expected);
        }

        const removed: string[] = [];
        let applied = { ...map };
        for (const key of names) {
          applied = Object.fromEntries(Object.entries(applied).filter(([k]) => k !== key));
          const out = await remove(verb, field, name, key, manager, applied);
          await expectStatus(out, 200, `${verb} removing ${key}`);
          removed.push(key);
          expected = Object.fromEntries(Object.entries(expected).filter(([k]) => k !== key));
          object = await read(field.kind, name);
          checkMap(object, field, expected);
          if (!whole) checkOwnership(object, field, manager, Object.keys(applied), removed);
        }
        await checkSelectors(field, name, expected, removed);
        await expectStatus(await call('DELETE', `${collection(field.kind)}/${name}`), 200, 'delete');
      });
    }
  });
}

const allFields = (Object.keys(kinds) as Kind[]).flatMap(mapFields);

for (const backend of ['sqlite', 'etcd'] satisfies Backend[]) {
  describe(`keys named like Object.prototype members on ${backend}`, () => {
    const lazy = lazyServer({ backend });
    beforeEach(async () => void (server = await lazy.ready()));
    after(() => lazy.stop());

    it('the schemas give map fields of every kind, granular and atomic, string and quantity valued', () => {
      const names = allFields.map((f) => `${f.kind}${fieldName(f)}`);
      for (const want of [
        'Notebook.metadata.labels',
        'Dataset.metadata.annotations',
        'Job.spec.template.spec.nodeSelector',
        'Notebook.spec.template.spec.containers[name=main].resources.limits',
      ]) {
        assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
      }
      assert.ok(allFields.some((f) => f.atomic) && allFields.some((f) => !f.atomic));
      assert.ok(allFields.some((f) => f.quantity) && allFields.some((f) => !f.quantity));
      assert.equal(prototypeNames.length >= 12, true);
    });

    cases(allFields);

    it('kubectl label and annotate: every valid name is set, selected with -l and removed with key-', async () => {
      const names = prototypeNames.filter((n) => qualifiedName.test(n));
      const kubectl = async (args: string[]): Promise<string> => {
        const res = await server.kubectl([...args, '-n', namespace]);
        assert.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
      };
      await expectStatus(await write('create', allFields.find((f) => f.kind === 'Notebook')!, 'kubectl-proto', {}, 'proto-base'), 201, 'create');
      for (const key of names) {
        await kubectl(['label', 'ainb', 'kubectl-proto', `${key}=yes`]);
        await kubectl(['annotate', 'ainb', 'kubectl-proto', `${key}=yes`]);
        assert.equal((await kubectl(['get', 'ainb', '-l', `${key}=yes`, '-o', 'name'])).trim(), 'notebook.ai.example.io/kubectl-proto');
      }
      let meta = (await read('Notebook', 'kubectl-proto')).metadata as JsonMap;
      assert.deepEqual(sortedEntries(meta.labels), sortedEntries(Object.fromEntries(names.map((n) => [n, 'yes']))));
      assert.deepEqual(sortedEntries(meta.annotations), sortedEntries(Object.fromEntries(names.map((n) => [n, 'yes']))));
      for (const key of names) {
        await kubectl(['label', 'ainb', 'kubectl-proto', `${key}-`]);
        await kubectl(['annotate', 'ainb', 'kubectl-proto', `${key}-`]);
        assert.equal((await kubectl(['get', 'ainb', '-l', key, '-o', 'name'])).trim(), '');
      }
      meta = (await read('Notebook', 'kubectl-proto')).metadata as JsonMap;
      assert.deepEqual(sortedEntries(meta.labels), []);
      assert.deepEqual(sortedEntries(meta.annotations), []);
    });

    it('watches with a selector on each name see the object leave (DELETED) and, negated, arrive (ADDED) as that label goes', async () => {
      const names = prototypeNames.filter((n) => qualifiedName.test(n));
      const field = allFields.find((f) => f.kind === 'Notebook' && isLabels(f))!;
      const created = await write('create', field, 'watch-proto', Object.fromEntries(names.map((n) => [n, 'yes'])), 'proto-base');
      await expectStatus(created, 201, 'create');
      const from = (created.json.metadata as JsonMap).resourceVersion as string;
      for (const key of names) {
        await expectStatus(await call('PATCH', `${collection('Notebook')}/watch-proto`, { metadata: { labels: Object.fromEntries([[key, null]]) } }, contentTypes.merge), 200, `remove ${key}`);
      }
      const watch = async (selector: string): Promise<{ type: string; labels: Json | undefined }[]> => {
        const res = await call('GET', `${collection('Notebook')}?watch=1&resourceVersion=${from}&timeoutSeconds=1&labelSelector=${encodeURIComponent(selector)}`);
        assert.equal(res.status, 200, res.body);
        return res.body
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as { type: string; object: JsonMap })
          .filter((e) => (e.object.metadata as JsonMap).name === 'watch-proto')
          .map((e) => ({ type: e.type, labels: (e.object.metadata as JsonMap).labels }));
      };
      await Promise.all(
        names.map(async (key, i) => {
          const labelsFrom = (j: number): JsonMap => Object.fromEntries(names.slice(j).map((n) => [n, 'yes']));
          const leaving = await watch(`${key}=yes`);
          assert.deepEqual(leaving.map((e) => e.type), [...names.slice(0, i).map(() => 'MODIFIED'), 'DELETED'], `${key}=yes`);
          leaving.slice(0, i).forEach((e, j) => assert.deepEqual(sortedEntries(e.labels), sortedEntries(labelsFrom(j + 1))));
          const arriving = await watch(`!${key}`);
          assert.deepEqual(arriving.map((e) => e.type), ['ADDED', ...names.slice(i + 1).map(() => 'MODIFIED')], `!${key}`);
          assert.deepEqual(sortedEntries(arriving[0]!.labels), sortedEntries(labelsFrom(i + 1)));
        }),
      );
    });

    it('a field named like a prototype member is an unknown field wherever a schema declares fields: strict refuses it, warn drops it', async () => {
      const positions: Step[][] = [[], [{ field: 'metadata' }], [{ field: 'spec' }], [{ field: 'spec' }, { field: 'template' }, { field: 'spec' }]];
      const body = (name: string): JsonMap => {
        const object: JsonMap = { apiVersion, kind: 'Notebook', metadata: { name }, spec: fixtures.Notebook() };
        for (const steps of positions) {
          const node = (steps.length === 0 ? object : at(object, steps)) as JsonMap;
          for (const key of prototypeNames) Object.defineProperty(node, key, { value: 'x', enumerable: true, writable: true, configurable: true });
        }
        return object;
      };
      const paths = positions.flatMap((steps) => prototypeNames.map((key) => [...steps.map((s) => (s as { field: string }).field), key].join('.')));
      const strict = await call('POST', `${collection('Notebook')}?fieldValidation=Strict`, body('strict-proto'));
      await expectStatus(strict, 400, 'strict create');
      for (const path of paths) assert.ok((strict.json.message as string).includes(`unknown field "${path}"`), `${path} in ${strict.json.message as string}`);
      const res = await server.http('POST', `${collection('Notebook')}?fieldValidation=Warn`, {
        body: JSON.stringify(body('warn-proto')),
        headers: { 'Content-Type': 'application/json' },
      });
      assert.equal(res.status, 201, res.body);
      const warnings = String(res.headers.warning ?? '');
      for (const path of paths) assert.ok(warnings.includes(`unknown field \\"${path}\\"`), `${path} warned: ${warnings}`);
      const stored = await read('Notebook', 'warn-proto');
      for (const steps of positions) {
        const node = (steps.length === 0 ? stored : at(stored, steps)) as JsonMap;
        for (const key of prototypeNames) assert.equal(Object.hasOwn(node, key), false, `${[...steps.map((s) => (s as { field: string }).field), key].join('.')} dropped`);
      }
    });

    it('server-side apply as block YAML: every name in labels and in a node selector, __proto__ included where allowed', async () => {
      const labels = prototypeNames.filter((n) => qualifiedName.test(n));
      const yaml = [
        `apiVersion: ${apiVersion}`,
        'kind: Notebook',
        'metadata:',
        '  name: yaml-proto',
        '  labels:',
        ...labels.map((n) => `    ${n}: "yes"`),
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '      - name: main',
        '        image: jupyter/base-notebook:2024-01-01',
        '      nodeSelector:',
        ...prototypeNames.map((n) => `        ${n}: "yes"`),
        '',
      ].join('\n');
      const res = await server.http('PATCH', `${collection('Notebook')}/yaml-proto?fieldManager=yaml`, {
        body: yaml,
        headers: { 'Content-Type': contentTypes.apply },
      });
      assert.equal(res.status, 201, res.body);
      const object = await read('Notebook', 'yaml-proto');
      assert.deepEqual(sortedEntries((object.metadata as JsonMap).labels), sortedEntries(Object.fromEntries(labels.map((n) => [n, 'yes']))));
      const nodeSelector = at(object, [{ field: 'spec' }, { field: 'template' }, { field: 'spec' }, { field: 'nodeSelector' }]);
      assert.deepEqual(sortedEntries(nodeSelector), sortedEntries(Object.fromEntries(prototypeNames.map((n) => [n, 'yes']))));
    });
  });
}
