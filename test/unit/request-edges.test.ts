// The edges of a request's URL and query that a hostile client reaches first: continue tokens that decode to
// anything, integers beyond int64, paths that are not UTF-8. What kube-apiserver answers for each is compared
// against a CRD in test/e2e/hostile-input.test.ts; here every shape is refused as a 400, never thrown as a 500.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestAttributes } from '../../src/auth/request-info.js';
import { decodeContinue, encodeContinue } from '../../src/registry/continue-token.js';
import { ApiError } from '../../src/api/meta/errors.js';
import { deleteOptions, listOptions, parseBool, parseInteger } from '../../src/server/request-options.js';
import { negotiate, parseAccept } from '../../src/server/negotiation.js';
import { withValidUtf8Path } from '../../src/server/url-path.js';

const prefix = '/registry/ai.example.io/notebooks/';
const token = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const badRequest = (message: RegExp) => (e: unknown) => e instanceof ApiError && e.code === 400 && message.test(e.message);

describe('continue tokens', () => {
  const cases: Array<{ name: string; value: string; message: RegExp }> = [
    { name: 'JSON null', value: token(null), message: /server does not recognize this encoded version $/ },
    { name: 'a number', value: token(7), message: /continue key is not valid/ },
    { name: 'a list', value: token([1]), message: /continue key is not valid/ },
    { name: 'another version', value: token({ v: 'v9', rv: 1, start: 'a' }), message: /server does not recognize this encoded version v9$/ },
    { name: 'a revision of zero', value: token({ v: 'meta.k8s.io/v1', rv: 0, start: 'a' }), message: /incorrect encoded start resourceVersion/ },
    { name: 'a revision past 2^53', value: token({ v: 'meta.k8s.io/v1', rv: 2 ** 60, start: 'a' }), message: /incorrect encoded start resourceVersion/ },
    { name: 'a fractional revision', value: token({ v: 'meta.k8s.io/v1', rv: 1.5, start: 'a' }), message: /incorrect encoded start resourceVersion/ },
    { name: 'a revision as a string', value: token({ v: 'meta.k8s.io/v1', rv: '5', start: 'a' }), message: /incorrect encoded start resourceVersion/ },
    { name: 'no start key', value: token({ v: 'meta.k8s.io/v1', rv: 3 }), message: /encoded start key empty/ },
    { name: 'a start key climbing out', value: token({ v: 'meta.k8s.io/v1', rv: 3, start: 'ns/../../secrets' }), message: /continue key is not valid: ns\/\.\.\/\.\.\/secrets$/ },
    { name: 'a start key with an empty segment', value: token({ v: 'meta.k8s.io/v1', rv: 3, start: 'ns//a' }), message: /continue key is not valid/ },
    { name: 'characters outside base64', value: 'abc$def', message: /illegal base64 data at input byte 3$/ },
    { name: 'base64 of something not JSON', value: Buffer.from('{{{').toString('base64url'), message: /continue key is not valid/ },
  ];
  for (const c of cases) {
    it(`${c.name} is a 400 that says why`, () => {
      assert.throws(() => decodeContinue(c.value, prefix), badRequest(/^invalid continue token: /));
      assert.throws(() => decodeContinue(c.value, prefix), badRequest(c.message));
    });
  }

  it('a token this server wrote round-trips, with or without a leading slash on its key', () => {
    const written = encodeContinue(42, `${prefix}team-a/lab`, prefix);
    assert.deepEqual(decodeContinue(written, prefix), { revision: 42, startKey: `${prefix}team-a/lab` });
    assert.deepEqual(decodeContinue(token({ v: 'meta.k8s.io/v1', rv: 42, start: '/team-a/lab' }), prefix), { revision: 42, startKey: `${prefix}team-a/lab` });
  });
});

describe('integer and boolean query parameters', () => {
  it('integers are read as strconv.ParseInt reads int64, with its errors', () => {
    assert.equal(parseInteger({ limit: '9223372036854775807' }, 'limit'), 2 ** 63);
    assert.equal(parseInteger({ limit: '-9223372036854775808' }, 'limit'), -(2 ** 63));
    assert.equal(parseInteger({ limit: '+5' }, 'limit'), 5);
    assert.equal(parseInteger({}, 'limit'), undefined);
    assert.throws(() => parseInteger({ limit: '9223372036854775808' }, 'limit'), badRequest(/^strconv\.ParseInt: parsing "9223372036854775808": value out of range$/));
    assert.throws(() => parseInteger({ limit: '99999999999999999999' }, 'limit'), badRequest(/value out of range$/));
    assert.throws(() => parseInteger({ limit: '1e3' }, 'limit'), badRequest(/^strconv\.ParseInt: parsing "1e3": invalid syntax$/));
    assert.throws(() => parseInteger({ limit: '0x10' }, 'limit'), badRequest(/invalid syntax$/));
  });

  it('a limit past any store is "everything", kept exact enough to add one to', () => {
    const options = listOptions({ limit: '9223372036854775807' }, new AbortController().signal);
    assert.ok(options.limit !== undefined && Number.isSafeInteger(options.limit + 1));
    assert.equal(listOptions({ limit: '-5' }, new AbortController().signal).limit, undefined);
  });

  it('booleans are read as kube converts query strings: only 0, f and false (any case) are false', () => {
    const cases: Array<[string, boolean]> = [['T', true], ['yes', true], ['', true], ['1', true], ['0', false], ['f', false], ['F', false], ['fAlSe', false]];
    for (const [value, want] of cases) assert.equal(parseBool({ watch: value }, 'watch'), want, value);
    assert.equal(parseBool({}, 'watch'), undefined);
    const verbOf = (url: string): string | undefined => {
      const attributes = requestAttributes('GET', url);
      return attributes.kind === 'resource' ? attributes.attributes.verb : undefined;
    };
    assert.equal(verbOf('/apis/ai.example.io/v1alpha1/notebooks?watch=yes'), 'watch');
    assert.equal(verbOf('/apis/ai.example.io/v1alpha1/notebooks?watch=False'), 'list');
  });
});

describe('request paths that are not UTF-8', () => {
  const cases: Array<{ name: string; url: string; want: string }> = [
    { name: 'a plain path is left alone', url: '/apis/ai.example.io/v1alpha1/namespaces/a/notebooks?limit=1', want: '/apis/ai.example.io/v1alpha1/namespaces/a/notebooks?limit=1' },
    { name: 'valid escapes are left alone', url: '/apis/x/namespaces/a%20b/notebooks/%C3%A9', want: '/apis/x/namespaces/a%20b/notebooks/%C3%A9' },
    { name: 'a lone high byte becomes U+FFFD', url: '/apis/x/namespaces/%ff/notebooks', want: '/apis/x/namespaces/%EF%BF%BD/notebooks' },
    { name: 'only the broken segment changes', url: '/apis/x/namespaces/%C3%A9/notebooks/a%ffb?q=%ff', want: '/apis/x/namespaces/%C3%A9/notebooks/a%EF%BF%BDb?q=%ff' },
    { name: 'a truncated sequence becomes U+FFFD', url: '/a/%E2%82', want: '/a/%EF%BF%BD' },
    { name: 'a malformed escape is left for the router to refuse', url: '/a/%zz%ff', want: '/a/%zz%ff' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rewritten = withValidUtf8Path(c.url);
      assert.equal(rewritten, c.want);
      if (!rewritten.includes('%zz')) assert.doesNotThrow(() => decodeURIComponent(rewritten.split('?')[0]!));
    });
  }
});

describe('DeleteOptions bodies', () => {
  // Found by the fuzzer (test/e2e/fuzz.test.ts): a dryRun that is an object was a 500.
  const cases: Array<{ name: string; body: Record<string, unknown>; message: string }> = [
    { name: 'dryRun as an object', body: { dryRun: { a: 1 } }, message: 'json: cannot unmarshal object into Go struct field DeleteOptions.dryRun of type []string' },
    { name: 'dryRun holding a number', body: { dryRun: ['All', 5] }, message: 'json: cannot unmarshal array into Go struct field DeleteOptions.dryRun of type []string' },
    { name: 'preconditions as a list', body: { preconditions: [[]] }, message: 'json: cannot unmarshal array into Go struct field DeleteOptions.preconditions of type v1.Preconditions' },
    { name: 'a precondition uid as a number', body: { preconditions: { uid: 5 } }, message: 'json: cannot unmarshal object into Go struct field DeleteOptions.preconditions of type v1.Preconditions' },
    { name: 'gracePeriodSeconds as a string', body: { gracePeriodSeconds: '5' }, message: 'json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds of type int64' },
    { name: 'gracePeriodSeconds with a fraction', body: { gracePeriodSeconds: 1.5 }, message: 'json: cannot unmarshal number into Go struct field DeleteOptions.gracePeriodSeconds of type int64' },
    { name: 'orphanDependents as a string', body: { orphanDependents: 'true' }, message: 'json: cannot unmarshal string into Go struct field DeleteOptions.orphanDependents of type bool' },
    { name: 'propagationPolicy as a list', body: { propagationPolicy: ['Orphan'] }, message: 'json: cannot unmarshal array into Go struct field DeleteOptions.propagationPolicy of type string' },
  ];
  for (const c of cases) {
    it(`${c.name} is a 400 naming the field`, () => {
      assert.throws(() => deleteOptions(c.body, {}), (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === c.message);
    });
  }

  it('null members read as absent and unknown members are ignored', () => {
    const { options, dryRun } = deleteOptions({ dryRun: null, preconditions: null, whatever: { x: 1 }, propagationPolicy: 'Background' }, {});
    assert.deepEqual(JSON.parse(JSON.stringify(options)), { propagationPolicy: 'Background' });
    assert.equal(dryRun, false);
  });
});

describe('Accept header parameters', () => {
  it('parameters named like prototype members are plain parameters', () => {
    const [range] = parseAccept('application/json;__proto__=x;constructor=y;as=Table;g=meta.k8s.io;v=v1');
    assert.equal(range?.params.__proto__, 'x');
    assert.equal(range?.params.constructor, 'y');
    assert.equal(negotiate('application/json;constructor=y', false), 'json');
    assert.equal(negotiate('application/json;as=Table;g=meta.k8s.io;v=v1;__proto__=x', true), 'table');
  });
});
