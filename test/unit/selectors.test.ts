// Label and field selector parsing and matching, table-driven against kube-apiserver's syntax.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFieldSelector } from '../../src/registry/field-selector.js';
import { parseLabelSelector, SelectorParseError } from '../../src/registry/label-selector.js';

const labels = { app: 'nb', tier: 'gpu', 'example.io/team': 'a', gpus: '4' };

describe('label selectors', () => {
  const cases: { selector: string; want: boolean }[] = [
    { selector: '', want: true },
    { selector: 'app=nb', want: true },
    { selector: 'app==nb', want: true },
    { selector: 'app!=nb', want: false },
    { selector: 'app!=other', want: true },
    { selector: 'missing!=x', want: true },
    { selector: 'app in (nb, other)', want: true },
    { selector: 'app notin (nb)', want: false },
    { selector: 'missing notin (nb)', want: true },
    { selector: 'tier', want: true },
    { selector: '!tier', want: false },
    { selector: '!missing', want: true },
    { selector: 'example.io/team=a,tier=gpu', want: true },
    { selector: 'example.io/team=a,tier=cpu', want: false },
    { selector: '  app = nb ,  tier  ', want: true },
    { selector: 'app=', want: false },
    { selector: 'app in ()', want: false },
    { selector: 'app in (nb,)', want: true },
    { selector: 'app notin ()', want: true },
    { selector: 'gpus>3', want: true },
    { selector: 'gpus<4', want: false },
    { selector: 'gpus<5', want: true },
    { selector: 'app>1', want: false },
    { selector: 'missing<5', want: false },
  ];
  for (const { selector, want } of cases) {
    it(`"${selector}" ${want ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), want);
    });
  }
  // The messages are k8s.io/apimachinery v0.32.2's labels.Parse output for each selector (test/unit/label-oracle).
  const errors: { selector: string; message: string }[] = [
    { selector: 'app in (', message: "unable to parse requirement: found '', expected: ',', ')' or identifier" },
    { selector: '=x', message: "found '=', expected: !, identifier, or 'end of string'" },
    { selector: 'app=nb,', message: "found '', expected: identifier after ','" },
    { selector: 'bad key=x', message: "unable to parse requirement: found 'key', expected: in, notin, =, ==, !=, gt, lt" },
    { selector: 'app=bad value!', message: "found 'value', expected: ',' or 'end of string'" },
    { selector: 'app gt 1x', message: "unable to parse requirement: found 'gt', expected: in, notin, =, ==, !=, gt, lt" },
    { selector: 'a,,b', message: "found ',', expected: identifier after ','" },
    { selector: 'app>1x', message: `unable to parse requirement: values[0]: Invalid value: "1x": for 'Gt', 'Lt' operators, the value must be an integer` },
  ];
  for (const { selector, message } of errors) {
    it(`"${selector}" is refused: ${message}`, () => {
      assert.throws(() => parseLabelSelector(selector), { name: SelectorParseError.name, message });
    });
  }
});

describe('field selectors', () => {
  const known = ['metadata.name', 'metadata.namespace', 'status.phase'];
  const fields = { 'metadata.name': 'nb', 'metadata.namespace': 'ns', 'status.phase': 'Running' };
  it('match on equality and inequality, joined by commas', () => {
    assert.equal(parseFieldSelector('metadata.name=nb,status.phase!=Failed', known).matches(fields), true);
    assert.equal(parseFieldSelector('status.phase==Pending', known).matches(fields), false);
    assert.equal(parseFieldSelector('', known).empty, true);
  });
  it('metadata.name=x pins the name', () => {
    assert.equal(parseFieldSelector('metadata.name=nb', known).name, 'nb');
    assert.equal(parseFieldSelector('metadata.name!=nb', known).name, undefined);
  });
  it('an unknown field is rejected with kube-apiserver\'s message', () => {
    assert.throws(
      () => parseFieldSelector('spec.x=1', ['metadata.name', 'metadata.namespace']),
      { message: 'field label not supported: spec.x' },
    );
  });
});
