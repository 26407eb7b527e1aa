// The Go types of clients/go are generated from the schemas and the list of resources; this fails when someone
// changes either without regenerating them, or edits the Go files by hand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { goFieldName, goFiles } from '../../scripts/generate-go.js';

describe('clients/go types', () => {
  for (const [path, content] of Object.entries(goFiles())) {
    it(`${path} is what scripts/generate-go.ts makes of the schemas`, () => {
      const committed = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
      assert.ok(committed === content, `${path} is stale: run \`npm run generate\``);
    });
  }

  it('JSON property names become Go field names with Go\'s initialisms', () => {
    const cases = [
      { input: 'name', want: 'Name' },
      { input: 'mountPath', want: 'MountPath' },
      { input: 'url', want: 'URL' },
      { input: 'uri', want: 'URI' },
      { input: 'ttlSecondsAfterFinished', want: 'TTLSecondsAfterFinished' },
      { input: 'nprocPerNode', want: 'NprocPerNode' },
    ];
    for (const { input, want } of cases) assert.equal(goFieldName(input), want, input);
  });
});
