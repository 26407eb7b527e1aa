// The SDK's clients are generated from the list of resources; this fails when someone adds a resource without
// regenerating them, or edits the file by hand. Its package follows the server's version and type dependencies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { generateSdkClients } from '../../scripts/generate-sdk.js';

it('src/sdk/clients.ts is what scripts/generate-sdk.ts makes of the resources', () => {
  const committed = readFileSync(new URL('../../src/sdk/clients.ts', import.meta.url), 'utf8');
  assert.ok(committed === generateSdkClients(), 'src/sdk/clients.ts is stale: run `npm run generate`');
});

it('the SDK package (clients/typescript) has the server\'s version and the type packages the server builds with', () => {
  const read = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as Record<string, Record<string, string> | string>;
  const [root, sdk] = [read('../../package.json'), read('../../clients/typescript/package.json')];
  const [rootDeps, rootDevDeps] = [root.dependencies as Record<string, string>, root.devDependencies as Record<string, string>];
  assert.equal(sdk.version, root.version, 'the SDK is released with the server and the API version it serves');
  assert.deepEqual(sdk.dependencies, { 'kubernetes-types': rootDevDeps['kubernetes-types'] });
  assert.deepEqual(sdk.peerDependencies, { '@kubernetes/client-node': `^${rootDeps['@kubernetes/client-node']}` });
});
