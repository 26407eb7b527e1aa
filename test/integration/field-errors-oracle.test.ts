// Field error wording differentially tested against k8s.io/apimachinery v0.32.2 itself: test/unit/field-error-oracle
// is a Go program around the field package's constructors, built here. For every case our fieldErrorString and
// fieldErrorBody must be Go's Error() and ErrorBody() word for word, and a list's summary its ToAggregate().Error().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fieldErrorBody, fieldErrorListString, fieldErrors, fieldErrorString, GoTime, type FieldError } from '../../src/api/meta/field-errors.js';
import { buildGoOracle, type GoOracle } from '../support/go-oracle.js';


/** A bad value with the Go type kube-apiserver holds it in (int64 and float64 as JSON numbers decode, metav1.Time). */
type Value = { string: string } | { int: number } | { float: number } | { bool: boolean } | { null: true } | { time: string } | { zeroTime: true };

/** One call of a field package constructor, as the oracle makes it and as our builder makes it. */
type Case =
  | { fn: 'Required' | 'Forbidden'; field: string; detail: string }
  | { fn: 'Invalid' | 'TypeInvalid'; field: string; value: Value; detail: string }
  | { fn: 'NotSupported'; field: string; value: Value; supported: string[] }
  | { fn: 'Duplicate'; field: string; value: Value }
  | { fn: 'TooLong' | 'TooLongMaxLength'; field: string; value: Value; max: number }
  | { fn: 'TooMany'; field: string; actual: number; max: number };

function ourValue(value: Value): unknown {
  if ('string' in value) return value.string;
  if ('int' in value) return value.int;
  if ('float' in value) return value.float;
  if ('bool' in value) return value.bool;
  if ('time' in value) return new GoTime(value.time);
  if ('zeroTime' in value) return new GoTime(undefined);
  return null;
}

function ours(c: Case): FieldError {
  switch (c.fn) {
    case 'Required':
      return fieldErrors.required(c.field, c.detail);
    case 'Forbidden':
      return fieldErrors.forbidden(c.field, c.detail);
    case 'Invalid':
      return fieldErrors.invalid(c.field, ourValue(c.value), c.detail);
    case 'TypeInvalid':
      return fieldErrors.typeInvalid(c.field, ourValue(c.value), c.detail);
    case 'NotSupported':
      return fieldErrors.notSupported(c.field, ourValue(c.value), c.supported);
    case 'Duplicate':
      return fieldErrors.duplicate(c.field, ourValue(c.value));
    case 'TooLong':
    case 'TooLongMaxLength':
      return fieldErrors.tooLong(c.field, c.max);
    case 'TooMany':
      // No builder makes one yet; the type is rendered all the same, so its wording is held to Go's too.
      return { type: 'FieldValueTooMany', field: c.field, value: c.actual, detail: `must have at most ${c.max} items` };
  }
}

const strings = ['', 'Bad', 'a b', 'quote " and \\ backslash', 'tab\tnew\nline\r', '\u0007\b\f\v', '\u0000\u0001\u001f\u007f',
  'ü日本😀', '\u00a0\u00ad\u200b\u2028\ufeff', '\u0085\u0301\ue000', '\ud800 lone', '<script>', 'x'.repeat(300)];
const invalidValues: Value[] = [
  ...strings.map((s) => ({ string: s })),
  ...[0, -1, 1, 42, 2 ** 31, -(2 ** 53) + 1, 2 ** 53 - 1].map((n) => ({ int: n })),
  ...[0.5, -2.5, 1.5e-7, 0.0001, 0.00001, 123456.5, 1234567.5, 1e20, 1e21, 1.7976931348623157e308, 5e-324].map((n) => ({ float: n })),
  { bool: true },
  { bool: false },
  { null: true },
  ...['2026-01-02T00:00:00Z', '2026-01-02T03:04:05+02:00', '2026-01-02T03:04:05.500Z', '0999-12-31T23:59:59.123456789Z', '2026-01-02T00:30:00-01:00'].map((t) => ({ time: t })),
  { zeroTime: true },
];

const cases: Case[] = [
  { fn: 'Required', field: 'metadata.name', detail: 'name or generateName is required' },
  { fn: 'Required', field: 'metadata.namespace', detail: '' },
  { fn: 'Forbidden', field: 'spec.workspace', detail: 'size and existingClaim are mutually exclusive' },
  ...invalidValues.map((value): Case => ({ fn: 'Invalid', field: 'spec.x', value, detail: 'must be greater than or equal to 0' })),
  { fn: 'Invalid', field: 'metadata.uid', value: { string: 'u2' }, detail: '' },
  ...invalidValues.map((value): Case => ({ fn: 'TypeInvalid', field: 'spec.y', value, detail: 'must be of type string' })),
  ...invalidValues.map((value): Case => ({ fn: 'Duplicate', field: 'spec.volumes[1].name', value })),
  { fn: 'NotSupported', field: 'dryRun', value: { string: 'Some' }, supported: ['All'] },
  { fn: 'NotSupported', field: 'spec.restartPolicy', value: { int: 3 }, supported: ['OnFailure', 'Never'] },
  { fn: 'NotSupported', field: 'resourceVersionMatch', value: { string: 'x"y' }, supported: ['Exact', 'NotOlderThan', ''] },
  { fn: 'NotSupported', field: 'spec.z', value: { null: true }, supported: ['a\tb', 'ü'] },
  { fn: 'TooLong', field: 'metadata.annotations', value: { string: '' }, max: 262144 },
  { fn: 'TooLong', field: 'fieldManager', value: { string: 'x' }, max: 128 },
  { fn: 'TooLong', field: 'spec.s', value: { string: 'x' }, max: 0 },
  { fn: 'TooLongMaxLength', field: 'spec.s', value: { string: 'x' }, max: 63 },
  { fn: 'TooMany', field: 'spec.items', actual: 5, max: 3 },
];

type Rendered = { error: string; body: string };
type Answer = { errors: Rendered[]; aggregate: string };

describe('field errors worded as k8s.io/apimachinery v0.32.2 words them', () => {
  let oracle: GoOracle;

  before(() => {
    oracle = buildGoOracle('field-error-oracle');
  });
  after(() => oracle.remove());

  /** Go's answers, one per list; TZ=UTC as kube-apiserver runs, since metav1.Time prints in the local zone. */
  function kube(lists: Case[][]): Answer[] {
    return oracle.ask<Answer>(lists.map((errors) => ({ errors })), { TZ: 'UTC' });
  }

  it(`${cases.length} cases of every constructor: Error() and ErrorBody() word for word`, () => {
    assert.ok(cases.length >= 100);
    const answers = kube(cases.map((c) => [c]));
    const differences: { case: Case; kube: Rendered; ours: Rendered }[] = [];
    cases.forEach((c, i) => {
      const error = ours(c);
      const mine = { error: fieldErrorString(error), body: fieldErrorBody(error) };
      if (mine.error !== answers[i]!.errors[0]!.error || mine.body !== answers[i]!.errors[0]!.body) differences.push({ case: c, kube: answers[i]!.errors[0]!, ours: mine });
    });
    assert.deepEqual(differences, []);
  });

  it('lists: one error alone, several in brackets, a repeated message once', () => {
    const required: Case = { fn: 'Required', field: 'metadata.name', detail: 'name or generateName is required' };
    const invalid: Case = { fn: 'Invalid', field: 'metadata.namespace', value: { string: 'Bad' }, detail: 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters' };
    const tooLong: Case = { fn: 'TooLong', field: 'metadata.annotations', value: { string: '' }, max: 262144 };
    const lists: Case[][] = [[required], [required, invalid], [required, required], [invalid, required, invalid, tooLong], [tooLong, tooLong, tooLong]];
    const answers = kube(lists);
    assert.deepEqual(
      lists.map((list) => fieldErrorListString(list.map(ours))),
      answers.map((a) => a.aggregate),
    );
  });
});
