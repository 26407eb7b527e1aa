// The TypeScript types are generated from the schemas; this fails when someone edits one without the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { generateTypes } from '../../scripts/generate-types.js';

it('src/api/v1alpha1/types.ts is what scripts/generate-types.ts makes of the schemas', () => {
  const committed = readFileSync(new URL('../../src/api/v1alpha1/types.ts', import.meta.url), 'utf8');
  assert.equal(committed, generateTypes(), 'types.ts is stale: run `npx tsx scripts/generate-types.ts`');
});
