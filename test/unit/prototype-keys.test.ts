// Keys named like Object.prototype members ("constructor", "toString", "__proto__", …) in the pure parts that hold
// user keys: field ownership (apply, update, comparison, pruning, FieldsV1), value equality, label and field
// selectors, unknown-field pruning, ObjectMeta validation and the controllers' "already applied" check. Every
// case runs for every name Object.prototype has, so a name added to it by a newer runtime is covered too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { validateAnnotations, validateLabels } from '../../src/api/meta/object-meta-validation.js';
import type { KubeObject } from '../../src/api/meta/types.js';
import { SchemaValidator } from '../../src/api/schema-validator.js';
import { apiVersion, componentSchemas, schemaPrefix } from '../../src/api/v1alpha1/schemas.js';
import { covers } from '../../src/controllers/runtime/kube-children.js';
import { FieldManager } from '../../src/fieldmanager/field-manager.js';
import { FieldSet } from '../../src/fieldmanager/field-set.js';
import { SmdSchema } from '../../src/fieldmanager/schema.js';
import { Typed } from '../../src/fieldmanager/typed.js';
import { equalValues, type Json, type JsonMap } from '../../src/fieldmanager/value.js';
import { parseFieldSelector } from '../../src/registry/field-selector.js';
import { parseLabelSelector, SelectorParseError } from '../../src/registry/label-selector.js';

const names = Object.getOwnPropertyNames(Object.prototype).sort();
/** kube's label and annotation keys are qualified names: an alphanumeric first character, so not "__proto__". */
const labelNames = names.filter((n) => /^[A-Za-z0-9]/.test(n));
const underscored = names.filter((n) => !labelNames.includes(n));

const schema = new SmdSchema(componentSchemas);
const typeName = `${schemaPrefix}Notebook`;
const manager = new FieldManager({
  schema,
  typeName,
  apiVersion,
  kind: 'Notebook',
  subresource: '',
  resetFields: ['status'],
  logger: pino({ level: 'silent' }),
});

/** A map holding `keys` as own properties, "__proto__" included. */
const mapOf = (keys: string[], value = (i: number): string => `v${i}`): Record<string, string> =>
  Object.fromEntries(keys.map((k, i) => [k, value(i)]));

/** A notebook with `labels`, and `podLabels` on its pod template and, unless given apart, as its node selector. */
const notebook = (labels: Record<string, string>, podLabels: Record<string, string> = {}, uid?: string, nodeSelector = podLabels): KubeObject =>
  ({
    apiVersion,
    kind: 'Notebook',
    metadata: { name: 'nb', namespace: 'ns', labels, ...(uid ? { uid } : {}) },
    spec: { template: { metadata: { labels: podLabels }, spec: { containers: [{ name: 'main', image: 'i' }], nodeSelector } } },
  }) as unknown as KubeObject;

const entries = (map: unknown): [string, unknown][] =>
  map !== null && typeof map === 'object' ? Object.entries(map).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
const nodeSelectorOf = (object: KubeObject): unknown => (object.spec?.template as { spec: { nodeSelector?: unknown } }).spec.nodeSelector;
const templateLabelsOf = (object: KubeObject): unknown => (object.spec?.template as { metadata: { labels?: unknown } }).metadata.labels;
const owned = (object: KubeObject, who: string): FieldSet => {
  const entry = object.metadata.managedFields?.find((e) => e.manager === who);
  return entry ? FieldSet.fromFieldsV1(entry.fieldsV1) : new FieldSet();
};
const labelPath = (key: string) => [{ field: 'metadata' }, { field: 'labels' }, { field: key }];
const templateLabelPath = (key: string) => [{ field: 'spec' }, { field: 'template' }, { field: 'metadata' }, { field: 'labels' }, { field: key }];

describe('server-side apply with keys named like Object.prototype members', () => {
  it('applies every name into labels, a granular nested map and an atomic one; each map keeps its own prototype', () => {
    const live = manager.update(manager.emptyObject(), notebook({ team: 'a' }, { zone: 'z' }), 'creator');
    const applied = manager.apply(live, notebook(mapOf(labelNames), mapOf(names)), 'applier', true);
    assert.deepEqual(entries(applied.metadata.labels), entries({ team: 'a', ...mapOf(labelNames) }));
    assert.deepEqual(entries(templateLabelsOf(applied)), entries({ zone: 'z', ...mapOf(names) }));
    // nodeSelector is an atomic map: the applied value replaces it whole.
    assert.deepEqual(entries(nodeSelectorOf(applied)), entries(mapOf(names)));
    for (const map of [applied.metadata.labels, templateLabelsOf(applied), nodeSelectorOf(applied)]) {
      assert.equal(Object.getPrototypeOf(map), Object.prototype, '"__proto__" was stored as a key, not as the prototype');
    }
    const set = owned(applied, 'applier');
    for (const key of labelNames) assert.ok(set.has(labelPath(key)), `applier owns metadata.labels.${key}`);
    for (const key of names) assert.ok(set.has(templateLabelPath(key)), `applier owns spec.template.metadata.labels.${key}`);
  });

  for (const key of names) {
    it(`applying again without "${key}" removes just it, and its ownership`, () => {
      const first = manager.apply(manager.emptyObject(), notebook(mapOf(labelNames), mapOf(names)), 'applier', false);
      const rest = names.filter((n) => n !== key);
      const second = manager.apply(first, notebook(mapOf(labelNames.filter((n) => n !== key)), mapOf(rest)), 'applier', false);
      assert.deepEqual(entries(second.metadata.labels), entries(mapOf(labelNames.filter((n) => n !== key))));
      assert.deepEqual(entries(templateLabelsOf(second)), entries(mapOf(rest)));
      assert.deepEqual(entries(nodeSelectorOf(second)), entries(mapOf(rest)));
      assert.equal(owned(second, 'applier').has(templateLabelPath(key)), false);
    });
  }

  it('a label present on the live object conflicts with another applier, named by its key', () => {
    const live = manager.apply(manager.emptyObject(), notebook(mapOf(labelNames)), 'first', false);
    assert.throws(
      () => manager.apply(live, notebook(mapOf(labelNames, () => 'changed')), 'second', false),
      (error: Error) => labelNames.every((n) => error.message.includes(`.metadata.labels.${n}`)),
    );
  });
});

describe('update ownership with keys named like Object.prototype members', () => {
  for (const key of names) {
    it(`"${key}" added by an update is owned by its writer; removed, it is owned by nobody`, () => {
      const created = { ...manager.update(manager.emptyObject(), notebook({ team: 'a' }, { zone: 'z' }), 'creator') };
      const live = { ...created, metadata: { ...created.metadata, uid: 'u' } };
      const labels = labelNames.includes(key) ? { team: 'a', ...mapOf([key]) } : { team: 'a' };
      const added = manager.update(live, notebook(labels, { zone: 'z', ...mapOf([key]) }, 'u'), 'editor');
      const set = owned(added, 'editor');
      assert.equal(set.has(templateLabelPath(key)), true);
      assert.equal(set.has(labelPath(key)), labelNames.includes(key));
      assert.equal(owned(added, 'creator').has(templateLabelPath(key)), false);
      const removed = manager.update({ ...added, metadata: { ...added.metadata, managedFields: added.metadata.managedFields } }, notebook({ team: 'a' }, { zone: 'z' }, 'u'), 'editor');
      for (const who of ['creator', 'editor']) {
        assert.equal(owned(removed, who).has(templateLabelPath(key)), false);
        assert.equal(owned(removed, who).has(labelPath(key)), false);
      }
    });
  }
});

describe('comparison and removal of fields named like Object.prototype members', () => {
  const typed = new Typed(schema);
  const root = { named: typeName };
  for (const key of names) {
    it(`"${key}" present on one side only is added or removed, never modified or missed`, () => {
      const without = notebook({}, { zone: 'z' }) as unknown as Json;
      const withKey = notebook({}, { zone: 'z', ...mapOf([key]) }, undefined, { zone: 'z' }) as unknown as Json;
      const up = typed.compare(without, withKey, root);
      assert.equal(up.added.has(templateLabelPath(key)), true);
      assert.equal(up.modified.empty(), true);
      const down = typed.compare(withKey, without, root);
      assert.equal(down.removed.has(templateLabelPath(key)), true);
      assert.equal(down.modified.empty(), true);
      const stripped = typed.removeItems(withKey, FieldSet.of(templateLabelPath(key)), root) as unknown as KubeObject;
      assert.deepEqual(entries(templateLabelsOf(stripped)), [['zone', 'z']]);
      assert.deepEqual(entries(templateLabelsOf(typed.removeItems(withKey, FieldSet.of(templateLabelPath('zone')), root) as unknown as KubeObject)), entries(mapOf([key])));
    });
  }

  it('values are equal only with the same own keys', () => {
    for (const key of names) {
      const one: JsonMap = mapOf([key], () => 'x');
      assert.equal(equalValues(one, {}), false, `{${key}} vs {}`);
      assert.equal(equalValues({ other: 'x' }, mapOf([key], () => 'x')), false);
      assert.equal(equalValues(one, mapOf([key], () => 'x')), true);
      assert.equal(equalValues(one, mapOf([key], () => 'y')), false);
    }
  });

  it('FieldsV1 with every name reads and writes back byte for byte', () => {
    const inner = names.map((n) => `${JSON.stringify(`f:${n}`)}:{}`).sort().join(',');
    const text = `{"f:metadata":{"f:labels":{".":{},${inner}}}}`;
    const set = FieldSet.fromFieldsV1(JSON.parse(text));
    for (const key of names) assert.ok(set.has(labelPath(key)), key);
    assert.equal(JSON.stringify(set.toFieldsV1()), text);
  });
});

describe('label selectors over keys named like Object.prototype members', () => {
  for (const key of labelNames) {
    it(`"${key}" matches only a label the object has`, () => {
      const cases: { selector: string; labels: Record<string, string>; want: boolean }[] = [
        { selector: `${key}=yes`, labels: mapOf([key], () => 'yes'), want: true },
        { selector: `${key}=yes`, labels: {}, want: false },
        { selector: key, labels: mapOf([key], () => 'yes'), want: true },
        { selector: key, labels: { other: 'yes' }, want: false },
        { selector: `!${key}`, labels: {}, want: true },
        { selector: `!${key}`, labels: mapOf([key], () => ''), want: false },
        { selector: `${key}!=yes`, labels: {}, want: true },
        { selector: `${key} in (yes)`, labels: mapOf([key], () => 'yes'), want: true },
        { selector: `${key} notin (yes)`, labels: {}, want: true },
      ];
      for (const { selector, labels, want } of cases) {
        assert.equal(parseLabelSelector(selector).matches(labels), want, `${selector} on ${JSON.stringify(labels)}`);
        const bare = Object.assign(Object.create(null) as Record<string, string>, labels);
        assert.equal(parseLabelSelector(selector).matches(bare), want, `${selector} on a prototype-free map`);
      }
    });
  }

  it('names that are not qualified names are refused as kube refuses them', () => {
    for (const key of underscored) assert.throws(() => parseLabelSelector(`${key}=x`), SelectorParseError, key);
  });

  it('a field selector on a field named like a prototype member is an unknown field, not a match', () => {
    for (const key of names) {
      assert.throws(() => parseFieldSelector(`${key}=x`, ['metadata.name']), /field label not supported: /);
      assert.equal(parseFieldSelector('metadata.name=x', ['metadata.name']).matches(mapOf([key], () => 'x')), false);
    }
  });
});

describe('request decoding and ObjectMeta validation', () => {
  const validator = new SchemaValidator(componentSchemas);

  it('a spec field named like a prototype member is unknown, reported and dropped; map keys of that name stay', () => {
    const object = notebook(mapOf(labelNames), mapOf(names)) as unknown as Record<string, Record<string, unknown>>;
    for (const key of names) Object.defineProperty(object.spec!, key, { value: 'x', enumerable: true, writable: true, configurable: true });
    const unknown = validator.pruneUnknownFields(typeName, object);
    assert.deepEqual(unknown.sort(), names.map((n) => `spec.${n}`).sort());
    for (const key of names) assert.equal(Object.hasOwn(object.spec!, key), false, `spec.${key} dropped`);
    assert.deepEqual(entries((object.metadata as KubeObject['metadata']).labels), entries(mapOf(labelNames)));
    assert.deepEqual(entries(nodeSelectorOf(object as unknown as KubeObject)), entries(mapOf(names)));
    assert.deepEqual(validator.validate(typeName, object), []);
  });

  it('labels and annotations: qualified names are valid; the others are refused by name, "__proto__" included', () => {
    assert.deepEqual(validateLabels(mapOf(labelNames), 'metadata.labels'), []);
    assert.deepEqual(validateAnnotations(mapOf(labelNames), 'metadata.annotations'), []);
    for (const key of underscored) {
      for (const errors of [validateLabels(mapOf([key]), 'metadata.labels'), validateAnnotations(mapOf([key]), 'metadata.annotations')]) {
        assert.ok(errors.length > 0 && errors.every((e) => e.value === key), `${key}: ${JSON.stringify(errors)}`);
      }
    }
  });
});

describe("controllers' already-applied check", () => {
  it('a wanted key named like a prototype member is covered only when the live object has it', () => {
    for (const key of names) {
      const wanted = { metadata: { labels: mapOf([key], () => String(({} as Record<string, unknown>)[key] ?? 'x')) } };
      assert.equal(covers({ metadata: { labels: {} } }, wanted), false, key);
      assert.equal(covers({ metadata: { labels: mapOf([key], () => wanted.metadata.labels[key]!) } }, wanted), true, key);
    }
  });
});
