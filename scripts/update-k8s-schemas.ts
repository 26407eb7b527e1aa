// Extracts Kubernetes' own schemas we build on (core/v1 PodTemplateSpec, autoscaling/v1 Scale, the metav1 list,
// status, delete and watch shapes) and everything they reference, from the OpenAPI v3 documents published in the
// Go module k8s.io/kubernetes, so spec.template is validated against the real thing and our OpenAPI reuses the
// canonical definitions.
// Run: npx tsx scripts/update-k8s-schemas.ts   (needs `go` and the Go module proxy; the output is committed)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const kubernetesVersion = 'v1.32.2';
const sources: Record<string, string[]> = {
  'api__v1_openapi.json': [
    'io.k8s.api.core.v1.PodTemplateSpec',
    'io.k8s.api.autoscaling.v1.Scale',
    'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta',
    'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
    'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
    'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent',
    'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
  ],
};
const output = new URL('../src/api/k8s/kubernetes-schemas.json', import.meta.url);

const download = JSON.parse(
  execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${kubernetesVersion}`], {
    cwd: '/tmp',
    encoding: 'utf8',
  }),
) as { Dir: string };
const picked: Record<string, unknown> = {};
for (const [file, roots] of Object.entries(sources)) {
  const document = JSON.parse(readFileSync(join(download.Dir, 'api/openapi-spec/v3', file), 'utf8')) as {
    components: { schemas: Record<string, unknown> };
  };
  const all = document.components.schemas;
  const pending = [...roots];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name in picked) continue;
    const schema = all[name];
    if (schema === undefined) throw new Error(`schema ${name} is not in ${file}`);
    picked[name] = schema;
    for (const match of JSON.stringify(schema).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) pending.push(match[1]!);
  }
}
const sorted = Object.fromEntries(Object.keys(picked).sort().map((name) => [name, picked[name]]));
writeFileSync(
  output,
  JSON.stringify({ source: `k8s.io/kubernetes@${kubernetesVersion} api/openapi-spec/v3`, schemas: sorted }, null, 1) + '\n',
);
console.log(`wrote ${Object.keys(sorted).length} schemas`);
