// Field ownership's pure parts, for the cases the golden comparison with kube-apiserver cannot reach in one run:
// FieldsV1 read and written back byte for byte, the cap on update managers (which depends on timestamps), the
// "no managedFields means no tracking" rule, and the kubectl last-applied migration on a conflict.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { KubeObject } from '../../src/api/meta/types.js';
import { apiVersion, componentSchemas, schemaPrefix } from '../../src/api/v1alpha1/schemas.js';
import { FieldManager, lastAppliedAnnotation } from '../../src/fieldmanager/field-manager.js';
import { FieldSet } from '../../src/fieldmanager/field-set.js';
import { SmdSchema } from '../../src/fieldmanager/schema.js';
import { ApiError } from '../../src/api/meta/errors.js';

const schema = new SmdSchema(componentSchemas);
const manager = new FieldManager({
  schema,
  typeName: `${schemaPrefix}Notebook`,
  apiVersion,
  kind: 'Notebook',
  subresource: '',
  resetFields: ['status'],
  logger: pino({ level: 'silent' }),
});

const notebook = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion, kind: 'Notebook', metadata: { name: 'nb', namespace: 'ns', ...metadata }, spec }) as KubeObject;
const template = (image: string): Record<string, unknown> => ({ template: { spec: { containers: [{ name: 'main', image }] } } });

describe('FieldsV1', () => {
  it('reads and writes kube-apiserver\'s encoding byte for byte: fields, keys, set values and "."', () => {
    const text =
      '{"f:metadata":{"f:finalizers":{".":{},"v:\\"a\\"":{},"v:\\"b\\\\u003cc\\"":{}},"f:labels":{".":{},"f:app":{}}},' +
      '"f:spec":{".":{},"f:template":{"f:spec":{"f:containers":{"k:{\\"name\\":\\"main\\"}":{".":{},"f:image":{},"f:name":{},' +
      '"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}';
    assert.equal(JSON.stringify(FieldSet.fromFieldsV1(JSON.parse(text)).toFieldsV1()), text);
  });
});

describe('update managers', () => {
  it('beyond ten, the oldest are merged into ancient-changes', () => {
    let object = manager.update(manager.emptyObject(), notebook(template('a')), 'creator');
    for (let i = 1; i <= 11; i++) {
      const labels = { ...(object.metadata.labels ?? {}), [`l${String(i).padStart(2, '0')}`]: 'x' };
      object = manager.update({ ...object, metadata: { ...object.metadata, uid: 'u' } }, { ...object, metadata: { ...object.metadata, uid: 'u', labels } }, `m${String(i).padStart(2, '0')}`);
    }
    const managers = object.metadata.managedFields!.map((e) => e.manager).sort();
    assert.equal(managers.length, 10);
    assert.deepEqual(managers, ['ancient-changes', 'm04', 'm05', 'm06', 'm07', 'm08', 'm09', 'm10', 'm11', 'm03'].sort());
    const ancient = object.metadata.managedFields!.find((e) => e.manager === 'ancient-changes')!;
    assert.deepEqual(Object.keys((ancient.fieldsV1 as any)['f:metadata']?.['f:labels'] ?? {}).sort(), ['.', 'f:l01', 'f:l02']);
    assert.ok((ancient.fieldsV1 as any)['f:spec'], 'the creator\'s fields are in ancient-changes');
  });

  it('an existing object without managedFields is not tracked until someone applies', () => {
    const live = notebook(template('a'), { uid: 'u' });
    const updated = manager.update(live, notebook(template('b'), { uid: 'u' }), 'editor');
    assert.equal(updated.metadata.managedFields, undefined);
    const applied = manager.apply(updated, notebook({ stopped: true }), 'applier', false);
    assert.deepEqual(applied.metadata.managedFields!.map((e) => [e.manager, e.operation]), [
      ['applier', 'Apply'],
      ['before-first-apply', 'Update'],
    ]);
  });
});

describe('kubectl moving from client-side to server-side apply', () => {
  it('fields unchanged since the last client-side apply do not conflict; changed ones do', () => {
    const config = notebook(template('a'));
    const created = manager.update(manager.emptyObject(), { ...config, metadata: { ...config.metadata, annotations: { [lastAppliedAnnotation]: JSON.stringify(config) } } }, 'kubectl-client-side-apply');
    const live = { ...created, metadata: { ...created.metadata, uid: 'u' } };
    const applied = manager.apply(live, config, 'kubectl', false);
    assert.ok(applied.metadata.managedFields!.some((e) => e.manager === 'kubectl' && e.operation === 'Apply'));
    assert.equal(JSON.parse(applied.metadata.annotations![lastAppliedAnnotation]!).spec.template.spec.containers[0].image, 'a');
    // Someone else changed the image since: that is a real conflict, also for kubectl.
    const edited = manager.update(live, notebook(template('z'), { uid: 'u', annotations: live.metadata.annotations, managedFields: live.metadata.managedFields }), 'editor');
    assert.throws(
      () => manager.apply(edited, notebook(template('b')), 'kubectl', false),
      (error: unknown) => error instanceof ApiError && error.code === 409 && /conflict with "editor" using ai\.example\.io\/v1alpha1/.test(error.message),
    );
  });
});
