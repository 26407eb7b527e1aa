// Extracts Kubernetes' own core/v1 PodTemplateSpec schema (and everything it references) from the OpenAPI v3
// document published in the Go module k8s.io/kubernetes, so spec.template is validated against the real thing.
// Run: npx tsx scripts/update-k8s-schemas.ts   (needs `go` and the Go module proxy; the output is committed)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const kubernetesVersion = 'v1.32.10';
const roots = ['io.k8s.api.core.v1.PodTemplateSpec'];
const output = new URL('../src/api/k8s/core-v1-schemas.json', import.meta.url);

const download = JSON.parse(
  execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${kubernetesVersion}`], {
    cwd: '/tmp',
    encoding: 'utf8',
  }),
) as { Dir: string };
const document = JSON.parse(
  readFileSync(join(download.Dir, 'api/openapi-spec/v3/api__v1_openapi.json'), 'utf8'),
) as { components: { schemas: Record<string, unknown> } };

const all = document.components.schemas;
const picked: Record<string, unknown> = {};
const pending = [...roots];
while (pending.length > 0) {
  const name = pending.pop()!;
  if (name in picked) continue;
  const schema = all[name];
  if (schema === undefined) throw new Error(`schema ${name} is not in the document`);
  picked[name] = schema;
  for (const match of JSON.stringify(schema).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) pending.push(match[1]!);
}
const sorted = Object.fromEntries(Object.keys(picked).sort().map((name) => [name, picked[name]]));
writeFileSync(
  output,
  JSON.stringify({ source: `k8s.io/kubernetes@${kubernetesVersion} api/openapi-spec/v3/api__v1_openapi.json`, schemas: sorted }, null, 1) + '\n',
);
console.log(`wrote ${Object.keys(sorted).length} schemas`);
