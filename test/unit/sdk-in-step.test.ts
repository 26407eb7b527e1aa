// The SDK's clients are generated from the list of resources; this fails when someone adds a resource without
// regenerating them, or edits the file by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { generateSdkClients } from '../../scripts/generate-sdk.js';

it('src/sdk/clients.ts is what scripts/generate-sdk.ts makes of the resources', () => {
  const committed = readFileSync(new URL('../../src/sdk/clients.ts', import.meta.url), 'utf8');
  assert.ok(committed === generateSdkClients(), 'src/sdk/clients.ts is stale: run `npm run generate`');
});
