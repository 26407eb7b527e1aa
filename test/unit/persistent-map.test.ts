// The watch cache's snapshots (src/storage/persistent-map.ts and its page()): every version answers as a sorted copy
// of its keys would, forever, while a write copies only its path; pages follow kube-apiserver's cacher.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PersistentMap } from '../../src/storage/persistent-map.js';
import { CachedObject, page, type Selectable } from '../../src/storage/watch-cache.js';

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function entriesOf<V>(map: PersistentMap<V>, from = ''): [string, V][] {
  return [...map.entriesFrom(from)];
}

function sortedEntries<V>(model: Map<string, V>, from = ''): [string, V][] {
  return [...model.entries()].filter(([key]) => key >= from).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('persistent map', () => {
  it('every version answers get, size, rank and ordered walks as a sorted copy of its keys would, after later writes too', () => {
    const next = random(7);
    let map = PersistentMap.empty<number>();
    const model = new Map<string, number>();
    const versions: { map: PersistentMap<number>; model: Map<string, number> }[] = [];
    for (let step = 0; step < 3_000; step++) {
      const key = `k${Math.floor(next() * 400)}`;
      if (next() < 0.3) {
        map = map.delete(key);
        model.delete(key);
      } else {
        map = map.set(key, step);
        model.set(key, step);
      }
      if (step % 100 === 0) versions.push({ map, model: new Map(model) });
    }
    versions.push({ map, model });
    for (const version of versions) {
      assert.equal(version.map.size, version.model.size);
      assert.deepEqual(entriesOf(version.map), sortedEntries(version.model));
      for (const from of ['', 'k1', 'k25', 'k399', 'k5', 'z']) {
        assert.deepEqual(entriesOf(version.map, from), sortedEntries(version.model, from), `walk from ${from}`);
        assert.equal(version.map.rank(from), sortedEntries(version.model).filter(([key]) => key < from).length, `rank of ${from}`);
      }
      for (const [key, value] of version.model) assert.equal(version.map.get(key), value);
      assert.equal(version.map.get('absent'), undefined);
    }
  });

  it('a write to a map of 10,000 keys copies a path of nodes, not the map', () => {
    let map = PersistentMap.empty<number>();
    for (let i = 0; i < 10_000; i++) map = map.set(`key-${String(i).padStart(5, '0')}`, i);
    const cases: { name: string; write(m: PersistentMap<number>): PersistentMap<number> }[] = [
      { name: 'an update', write: (m) => m.set('key-05000', -1) },
      { name: 'an insert', write: (m) => m.set('key-05000a', -1) },
      { name: 'a delete', write: (m) => m.delete('key-05000') },
    ];
    for (const tc of cases) {
      const written = tc.write(map);
      const copied = written.nodesNotIn(map);
      // A balanced tree of 10,000 is ~14 deep; a treap's expected depth is below 3 log2(n).
      assert.ok(copied >= 1 && copied <= 60, `${tc.name} copied ${copied} nodes`);
      assert.equal(map.size, 10_000, `${tc.name} left the old version as it was`);
      assert.equal(map.get('key-05000'), 5000);
    }
    assert.equal(map.delete('absent'), map);
  });

  it('keys a client chooses in order keep the tree shallow', () => {
    let map = PersistentMap.empty<number>();
    for (let i = 0; i < 20_000; i++) map = map.set(`nb-${String(i).padStart(6, '0')}`, i);
    assert.equal(map.nodesNotIn(PersistentMap.empty()), 20_000);
    // Keys in ascending order are what a tree balanced by the keys alone degrades on: a path of 20,000.
    const appended = map.set('nb-999999', 0);
    assert.ok(appended.nodesNotIn(map) <= 80, `appending copied ${appended.nodesNotIn(map)} nodes`);
  });
});

describe('snapshot pages', () => {
  const cached = (key: string, team: string): CachedObject => {
    const name = key.split('/').pop()!;
    const labels = { team };
    return new CachedObject(key, JSON.stringify({ apiVersion: 'v1', kind: 'Thing', metadata: { name, labels } }), 1, labels, { 'metadata.name': name });
  };
  let objects = PersistentMap.empty<CachedObject>();
  const teams = ['a', 'b', 'a', 'a', 'b'];
  for (const [i, team] of teams.entries()) objects = objects.set(`/r/ns/x${i}`, cached(`/r/ns/x${i}`, team));
  objects = objects.set('/r/other/y', cached('/r/other/y', 'a')).set('/r/nt/z', cached('/r/nt/z', 'a'));
  const teamA = (object: Selectable): boolean => object.labels?.team === 'a';
  const names = (items: CachedObject[]): string[] => items.map((item) => item.object.metadata.name!);

  const cases: { name: string; start?: string; limit: number; filter?: boolean; want: string[]; nextKey?: string; remaining: number }[] = [
    { name: 'everything under the prefix, and only it', limit: 0, want: ['x0', 'x1', 'x2', 'x3', 'x4'], remaining: 0 },
    { name: 'a limit stops with the key after the last item and counts the rest', limit: 2, want: ['x0', 'x1'], nextKey: '/r/ns/x1\0', remaining: 3 },
    { name: 'a page ending on the last key has no next', limit: 5, want: ['x0', 'x1', 'x2', 'x3', 'x4'], remaining: 0 },
    { name: 'a continued page starts at its key', start: '/r/ns/x1\0', limit: 2, want: ['x2', 'x3'], nextKey: '/r/ns/x3\0', remaining: 1 },
    { name: 'a filter skips what it rejects; the next key follows the last match', limit: 2, filter: true, want: ['x0', 'x2'], nextKey: '/r/ns/x2\0', remaining: 2 },
    // kube's cacher: more keys under the prefix means a continue token, though none of them match.
    { name: 'a filled filtered page continues while keys remain, matching or not', start: '/r/ns/x2\0', limit: 1, filter: true, want: ['x3'], nextKey: '/r/ns/x3\0', remaining: 1 },
    { name: 'a filtered page that runs out of keys has no next', start: '/r/ns/x3\0', limit: 1, filter: true, want: [], remaining: 0 },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const got = page(objects, '/r/ns/', tc.start ?? '/r/ns/', tc.limit, tc.filter ? teamA : undefined);
      assert.deepEqual(names(got.items), tc.want);
      assert.equal(got.nextKey, tc.nextKey);
      assert.equal(got.remaining, tc.remaining);
    });
  }
});
