// A LIST's body is written as a stream of chunks (src/server/encoders.ts encodeList, sent by rest.ts with one chunk
// ahead of the socket): its bytes are exactly the whole list serialized at once, for every representation, and no
// chunk grows with the list.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { benchNotebook } from '../../bench/objects.js';
import { columnDefinitions } from '../../src/api/meta/printers.js';
import { cacheDecoder } from '../../src/registry/codec.js';
import type { ListResult } from '../../src/registry/store.js';
import { resources } from '../../src/resources/index.js';
import { encodeList, type EncodeContext } from '../../src/server/encoders.js';
import type { Representation } from '../../src/server/negotiation.js';

const strategy = resources.strategies.find((s) => s.info.resource === 'notebooks')!;
const decode = cacheDecoder(strategy.fieldValues);
const now = Date.parse('2026-11-30T08:00:00Z');

function listOf(count: number): ListResult {
  const items = Array.from({ length: count }, (_, i) => {
    const object = benchNotebook(`nb-${String(i).padStart(5, '0')}`, i);
    object.metadata.namespace = 'bench';
    object.metadata.uid = `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;
    object.metadata.creationTimestamp = new Date(now - i * 61_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return decode('', Buffer.from(JSON.stringify(object)), 100 + i);
  });
  return { items, resourceVersion: '20000', continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ', remainingItemCount: 7 };
}

/** The same list built as one value and serialized in one call: what a non-streaming encoder would send. */
function whole(ctx: EncodeContext, result: ListResult): string {
  const metadata = { resourceVersion: result.resourceVersion, continue: result.continue, remainingItemCount: result.remainingItemCount };
  const partial = (read: ListResult['items'][number]) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: read.object.metadata });
  switch (ctx.representation) {
    case 'json':
      return JSON.stringify({ kind: 'NotebookList', apiVersion: 'ai.example.io/v1alpha1', metadata, items: result.items.map((read) => read.object) });
    case 'metadata':
      return JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items: result.items.map(partial) });
    case 'table':
      return JSON.stringify({
        kind: 'Table',
        apiVersion: 'meta.k8s.io/v1',
        metadata,
        columnDefinitions: columnDefinitions(strategy.printerColumns),
        rows: result.items.map((read) => ({ cells: strategy.printerColumns.map((column) => column.cell(read.object, now)), object: partial(read) })),
      });
  }
}

describe('streamed LIST encoding', () => {
  const result = listOf(3_000);
  const cases: { representation: Representation; includeObject: EncodeContext['includeObject'] }[] = [
    { representation: 'json', includeObject: 'Object' },
    { representation: 'metadata', includeObject: 'Object' },
    // kubectl get asks for a Table with each row's object as metadata.
    { representation: 'table', includeObject: 'Metadata' },
  ];
  for (const tc of cases) {
    it(`as ${tc.representation}: the chunks are the whole list's bytes, and none holds more than 64 KiB and one item`, () => {
      mock.timers.enable({ apis: ['Date'], now });
      try {
        const ctx: EncodeContext = { info: strategy.info, printerColumns: strategy.printerColumns, representation: tc.representation, includeObject: tc.includeObject };
        const chunks = [...encodeList(ctx, result)];
        assert.equal(chunks.join(''), whole(ctx, result));
        const largestItem = Math.max(...result.items.map((read) => read.json.length));
        assert.ok(chunks.length > 20, `${chunks.length} chunks`);
        for (const chunk of chunks) assert.ok(chunk.length < 65_536 + largestItem + 1_024, `a chunk of ${chunk.length} characters`);
      } finally {
        mock.timers.reset();
      }
    });
  }

  it('an empty list is one chunk with items []', () => {
    const ctx: EncodeContext = { info: strategy.info, printerColumns: strategy.printerColumns, representation: 'json', includeObject: 'Object' };
    const empty: ListResult = { items: [], resourceVersion: '5' };
    assert.deepEqual([...encodeList(ctx, empty)], ['{"kind":"NotebookList","apiVersion":"ai.example.io/v1alpha1","metadata":{"resourceVersion":"5"},"items":[]}']);
  });
});
