// The JSON patch, merge patch, JSON body and YAML apply readers. Expected results are what kube-apiserver's own
// libraries (gopkg.in/evanphx/json-patch.v4, sigs.k8s.io/json, sigs.k8s.io/yaml) return for the same input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/api/meta/errors.js';
import { cloneJson, jsonDepth } from '../../src/registry/json-tree.js';
import { JsonBodyError, parseJsonBody } from '../../src/server/json-body.js';
import { applyJsonPatch, encodedSize, JsonPatchApplyError } from '../../src/registry/json-patch.js';
import { applyMergePatch } from '../../src/server/merge-patch.js';
import { applyPatch, jsonPatchUnknownFields, parseApplyPatch, validatePatch } from '../../src/server/patch.js';
import type { KubeObject } from '../../src/api/meta/types.js';

// Every Object.prototype member ("__proto__" among them) and Function's "prototype".
const prototypeNames = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
const doc = (): Record<string, unknown> => ({ spec: { a: 1, arr: [1, 2, 3] }, metadata: { labels: { x: 'y' } } });
const withSpec = (spec: unknown): Record<string, unknown> => ({ spec, metadata: { labels: { x: 'y' } } });

/** A plain object holding `key` as an own member, "__proto__" included. */
const own = (entries: Array<[string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
};

describe('JSON patch applies as kube-apiserver applies it', () => {
  const cases: Array<{ name: string; patch: unknown[]; want: unknown } | { name: string; patch: unknown[]; fails: true }> = [
    { name: 'add to an array at -1 appends', patch: [{ op: 'add', path: '/spec/arr/-1', value: 9 }], want: withSpec({ a: 1, arr: [1, 2, 3, 9] }) },
    { name: 'add at -len inserts first', patch: [{ op: 'add', path: '/spec/arr/-4', value: 9 }], want: withSpec({ a: 1, arr: [9, 1, 2, 3] }) },
    { name: 'add before -len fails', patch: [{ op: 'add', path: '/spec/arr/-5', value: 9 }], fails: true },
    { name: 'replace at -1 replaces the last', patch: [{ op: 'replace', path: '/spec/arr/-1', value: 9 }], want: withSpec({ a: 1, arr: [1, 2, 9] }) },
    { name: 'remove at -1 removes the last', patch: [{ op: 'remove', path: '/spec/arr/-1' }], want: withSpec({ a: 1, arr: [1, 2] }) },
    { name: 'add past the end fails', patch: [{ op: 'add', path: '/spec/arr/4', value: 9 }], fails: true },
    { name: 'an index with a sign or leading zero is a number', patch: [{ op: 'add', path: '/spec/arr/+01', value: 9 }], want: withSpec({ a: 1, arr: [1, 9, 2, 3] }) },
    { name: 'a non-numeric index fails', patch: [{ op: 'add', path: '/spec/arr/x', value: 9 }], fails: true },
    { name: '- appends', patch: [{ op: 'add', path: '/spec/arr/-', value: 4 }], want: withSpec({ a: 1, arr: [1, 2, 3, 4] }) },
    { name: 'replace of - fails', patch: [{ op: 'replace', path: '/spec/arr/-', value: 4 }], fails: true },
    { name: 'remove of an absent member fails', patch: [{ op: 'remove', path: '/spec/nope' }], fails: true },
    { name: 'replace of an absent member adds it', patch: [{ op: 'replace', path: '/spec/nope', value: 1 }], want: withSpec({ a: 1, arr: [1, 2, 3], nope: 1 }) },
    { name: 'replace of the whole document with a scalar changes nothing', patch: [{ op: 'replace', path: '', value: 1 }], want: doc() },
    { name: 'replace of the whole document with an object', patch: [{ op: 'replace', path: '', value: { a: 1 } }], want: { a: 1 } },
    { name: 'add under an absent parent fails', patch: [{ op: 'add', path: '/nope/x', value: 1 }], fails: true },
    { name: 'a path without a leading slash fails', patch: [{ op: 'add', path: 'spec', value: 1 }], fails: true },
    { name: 'add without a value adds null', patch: [{ op: 'add', path: '/metadata/labels/y' }], want: { spec: { a: 1, arr: [1, 2, 3] }, metadata: { labels: { x: 'y', y: null } } } },
    { name: 'move of a node into its own child fails', patch: [{ op: 'move', from: '/spec', path: '/spec/x' }], fails: true },
    { name: 'move to the same place changes nothing', patch: [{ op: 'move', from: '/spec', path: '/spec' }], want: doc() },
    { name: 'move within an array', patch: [{ op: 'move', from: '/spec/arr/0', path: '/spec/arr/2' }], want: withSpec({ a: 1, arr: [2, 3, 1] }) },
    { name: 'copy from an absent member copies null', patch: [{ op: 'copy', from: '/spec/nope', path: '/spec/b' }], want: withSpec({ a: 1, arr: [1, 2, 3], b: null }) },
    { name: 'copy from past an array fails', patch: [{ op: 'copy', from: '/spec/arr/9', path: '/spec/b' }], fails: true },
    { name: 'copy of a node into itself nests a copy', patch: [{ op: 'copy', from: '/spec', path: '/spec/x' }], want: withSpec({ a: 1, arr: [1, 2, 3], x: { a: 1, arr: [1, 2, 3] } }) },
    { name: 'test of an equal value passes', patch: [{ op: 'test', path: '/spec', value: { arr: [1, 2, 3], a: 1 } }], want: doc() },
    { name: 'test of another value fails', patch: [{ op: 'test', path: '/spec/a', value: 2 }], fails: true },
    { name: 'test of a string against a number fails', patch: [{ op: 'test', path: '/spec/arr/0', value: '1' }], fails: true },
    { name: 'test of an absent member against null passes', patch: [{ op: 'test', path: '/spec/nope', value: null }], want: doc() },
    { name: 'test of the whole document', patch: [{ op: 'test', path: '', value: {} }], fails: true },
    { name: 'an unknown op fails', patch: [{ op: 'bogus', path: '/a' }], fails: true },
    { name: 'a null operation fails', patch: [null], fails: true },
    { name: 'escapes ~1 and ~0 decode to / and ~', patch: [{ op: 'add', path: '/metadata/labels/a~1b~0c~01', value: 'v' }], want: { spec: { a: 1, arr: [1, 2, 3] }, metadata: { labels: { x: 'y', 'a/b~c~1': 'v' } } } },
    { name: '/ names the empty key', patch: [{ op: 'add', path: '/', value: 1 }], want: { '': 1, ...doc() } },
    { name: 'navigating through null fails', patch: [{ op: 'add', path: '/spec/n', value: null }, { op: 'add', path: '/spec/n/x', value: 1 }], fails: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const input = doc();
      if ('fails' in c) assert.throws(() => applyJsonPatch(input, c.patch), JsonPatchApplyError);
      else assert.deepEqual(applyJsonPatch(input, c.patch), c.want);
      assert.deepEqual(input, doc(), 'the document passed in changed');
    });
  }

  it('a path segment named like a prototype member addresses an own member only, at every level', () => {
    for (const name of prototypeNames) {
      const input = { metadata: { labels: { x: 'y' } } };
      assert.throws(() => applyJsonPatch(input, [{ op: 'remove', path: `/metadata/labels/${name}` }]), JsonPatchApplyError, name);
      assert.throws(() => applyJsonPatch(input, [{ op: 'add', path: `/${name}/x`, value: 1 }]), JsonPatchApplyError, name);
      const added = applyJsonPatch(input, [{ op: 'add', path: `/metadata/labels/${name}`, value: 'v' }, { op: 'add', path: `/${name}`, value: { [name]: 1 } }]) as any;
      assert.deepEqual(Object.keys(added.metadata.labels), ['x', name]);
      assert.equal(Object.getPrototypeOf(added.metadata.labels), Object.prototype, name);
      assert.equal(added.metadata.labels[name], 'v');
      assert.ok(Object.hasOwn(added, name), name);
      const removed = applyJsonPatch(added, [{ op: 'remove', path: `/metadata/labels/${name}` }, { op: 'test', path: `/${name}/${name}`, value: 1 }]) as any;
      assert.deepEqual(removed.metadata.labels, { x: 'y' });
    }
  });

  it('operation fields the strict decoder does not know are named, case-sensitively', () => {
    assert.deepEqual(jsonPatchUnknownFields([{ op: 'add', extra: 1, x: { y: 1 } }, { Op: 'add', PATH: '/a' }, null]), [
      'json patch unknown field "[0].extra"',
      'json patch unknown field "[0].x"',
      'json patch unknown field "[1].Op"',
      'json patch unknown field "[1].PATH"',
    ]);
  });

  it('26 doubling copies stop at the 3 MiB copy limit with a 422', () => {
    const current = { kind: 'Notebook', metadata: { name: 'n' }, spec: { image: 'x'.repeat(200) } } as unknown as KubeObject;
    const patch = Array.from({ length: 26 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/y${i}` }));
    assert.throws(() => applyPatch('json', current, patch), (e: unknown) => e instanceof ApiError && e.code === 422 && e.reason === 'Invalid' && e.message === 'the server rejected our request due to an error in our request');
  });

  it('inserts and removes that shift more than 100 million array elements fail with a 422', () => {
    const front = (op: 'add' | 'remove', n: number): unknown[] =>
      Array.from({ length: n }, () => (op === 'add' ? { op, path: '/arr/0', value: 1 } : { op, path: '/arr/0' }));
    const document = { arr: new Array(1_000_000).fill(0) };
    assert.equal((applyJsonPatch(document, front('add', 99)) as { arr: unknown[] }).arr.length, 1_000_099);
    assert.throws(() => applyPatch('json', document as unknown as KubeObject, front('add', 101)), (e: unknown) => e instanceof ApiError && e.code === 422);
    assert.throws(() => applyPatch('json', document as unknown as KubeObject, front('remove', 101)), (e: unknown) => e instanceof ApiError && e.code === 422);
    assert.equal((applyJsonPatch(document, Array(10_000).fill({ op: 'add', path: '/arr/-', value: 1 })) as { arr: unknown[] }).arr.length, 1_010_000);
  });

  it('copies up to the limit are applied', () => {
    const patch = Array.from({ length: 10 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/y${i}` }));
    const out = applyJsonPatch({ spec: { a: 'x'.repeat(100) } }, patch) as { spec: Record<string, unknown> };
    assert.equal(Object.keys(out.spec).length, 11);
  });

  it('the copy size is Go json.Marshal length, HTML characters escaped', () => {
    assert.equal(encodedSize({ b: [1, 'x', null, true], a: '<&>' }), '{"a":"\\u003c\\u0026\\u003e","b":[1,"x",null,true]}'.length);
    assert.equal(encodedSize('é'), 4);
  });

  it('the shape checks answer as kube-apiserver does', () => {
    const status = (f: () => void): [number, string] => {
      try {
        f();
      } catch (e) {
        if (e instanceof ApiError) return [e.code, e.message];
        throw e;
      }
      return [0, ''];
    };
    assert.deepEqual(status(() => validatePatch('json', { op: 'add' })), [400, 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp']);
    assert.deepEqual(status(() => validatePatch('json', { op: 'add' }, false)), [400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch']);
    assert.deepEqual(status(() => validatePatch('json', [1])), [400, 'error decoding patch: json: cannot unmarshal number into Go value of type handlers.jsonPatchOp']);
    assert.deepEqual(status(() => validatePatch('json', Array(10_001).fill({ op: 'test', path: '/a', value: 1 }))), [413, 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001']);
    assert.deepEqual(status(() => validatePatch('json', Array(10_000).fill({ op: 'test', path: '/a', value: 1 }))), [0, '']);
    assert.deepEqual(status(() => validatePatch('json', [{ op: 5, extra: 1 }])), [400, 'error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string']);
    assert.deepEqual(status(() => validatePatch('json', [{ op: 'add', path: [1] }])), [400, 'error decoding patch: json: cannot unmarshal array into Go struct field jsonPatchOp.path of type string']);
    assert.deepEqual(status(() => validatePatch('json', [{ op: null, path: null }])), [0, '']);
    assert.deepEqual(status(() => validatePatch('merge', null)), [400, 'Invalid JSON Patch']);
    assert.deepEqual(status(() => validatePatch('merge', [1])), [400, 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}']);
  });
});

describe('merge patch merges as kube-apiserver merges', () => {
  const cases: Array<{ name: string; doc: unknown; patch: unknown; want: unknown }> = [
    { name: 'null removes; nulls inside a new value are pruned, inside arrays too', doc: { a: 1 }, patch: { a: null, b: { c: null, d: 1 }, e: [{ x: null }] }, want: { b: { d: 1 }, e: [{}] } },
    { name: 'an object replaced by an array', doc: { a: { b: 1 } }, patch: { a: [1] }, want: { a: [1] } },
    { name: 'an array replaced by an object, its nulls pruned', doc: { a: [1] }, patch: { a: { b: 1, c: null } }, want: { a: { b: 1 } } },
    { name: 'an object replaced by an array keeps the nulls in it', doc: { a: { b: 1 } }, patch: { a: [{ x: null }] }, want: { a: [{ x: null }] } },
    { name: 'a patch that is an array replaces the document', doc: { a: 1 }, patch: [1, { x: null }], want: [1, {}] },
    { name: 'nested objects merge', doc: { m: { a: 1, b: 2 } }, patch: { m: { b: null, c: 3 } }, want: { m: { a: 1, c: 3 } } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before = cloneJson(c.doc);
      const patchBefore = cloneJson(c.patch);
      assert.deepEqual(applyMergePatch(c.doc, c.patch), c.want);
      assert.deepEqual(c.doc, before);
      assert.deepEqual(c.patch, patchBefore);
    });
  }

  it('keys named like prototype members are set and removed as data, at every level', () => {
    for (const name of prototypeNames) {
      const patch = own([['metadata', own([['labels', own([[name, 'yes'], ['team', 'a']])]])], [name, own([[name, own([[name, 1]])]])]]);
      const out = applyMergePatch({ metadata: { labels: { x: 'y' } } }, patch) as any;
      assert.deepEqual(Object.keys(out.metadata.labels).sort(), [name, 'team', 'x'].sort(), name);
      assert.equal(Object.getPrototypeOf(out.metadata.labels), Object.prototype, name);
      assert.equal(Object.getOwnPropertyDescriptor(out, name)?.value[name][name], 1, name);
      const removed = applyMergePatch(out, own([['metadata', own([['labels', own([[name, null]])]])]])) as any;
      assert.deepEqual(Object.keys(removed.metadata.labels).sort(), ['team', 'x'], name);
    }
  });
});

describe('JSON bodies are read as kube-apiserver reads them', () => {
  it('nesting up to 10,000 levels is read; one more is refused in Go words', () => {
    const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    assert.equal(jsonDepth(parseJsonBody(nested(10_000)).value), 10_000);
    assert.throws(() => parseJsonBody(nested(10_001)), (e: unknown) => e instanceof JsonBodyError && e.message === "invalid character '[' exceeded max depth");
    assert.throws(() => parseJsonBody('{"a":'.repeat(10_001) + '1' + '}'.repeat(10_001)), { message: "invalid character '{' exceeded max depth" });
  });

  it('a deeply nested body is copied without exhausting the stack', () => {
    const value = parseJsonBody('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)).value;
    assert.equal(jsonDepth(cloneJson(value)), 10_000);
  });

  it('repeated members are named by their path, escapes decoded, at most once each', () => {
    const { value, duplicates } = parseJsonBody('{"a":1,"a":2,"m":{"b":[{"c":1,"c":2}]},"\\u0061":3,"s":"\\"a\\":","a":4}');
    assert.deepEqual(duplicates.map((d) => d.path), ['a', 'm.b[0].c']);
    assert.deepEqual(value, { a: 4, m: { b: [{ c: 2 }] }, s: '"a":' });
  });

  it('keys named like prototype members are own data, never duplicates of each other', () => {
    const text = `{${prototypeNames.map((k) => `"${k}":{"${k}":1}`).join(',')}}`;
    const { value, duplicates } = parseJsonBody(text);
    assert.deepEqual(duplicates, []);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value as object), prototypeNames);
  });

  it('100,000 members of one object are all checked', () => {
    const text = `{${Array.from({ length: 100_000 }, (_, i) => `"k${i % 99_999}":1`).join(',')}}`;
    assert.deepEqual(parseJsonBody(text).duplicates.map((d) => d.path), ['k0']);
  });
});

describe('apply configurations are read as sigs.k8s.io/yaml reads them', () => {
  const nine = (alias: string): string => `[${Array(9).fill(`*${alias}`).join(', ')}]`;
  const threeLevels = `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b ${nine('a')}\nc: &c ${nine('b')}\n`;
  const refusals: Array<{ name: string; body: string; message: string }> = [
    { name: 'a self-referencing alias', body: 'a: &x [*x]\n', message: "error decoding YAML: error converting YAML to JSON: yaml: anchor 'x' value contains itself" },
    { name: 'an alias inside its own anchor, deeper down', body: 'a: &x {b: [1, {c: *x}]}\n', message: "error decoding YAML: error converting YAML to JSON: yaml: anchor 'x' value contains itself" },
    { name: 'an unknown alias', body: 'a: *y\n', message: "error decoding YAML: error converting YAML to JSON: yaml: unknown anchor 'y' referenced" },
    { name: 'four levels of nine aliases', body: `${threeLevels}d: ${nine('c')}\n`, message: 'error decoding YAML: error converting YAML to JSON: yaml: document contains excessive aliasing' },
    { name: 'seven levels of nine aliases (a billion nodes)', body: `${threeLevels}d: &d ${nine('c')}\ne: &e ${nine('d')}\nf: &f ${nine('e')}\ng: ${nine('f')}\n`, message: 'error decoding YAML: error converting YAML to JSON: yaml: document contains excessive aliasing' },
    { name: 'a list', body: '- 1\n', message: 'error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}' },
    { name: 'a number', body: '5', message: 'error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number into Go value of type map[string]interface {}' },
    { name: 'JSON nested past 10,000 levels', body: `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, message: 'error decoding YAML: error converting YAML to JSON: yaml: exceeded max depth of 10000' },
  ];
  for (const c of refusals) {
    it(`${c.name} is a 400`, async () => {
      await assert.rejects(parseApplyPatch(c.body), (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === c.message);
    });
  }

  it('YAML the library cannot read is a 400, never a 500', async () => {
    for (const body of ['a: [\n', `a: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`, '? [a]\n: 1\n']) {
      await assert.rejects(parseApplyPatch(body), (e: unknown) => e instanceof ApiError && e.code === 400, body.slice(0, 20));
    }
  });

  it('scalars resolve as go-yaml resolves them into interface{}', async () => {
    const { config } = await parseApplyPatch('a: 2001-12-14\nb: 1:20\nc: 0b101\nd: 017\ne: 1_000\nf: 0x1F\ng: y\nh: NO\ni: ~\nj: !!binary aGVsbG8=\n');
    assert.deepEqual(config, { a: '2001-12-14', b: '1:20', c: 5, d: 15, e: 1000, f: 31, g: true, h: false, i: null, j: 'hello' });
    await assert.rejects(parseApplyPatch('a: .nan\n'), { message: 'error decoding YAML: error converting YAML to JSON: json: unsupported value: NaN' });
    await assert.rejects(parseApplyPatch('a: -.inf\n'), { message: 'error decoding YAML: error converting YAML to JSON: json: unsupported value: -Inf' });
  });

  it('three levels of nine aliases are within the budget', async () => {
    assert.equal(((await parseApplyPatch(threeLevels)).config.c as unknown[][]).flat().length, 81);
  });

  it('an empty body is an empty configuration; only the first document counts', async () => {
    assert.deepEqual(await parseApplyPatch(''), { config: {}, strictErrors: [] });
    assert.deepEqual(await parseApplyPatch('a: 1\n---\nb: 2\n'), { config: { a: 1 }, strictErrors: [] });
  });

  it('repeated keys: the last wins, and each repetition is reported with its line', async () => {
    assert.deepEqual(await parseApplyPatch('m:\n  a: 1\n  a: 2\nq:\n  - {x: 1, x: 2}\n'), {
      config: { m: { a: 2 }, q: [{ x: 2 }] },
      strictErrors: ['line 3: key "a" already set in map', 'line 5: key "x" already set in map'],
    });
    assert.deepEqual((await parseApplyPatch('{\n"a": 1,\n"a": 2}')).strictErrors, ['line 3: key "a" already set in map']);
  });

  it('keys named like prototype members are own data, in YAML and in JSON', async () => {
    for (const body of [prototypeNames.map((k) => `${k}:\n  ${k}: 1`).join('\n'), `{${prototypeNames.map((k) => `"${k}":{"${k}":1}`).join(',')}}`]) {
      const { config, strictErrors } = await parseApplyPatch(body);
      assert.deepEqual(strictErrors, []);
      assert.equal(Object.getPrototypeOf(config), Object.prototype);
      assert.deepEqual(Object.keys(config), prototypeNames);
      for (const k of prototypeNames) assert.equal((Object.getOwnPropertyDescriptor(config, k)!.value as Record<string, unknown>)[k], 1);
    }
  });

  it('a 100,000-key map is read whole, in JSON and in YAML, and a repeated key at its end is found', async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${i % 99_999}`);
    const json = await parseApplyPatch(`{"spec":{${keys.map((k) => `"${k}":"v"`).join(',')}}}`);
    assert.equal(Object.keys(json.config.spec as object).length, 99_999);
    assert.deepEqual(json.strictErrors, ['line 1: key "k0" already set in map']);
    const yaml = await parseApplyPatch(`spec:\n${keys.map((k) => `  ${k}: v`).join('\n')}\n`);
    assert.equal(Object.keys(yaml.config.spec as object).length, 99_999);
    assert.deepEqual(yaml.strictErrors, ['line 100001: key "k0" already set in map']);
  });
});
