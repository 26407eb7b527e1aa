// A write answers with the object it just encoded (src/registry/codec.ts encodeWrite) instead of decoding the
// stored bytes again: the answer must be, byte for byte, what decoding those bytes at the write's revision gives,
// which is what a GET returns afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchNotebook } from '../../bench/objects.js';
import type { KubeObject } from '../../src/api/meta/types.js';
import { decodeObject, encode, encodeWrite, maxStoredObjectBytes } from '../../src/registry/codec.js';

function withProtoKey(): KubeObject {
  const labels = JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, string>;
  return { apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name: 'p', labels }, spec: {} } as KubeObject;
}

const cases: [string, () => KubeObject][] = [
  ['the benchmark notebook', () => benchNotebook('nb-000001', 1)],
  ['metadata first and last among the members', () => ({ metadata: { name: 'a' }, spec: { x: 1 }, kind: 'Notebook', apiVersion: 'v' }) as KubeObject],
  ['metadata the only member', () => ({ metadata: { name: 'a' } }) as KubeObject],
  ['metadata last', () => ({ apiVersion: 'v', kind: 'Notebook', spec: {}, metadata: { name: 'a' } }) as KubeObject],
  ['metadata empty but for a resourceVersion', () => ({ apiVersion: 'v', metadata: { resourceVersion: '' } }) as KubeObject],
  ['a resourceVersion in the middle of metadata', () => ({ apiVersion: 'v', metadata: { name: 'a', resourceVersion: '7', uid: 'u' } }) as KubeObject],
  [
    'undefined members, which are not stored',
    () => ({ apiVersion: 'v', kind: undefined, metadata: { name: 'a', generateName: undefined }, spec: { a: undefined, b: [undefined, 1] } }) as unknown as KubeObject,
  ],
  ['array-index keys, which objects order first', () => ({ apiVersion: 'v', metadata: { name: 'a', labels: { b: '1', '2': 'x', '1': 'y' } }, spec: { '10': 1, a: 2, '3': 3 } }) as unknown as KubeObject],
  ['"__proto__" as an own key', withProtoKey],
  ['text to escape and beyond ASCII', () => ({ apiVersion: 'v', metadata: { name: 'a', annotations: { 'a"\\\n': '\u2028ü😀\u0000</script>' } }, spec: { n: 1e21, m: -0, f: 0.1 } }) as unknown as KubeObject],
];

describe('a write answers with what it encoded', () => {
  for (const [title, make] of cases) {
    it(`${title}: the same bytes and object as decoding the stored value`, () => {
      const encoded = encodeWrite(make());
      assert.deepEqual(encoded.value, encode(make()));
      for (const revision of [1, 42, 9_007_199_254_740_991]) {
        const read = encoded.readAt(revision);
        const decoded = decodeObject(encoded.value, revision);
        assert.equal(read.json, JSON.stringify(decoded));
        assert.deepEqual(JSON.parse(read.json), decoded);
        assert.equal(read.object.metadata.resourceVersion, String(revision));
        assert.equal(JSON.stringify(read.object), read.json);
      }
    });
  }

  it('stores what JSON.stringify writes without metadata.resourceVersion', () => {
    const object = benchNotebook('nb-000002', 2);
    object.metadata.resourceVersion = '12';
    const { resourceVersion: _dropped, ...metadata } = object.metadata;
    assert.equal(encodeWrite(object).value.toString(), JSON.stringify({ ...object, metadata }));
  });

  it('refuses an object past the store limit with 413', () => {
    const object = benchNotebook('nb-000003', 3);
    object.metadata.annotations = { big: 'x'.repeat(maxStoredObjectBytes) };
    assert.throws(() => encodeWrite(object), { code: 413, reason: 'RequestEntityTooLarge' });
  });
});
