// Resource definitions: the served list is complete, a definition missing something required is refused when the
// list is read (at startup), and the rules a definition leaves out are the shared defaults.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/meta/types.js';
import { defineResource } from '../../src/registry/definition.js';
import { definitions, resources } from '../../src/resources/index.js';
import { servedResources, type ServedDefinition } from '../../src/server/connect.js';
import { widgets } from '../fixtures/widgets.js';

const object = (extra: Partial<KubeObject> = {}): KubeObject => ({ apiVersion: 'x/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'n' }, ...extra });

describe('resource definitions', () => {
  it('the served list gives every resource its strategy, columns and connect handlers', () => {
    assert.deepEqual(resources.strategies.map((s) => s.info.resource), ['notebooks', 'jobs', 'datasets']);
    for (const strategy of resources.strategies) {
      assert.equal(strategy.printerColumns[0]!.name, 'Name');
      assert.ok(Object.hasOwn(strategy.schemas, strategy.schemaName));
    }
    assert.deepEqual(
      [...resources.connect].map(([resource, connect]) => [resource, connect.map((c) => c.name)]),
      [['notebooks', ['proxy']], ['jobs', ['logs']], ['datasets', []]],
    );
    assert.deepEqual(resources.strategies.map((s) => s.info.subresources), [['status'], ['status', 'scale', 'progress'], ['status']]);
  });

  const refused: [string, (d: ServedDefinition) => ServedDefinition, RegExp][] = [
    ['no printer columns', (d) => ({ ...d, printerColumns: [] }), /printer columns must start with Name/],
    ['columns without Name first', (d) => ({ ...d, printerColumns: d.printerColumns.slice(1) }), /printer columns must start with Name/],
    ['a schema not among its components', (d) => ({ ...d, schema: { ...d.schema, name: 'io.example.test.widgets.v1.Gadget' } }), /not among its components/],
    ['a cluster-scoped resource', (d) => ({ ...d, namespaced: false }), /only namespaced resources/],
    ['no kind', (d) => ({ ...d, kind: '' }), /kind is required/],
    ['a selectable field under metadata', (d) => ({ ...d, selectableFields: ['metadata.labels'] }), /selectable field metadata\.labels/],
    ['a connect subresource named status', (d) => ({ ...d, connect: [{ name: 'status', verbs: ['get'], methods: ['GET'], path: false, query: [], kind: 'X', description: '', handler: () => ({ serve: async () => undefined }) }] }), /declared twice/],
  ];
  for (const [what, change, message] of refused) {
    it(`refuses a definition with ${what}`, () => {
      assert.throws(() => defineResource(change(widgets)), message);
    });
  }

  it('refuses a list naming a resource twice, or resources of two group-versions', () => {
    assert.throws(() => servedResources([widgets, widgets]), /widgets is defined twice/);
    assert.throws(() => servedResources([widgets, { ...definitions[0]! }]), /not widgets\.test\.example\.io\/v1/);
    assert.throws(() => servedResources([]), /no resources/);
  });

  it('fills in the shared rules: status dropped on create, kept on update, spec kept on a status write', () => {
    const strategy = defineResource(widgets);
    const created = object({ spec: { color: 'blue' }, status: { phase: 'x' } });
    strategy.prepareForCreate(created);
    assert.deepEqual(created, object({ spec: { color: 'blue', replicas: 1 } }));
    const updated = object({ spec: { color: 'red' }, status: { phase: 'new' } });
    strategy.prepareForUpdate(updated, object({ spec: { color: 'blue' }, status: { phase: 'old' } }));
    assert.deepEqual(updated.status, { phase: 'old' });
    const status = object({ spec: { color: 'red' }, status: { phase: 'new' } });
    strategy.prepareForStatusUpdate(status, object({ spec: { color: 'blue' } }));
    assert.deepEqual(status, object({ spec: { color: 'blue' }, status: { phase: 'new' } }));
    assert.deepEqual(strategy.validate(created), []);
    assert.deepEqual(strategy.warnings(created), []);
    assert.deepEqual(strategy.fieldValues(object({ spec: { color: 'blue' } })), { 'metadata.name': 'w', 'metadata.namespace': 'n', 'spec.color': 'blue' });
    assert.deepEqual(strategy.fieldValues(object()), { 'metadata.name': 'w', 'metadata.namespace': 'n', 'spec.color': '' });
    assert.deepEqual(strategy.validateName('Not_A_Name').length > 0, true);
  });
});
