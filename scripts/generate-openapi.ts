// Writes the OpenAPI documents the server serves into openapi/, for readers and tools that want them without a
// running server. test/unit/openapi-in-step.test.ts fails when they drift from src/api.
// Run: npx tsx scripts/generate-openapi.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resources } from '../src/resources/index.js';
import { openApiV2, openApiV3 } from '../src/server/openapi-document.js';

export function openApiFiles(): Record<string, string> {
  return {
    'v2/swagger.json': `${JSON.stringify(openApiV2(resources.strategies), null, 2)}\n`,
    'v3/apis__ai.example.io__v1alpha1_openapi.json': `${JSON.stringify(openApiV3(resources.strategies), null, 2)}\n`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, content] of Object.entries(openApiFiles())) {
    const url = new URL(`../openapi/${path}`, import.meta.url);
    mkdirSync(new URL('.', url), { recursive: true });
    writeFileSync(url, content);
    console.log(`wrote openapi/${path}`);
  }
}
