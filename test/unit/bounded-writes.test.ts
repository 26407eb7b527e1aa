// The pieces that keep a large write cheap and sliced: one-pass copies that measure as they go and yield between
// steps, comparison of contents without JSON round trips, field sets built from unsorted maps, quick label checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldErrors, type FieldError } from '../../src/api/meta/field-errors.js';
import { isQualifiedName, isValidLabelValue, validateAnnotations, validateLabels } from '../../src/api/meta/object-meta-validation.js';
import pino from 'pino';
import type { KubeObject } from '../../src/api/meta/types.js';
import { apiVersion, componentSchemas, schemaPrefix } from '../../src/api/v1alpha1/schemas.js';
import { FieldManager } from '../../src/fieldmanager/field-manager.js';
import { FieldSet } from '../../src/fieldmanager/field-set.js';
import { comparePathElements, deserializePathElement } from '../../src/fieldmanager/path.js';
import { SmdSchema } from '../../src/fieldmanager/schema.js';
import { runSteps, runToEnd } from '../../src/fieldmanager/steps.js';
import { equalValues, type Json } from '../../src/fieldmanager/value.js';
import { cloneMeasured, cloneSteps, jsonDepth, sameJson } from '../../src/registry/json-tree.js';

const ownKeys = (entries: Array<[string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
};

describe('copies measured in one pass', () => {
  const cases: { name: string; value: unknown; values: number }[] = [
    { name: 'a scalar', value: 'x', values: 1 },
    { name: 'an empty object', value: {}, values: 1 },
    { name: 'nested objects and arrays', value: { a: [1, { b: null }, []], c: { d: 'e' } }, values: 8 },
    { name: 'a key named __proto__ stays an own key', value: ownKeys([['__proto__', { x: 1 }], ['constructor', 'c']]), values: 4 },
  ];
  for (const c of cases) {
    it(`${c.name}: an equal copy, its depth and its number of values`, () => {
      const { copy, depth, values } = cloneMeasured(c.value);
      assert.deepEqual(copy, c.value);
      if (c.value !== null && typeof c.value === 'object') assert.notEqual(copy, c.value);
      assert.equal(depth, jsonDepth(c.value));
      assert.equal(values, c.values);
      if (c.value !== null && typeof c.value === 'object') assert.deepEqual(Object.keys(copy as object), Object.keys(c.value));
    });
  }

  it('a map of 100,000 keys is copied in steps, each ending inside the map', async () => {
    const labels = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v']));
    let steps = 0;
    const { copy, values } = await runSteps(cloneSteps({ metadata: { labels } }), async () => {
      steps++;
    });
    assert.ok(steps >= 5, `${steps} steps`);
    assert.equal(values, 100_003);
    assert.deepEqual(copy, { metadata: { labels } });
  });

  it("bounds its JSON's UTF-8 bytes from above, whatever each value takes to write", () => {
    const worst = [
      'x',
      '',
      '\u0000\u001f\u007f"\\\n',
      'ü😀\u2028',
      '\ud800\udfff\ud800',
      -1.2345678901234567e-300,
      -0.0000012345678901234567,
      123456789012345680000,
      Number.NaN,
      -0,
      true,
      false,
      null,
    ];
    const values: unknown[] = [...worst, ...worst.map((v) => [v]), ...worst.map((v, i) => ({ [`k${i}\u0001😀`]: v })), {}, [], [[]], { a: undefined }, [undefined]];
    values.push(Object.fromEntries(values.map((v, i) => [String(i), v])), values.slice());
    for (const value of values) {
      const { jsonBytesBound } = cloneMeasured(value);
      const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
      assert.ok(jsonBytesBound >= bytes, `${JSON.stringify(value)}: ${jsonBytesBound} < ${bytes}`);
    }
    const notebook = { apiVersion: 'v', kind: 'Notebook', metadata: { name: 'n', labels: { a: 'b' } }, spec: { replicas: 1, stopped: false } };
    assert.ok(cloneMeasured(notebook).jsonBytesBound <= 6 * Buffer.byteLength(JSON.stringify(notebook)));
  });

  it('10,000 levels of nesting are copied and measured without recursion', () => {
    let value: unknown = 1;
    for (let i = 0; i < 10_000; i++) value = [value];
    assert.equal(runToEnd(cloneSteps(value)).depth, 10_000);
  });
});

describe('contents compared as their JSON reads back', () => {
  const cases: { name: string; a: unknown; b: unknown }[] = [
    { name: 'members in another order', a: { x: 1, y: { p: [1, 2] } }, b: { y: { p: [1, 2] }, x: 1 } },
    { name: 'a member set to undefined and an absent one', a: { x: 1, y: undefined }, b: { x: 1 } },
    { name: 'null and an absent member', a: { x: null }, b: {} },
    { name: 'undefined and null inside arrays', a: [undefined, 1], b: [null, 1] },
    { name: 'array order', a: [1, 2], b: [2, 1] },
    { name: 'an object and an array', a: { 0: 1 }, b: [1] },
    { name: 'a number and its string', a: { x: 1 }, b: { x: '1' } },
    { name: 'keys named like prototype members', a: ownKeys([['constructor', 'a'], ['__proto__', 'b']]), b: ownKeys([['__proto__', 'b'], ['constructor', 'a']]) },
    { name: 'an own key and an inherited one', a: { toString: 'x' }, b: {} },
    { name: 'nested differences', a: { m: { n: { o: [1, { p: true }] } } }, b: { m: { n: { o: [1, { p: false }] } } } },
  ];
  for (const c of cases) {
    it(`${c.name}: the same answer as comparing JSON round trips`, () => {
      const roundTrip = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;
      const want = equalValues(roundTrip(c.a), roundTrip(c.b));
      assert.equal(sameJson(c.a, c.b), want);
      assert.equal(sameJson(c.b, c.a), want);
    });
  }
});

describe('field sets of large maps', () => {
  it('keys inserted in any order come out sorted and once each, as FieldsV1 writes them', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `k${(i * 7919) % 2_000}`);
    const set = new FieldSet();
    for (const key of [...keys, ...keys.slice(0, 100)]) set.insert([{ field: 'metadata' }, { field: 'labels' }, { field: key }]);
    const labels = (set.toFieldsV1()['f:metadata'] as Record<string, Record<string, unknown>>)['f:labels']!;
    assert.deepEqual(Object.keys(labels), [...new Set(keys)].sort().map((k) => `f:${k}`));
    for (const key of keys) assert.ok(set.has([{ field: 'metadata' }, { field: 'labels' }, { field: key }]));
    assert.ok(!set.has([{ field: 'metadata' }, { field: 'labels' }, { field: 'absent' }]));
  });
});

describe('field ownership of large lists and maps', () => {
  const manager = new FieldManager({
    schema: new SmdSchema(componentSchemas),
    typeName: `${schemaPrefix}Notebook`,
    apiVersion,
    kind: 'Notebook',
    subresource: '',
    resetFields: ['status'],
    logger: pino({ level: 'silent' }),
  });
  // Names whose string order differs from their insertion order, with escapes, non-ASCII and prototype names.
  const names = ['b', 'a', 'B', '_', 'é', 'a<b', 'constructor', '__proto__', 'z"q', '10', '9', ...Array.from({ length: 5_000 }, (_, i) => `E${(i * 7919) % 5_000}`)];
  const withEnv = (env: Array<{ name: string; value: string }>): KubeObject =>
    ({ apiVersion, kind: 'Notebook', metadata: { name: 'nb', namespace: 'ns' }, spec: { template: { spec: { containers: [{ name: 'main', image: 'i', env }] } } } }) as KubeObject;
  const envFields = (object: KubeObject): string[] => {
    const fields = object.metadata.managedFields?.[0]?.fieldsV1 as Record<string, any>;
    return Object.keys(fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"main"}']['f:env']).filter((k) => k !== '.');
  };

  it('a list-map of thousands of items in any order is owned item by item, in FieldsV1 order', async () => {
    const created = await runSteps(manager.updateSteps(manager.emptyObject(), withEnv(names.map((name) => ({ name, value: 'v' }))), 'creator'), async () => {});
    const keys = envFields(created);
    assert.equal(keys.length, names.length);
    const sorted = [...keys].sort((a, b) => comparePathElements(deserializePathElement(a)!, deserializePathElement(b)!));
    assert.deepEqual(keys, sorted);
    assert.deepEqual(manager.update(manager.emptyObject(), withEnv(names.map((name) => ({ name, value: 'v' }))), 'creator').metadata.managedFields?.[0]?.fieldsV1, created.metadata.managedFields?.[0]?.fieldsV1);
  });

  it('managedFields sent in any order are read whole', () => {
    const keys = names.map((name) => `f:${name}`);
    const set = FieldSet.fromFieldsV1({ 'f:metadata': { 'f:labels': Object.fromEntries(keys.map((k) => [k, {}])) } });
    const labels = (set.toFieldsV1()['f:metadata'] as Record<string, Record<string, unknown>>)['f:labels']!;
    assert.deepEqual(Object.keys(labels), [...keys].sort());
  });
});

describe('quick label and annotation checks', () => {
  // The checks as they were before the quick path: every key split and tested, every message collected.
  const field = 'metadata.labels';
  const reference = (labels: Record<string, unknown>): FieldError[] => {
    const errs: FieldError[] = [];
    for (const [key, value] of Object.entries(labels)) {
      for (const m of isQualifiedName(key)) errs.push(fieldErrors.invalid(field, key, m));
      if (typeof value !== 'string') errs.push(fieldErrors.typeInvalid(`${field}[${key}]`, value, 'must be a string'));
      else for (const m of isValidLabelValue(value)) errs.push(fieldErrors.invalid(field, value, m));
    }
    return errs;
  };
  const cases: { name: string; labels: Record<string, unknown>; errors: number }[] = [
    { name: 'valid keys, prefixed or not, and values', labels: { ok: 'v', 'example.com/ok': '', 'a.b_c-d': 'x.y_z-1', ['k'.repeat(63)]: 'v'.repeat(63) }, errors: 0 },
    { name: 'a key with a space', labels: { 'bad key': 'v' }, errors: 1 },
    { name: 'a key of 64 characters', labels: { ['k'.repeat(64)]: 'v' }, errors: 1 },
    // kube's IsQualifiedName gives an empty name part both its messages: non-empty, and the pattern.
    { name: 'an empty key', labels: { '': 'v' }, errors: 2 },
    { name: 'a bad value', labels: { ok: 'bad value' }, errors: 1 },
    { name: 'a value of 64 characters', labels: { ok: 'v'.repeat(64) }, errors: 1 },
    { name: 'a value that is not a string', labels: { ok: 1 }, errors: 1 },
    { name: 'a bad prefix and a bad value', labels: { 'Bad_Prefix/ok': '-v' }, errors: 2 },
    { name: 'keys named like prototype members', labels: ownKeys([['constructor', 'v'], ['__proto__', 'x y']]), errors: 2 },
  ];
  for (const c of cases) {
    it(`${c.name}: the same messages as the full checks`, () => {
      const errs = validateLabels(c.labels, field);
      assert.deepEqual(errs, reference(c.labels));
      assert.equal(errs.length, c.errors);
    });
  }

  it('annotation keys are checked in lower case, valid ones by the quick test', () => {
    const errs = validateAnnotations({ 'Example.COM/Upper': 'x', 'bad key': 'y' }, 'metadata.annotations');
    assert.deepEqual(errs.map((e) => e.value), ['bad key']);
  });
});
