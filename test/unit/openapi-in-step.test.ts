// The committed OpenAPI documents are what the server serves; this fails when someone changes a schema or a
// resource without regenerating them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { openApiFiles } from '../../scripts/generate-openapi.js';

for (const [path, content] of Object.entries(openApiFiles())) {
  it(`openapi/${path} is in step with src/api`, () => {
    const committed = readFileSync(new URL(`../../openapi/${path}`, import.meta.url), 'utf8');
    assert.ok(committed === content, `openapi/${path} is stale: run \`npm run generate\``);
  });
}

it('every operation names its group-version-kind; PATCH declares fieldValidation, force, apply and no strategic merge', () => {
  const v3 = JSON.parse(openApiFiles()['v3/apis__ai.example.io__v1alpha1_openapi.json']!) as {
    paths: Record<string, Record<string, { 'x-kubernetes-group-version-kind'?: unknown; parameters?: { name: string }[]; requestBody?: { content: Record<string, unknown> } }>>;
  };
  const patch = v3.paths['/apis/ai.example.io/v1alpha1/namespaces/{namespace}/notebooks/{name}']!.patch!;
  assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'ai.example.io', version: 'v1alpha1', kind: 'Notebook' });
  assert.ok(patch.parameters!.some((p) => p.name === 'fieldValidation'));
  assert.ok(patch.parameters!.some((p) => p.name === 'force'));
  assert.deepEqual(Object.keys(patch.requestBody!.content), ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']);
  for (const [path, item] of Object.entries(v3.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      assert.ok(op['x-kubernetes-group-version-kind'], `${method} ${path} has no x-kubernetes-group-version-kind`);
    }
  }
});
