// Label and field selector parsing and matching, table-driven against kube-apiserver's syntax.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFieldSelector } from '../../src/registry/field-selector.js';
import { parseLabelSelector, SelectorParseError } from '../../src/registry/label-selector.js';

const labels = { app: 'nb', tier: 'gpu', 'example.io/team': 'a' };

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
  ];
  for (const { selector, want } of cases) {
    it(`"${selector}" ${want ? 'matches' : 'does not match'}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), want);
    });
  }
  for (const bad of ['app in (', 'app in ()', '=x', 'app=nb,', 'bad key=x', 'app=bad value!', 'app gt 1x', 'a,,b']) {
    it(`"${bad}" is a parse error`, () => {
      assert.throws(() => parseLabelSelector(bad), SelectorParseError);
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
