// Warning headers carry user input (unknown field names): what kube's recorder sends, drops and cuts short.
// The same texts go through a CRD in test/e2e/hostile-input.test.ts; here every rule has its own case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warningHeaders } from '../../src/server/warnings.js';

const utf8 = (header: string): string => Buffer.from(header, 'latin1').toString('utf8');

describe('warning headers', () => {
  it('quotes a text with only " and \\ escaped', () => {
    assert.deepEqual(warningHeaders(['unknown field "spec.a\\b"']), ['299 - "unknown field \\"spec.a\\\\b\\""']);
  });

  it('sends UTF-8 as it is, one byte per character of the header string', () => {
    const [header] = warningHeaders(['unknown field "spec.é☃😀"']);
    assert.equal(utf8(header!), '299 - "unknown field \\"spec.é☃😀\\""');
    assert.ok([...header!].every((c) => c.charCodeAt(0) <= 0xff));
  });

  it('drops texts with control characters or halves of surrogate pairs, keeps the rest', () => {
    const texts = ['a\u0001b', 'tab\there', 'del\u007f', 'c1\u0085', 'lone \ud800 half', 'fine', 'no-break\u00a0space'];
    assert.deepEqual(warningHeaders(texts).map(utf8), ['299 - "fine"', '299 - "no-break\u00a0space"']);
  });

  it('sends each text once, in order', () => {
    assert.deepEqual(warningHeaders(['b', 'a', 'b', '', 'a']), ['299 - "b"', '299 - "a"']);
  });

  it('past 4,096 characters in all, every text is cut to 256, and none is added once the budget is spent again', () => {
    const long = (i: number): string => `${i}`.padEnd(1000, 'x');
    const headers = warningHeaders(Array.from({ length: 40 }, (_, i) => long(i)));
    assert.equal(headers.length, 16);
    for (const [i, header] of headers.entries()) assert.equal(header, `299 - "${long(i).slice(0, 256)}"`);
    assert.deepEqual(warningHeaders([long(1), long(2), long(3), long(4)]), [1, 2, 3, 4].map((i) => `299 - "${long(i)}"`));
  });
});
