// LineReader: a watch stream's lines, whatever the chunks.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LineReader } from '../../src/kube/line-reader.js';

const read = (chunks: string[]): string[] => {
  const reader = new LineReader();
  return chunks.flatMap((chunk) => reader.push(chunk));
};

it('gives each complete line once, however the text is cut, and keeps an unfinished one for later', () => {
  const text = '{"a":1}\n\n{"b":"x y"}\n{"c":[1,2]}\n{"unfinished"';
  const whole = ['{"a":1}', '', '{"b":"x y"}', '{"c":[1,2]}'];
  assert.deepEqual(read([text]), whole);
  assert.deepEqual(read([...text]), whole);
  for (let cut = 0; cut <= text.length; cut++) assert.deepEqual(read([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
});

it('joins a megabyte line sent in small chunks', () => {
  const line = JSON.stringify({ data: 'x'.repeat(1 << 20) });
  const chunks: string[] = [];
  for (let at = 0; at < line.length; at += 16_384) chunks.push(line.slice(at, at + 16_384));
  assert.deepEqual(read([...chunks, '\n{"next":1}\n']), [line, '{"next":1}']);
});
