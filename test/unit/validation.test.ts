// ObjectMeta and schema validation wording and edge cases, without processes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldErrorString } from '../../src/api/meta/field-errors.js';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isQualifiedName, validateObjectMeta, validateObjectMetaUpdate } from '../../src/api/meta/object-meta-validation.js';
import { SchemaValidator } from '../../src/api/schema-validator.js';
import { componentSchemas, schemaPrefix } from '../../src/api/v1alpha1/schemas.js';
import { apiErrors } from '../../src/api/meta/errors.js';
import { decodeContinue, encodeContinue } from '../../src/registry/continue-token.js';
import { ApiError } from '../../src/api/meta/errors.js';

describe('names', () => {
  const cases: { value: string; subdomain: boolean; label: boolean; dns1035: boolean }[] = [
    { value: 'nb', subdomain: true, label: true, dns1035: true },
    { value: 'nb-1', subdomain: true, label: true, dns1035: true },
    { value: '1nb', subdomain: true, label: true, dns1035: false },
    { value: 'a.b', subdomain: true, label: false, dns1035: false },
    { value: 'A', subdomain: false, label: false, dns1035: false },
    { value: '-a', subdomain: false, label: false, dns1035: false },
    { value: 'a'.repeat(63), subdomain: true, label: true, dns1035: true },
    { value: 'a'.repeat(64), subdomain: true, label: false, dns1035: false },
    { value: 'a'.repeat(254), subdomain: false, label: false, dns1035: false },
  ];
  for (const tc of cases) {
    it(`${tc.value.length > 20 ? `${tc.value.length} characters` : JSON.stringify(tc.value)}: subdomain ${tc.subdomain}, label ${tc.label}, DNS-1035 ${tc.dns1035}`, () => {
      assert.equal(isDns1123Subdomain(tc.value).length === 0, tc.subdomain);
      assert.equal(isDns1123Label(tc.value).length === 0, tc.label);
      assert.equal(isDns1035Label(tc.value).length === 0, tc.dns1035);
    });
  }
  it('qualified names take an optional DNS subdomain prefix', () => {
    assert.deepEqual(isQualifiedName('example.io/name'), []);
    assert.deepEqual(isQualifiedName('Name_1.x'), []);
    assert.notDeepEqual(isQualifiedName('a/b/c'), []);
    assert.notDeepEqual(isQualifiedName('/x'), []);
    assert.notDeepEqual(isQualifiedName(`${'a'.repeat(64)}`), []);
  });
});

describe('ObjectMeta', () => {
  it('reports every problem at once, worded as kube-apiserver words it', () => {
    const errors = validateObjectMeta(
      { name: 'Bad', namespace: 'ns', labels: { ok: 'fine', 'bad/x/y': 'v' }, finalizers: ['example.io/ok', 'bad finalizer'] },
      isDns1035Label,
    );
    assert.deepEqual(errors.map((e) => e.field), ['metadata.name', 'metadata.labels', 'metadata.finalizers[1]']);
    assert.match(fieldErrorString(errors[0]!), /^metadata\.name: Invalid value: "Bad": a DNS-1035 label must consist of/);
  });
  it('annotations may total 256 KiB and no more', () => {
    const at = { a: 'x'.repeat(256 * 1024 - 1) };
    assert.deepEqual(validateObjectMeta({ name: 'a', namespace: 'n', annotations: at }, isDns1035Label), []);
    const over = { a: 'x'.repeat(256 * 1024) };
    assert.equal(
      fieldErrorString(validateObjectMeta({ name: 'a', namespace: 'n', annotations: over }, isDns1035Label)[0]!),
      'metadata.annotations: Too long: may not be more than 262144 bytes',
    );
  });
  it('an update may not change name, namespace, uid or creationTimestamp', () => {
    const old = { name: 'a', namespace: 'n', uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' };
    const errors = validateObjectMetaUpdate({ ...old, uid: 'u2', creationTimestamp: '2026-01-02T00:00:00Z' }, old, isDns1035Label);
    assert.deepEqual(errors.map(fieldErrorString), [
      'metadata.uid: Invalid value: "u2": field is immutable',
      'metadata.creationTimestamp: Invalid value: 2026-01-02 00:00:00 +0000 UTC: field is immutable',
    ]);
  });
});

describe('schemas', () => {
  const validator = new SchemaValidator(componentSchemas);
  it('validate the pod template against Kubernetes\' own PodSpec', () => {
    const errors = validator.validate(`${schemaPrefix}Notebook`, {
      spec: { template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }], restartPolicy: 3 } } },
    });
    assert.deepEqual(errors.map(fieldErrorString), [
      'spec.template.spec.containers[0].ports[0].containerPort: Invalid value: "http": must be of type integer',
      'spec.template.spec.restartPolicy: Invalid value: 3: must be of type string',
    ]);
  });
  it('unknown fields are found at every depth, open maps are left alone', () => {
    const object = {
      metadata: { labels: { anything: 'goes' }, bogus: 1 },
      spec: { template: { metadata: { annotations: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { 'nvidia.com/gpu': 1 } }, nope: 1 }] } }, extra: {} },
    };
    // Sorted as kube-apiserver's pruning sorts them (Go's string order), not in the order they were met.
    assert.deepEqual(validator.pruneUnknownFields(`${schemaPrefix}Notebook`, object), [
      'metadata.bogus',
      'spec.extra',
      'spec.template.spec.containers[0].nope',
    ]);
    assert.deepEqual(object.metadata, { labels: { anything: 'goes' } });
    assert.deepEqual(object.spec.template.spec.containers[0], { name: 'c', image: 'i', resources: { limits: { 'nvidia.com/gpu': 1 } } });
  });
  it('unknown fields are named by their path through objects, list items and map values, from any depth', () => {
    const item = { type: 'object', properties: { name: { type: 'string' }, '': { type: 'object', properties: { x: { type: 'string' } } } } };
    const schemas = {
      Thing: {
        type: 'object',
        properties: {
          '': { type: 'object', properties: { a: { type: 'string' } } },
          list: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
          byName: { type: 'object', additionalProperties: { $ref: '#/components/schemas/Item' } },
          nested: { allOf: [{ $ref: '#/components/schemas/Thing' }] },
        },
      },
      Item: item,
    };
    const thing = (): Record<string, unknown> => ({
      '': { a: 'kept', b: 1 },
      list: [{ name: 'n', extra: 1 }, { '': { x: 'y', z: 1 } }],
      byName: { 'k.1': { name: 'n', extra: 1 }, k2: { '': { z: 1 } } },
      gone: 1,
    });
    const object = { ...thing(), nested: thing() };
    assert.deepEqual(new SchemaValidator(schemas).pruneUnknownFields('Thing', object), [
      'b',
      'byName[k.1].extra',
      'byName[k2]..z',
      'gone',
      'list[0].extra',
      'list[1]..z',
      'nested..b',
      'nested.byName[k.1].extra',
      'nested.byName[k2]..z',
      'nested.gone',
      'nested.list[0].extra',
      'nested.list[1]..z',
    ]);
    assert.deepEqual(object.nested, { '': { a: 'kept' }, list: [{ name: 'n' }, { '': { x: 'y' } }], byName: { 'k.1': { name: 'n' }, k2: { '': {} } } });
  });
  it('unknown fields are reported in UTF-8 byte order, as Go sorts strings', () => {
    const keys = ['😀', '\uffff', 'é', 'b', 'B', '\ue000'];
    const object = { spec: Object.fromEntries(keys.map((k) => [k, 1])) };
    assert.deepEqual(
      validator.pruneUnknownFields(`${schemaPrefix}Notebook`, object),
      ['B', 'b', 'é', '\ue000', '\uffff', '😀'].map((k) => `spec.${k}`),
    );
  });
  it('validation never rewrites the body it checks', () => {
    const body = { spec: { source: { uri: 's3://x' }, size: '1Gi' } };
    const before = JSON.stringify(body);
    validator.validate(`${schemaPrefix}Dataset`, body);
    assert.equal(JSON.stringify(body), before);
  });
});

describe('errors and tokens', () => {
  const ref = { group: 'ai.example.io', resource: 'notebooks', kind: 'Notebook' };
  it('Status shapes match kube-apiserver', () => {
    assert.deepEqual(apiErrors.notFound(ref, 'x').status, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'notebooks.ai.example.io "x" not found',
      reason: 'NotFound',
      details: { name: 'x', group: 'ai.example.io', kind: 'notebooks' },
      code: 404,
    });
    const invalid = apiErrors.invalid(ref, 'x', [{ type: 'FieldValueRequired', field: 'spec.template' }]);
    assert.equal(invalid.message, 'Notebook.ai.example.io "x" is invalid: spec.template: Required value');
    assert.deepEqual(invalid.status.details?.causes, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template' }]);
  });
  it('a continue token round-trips and a forged one is 400', () => {
    const token = encodeContinue(42, '/registry/x/ns/b\0', '/registry/x/');
    assert.deepEqual(decodeContinue(token, '/registry/x/'), { revision: 42, startKey: '/registry/x/ns/b\0' });
    assert.throws(() => decodeContinue('not-a-token', '/registry/x/'), (e: unknown) => e instanceof ApiError && e.code === 400);
    const traversal = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, start: '../secrets' })).toString('base64url');
    assert.throws(() => decodeContinue(traversal, '/registry/x/'), (e: unknown) => e instanceof ApiError && e.code === 400);
  });
});
