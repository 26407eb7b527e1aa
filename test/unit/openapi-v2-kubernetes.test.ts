// Kubernetes' own definitions in this server's /openapi/v2 are kube-apiserver's, byte for byte in meaning: compared
// with the swagger.json k8s.io/kubernetes v1.32.2 publishes (in the Go module cache, where the test control plane is
// built from). kube-aggregator merges identical definitions under one name; a differing one is renamed, and a oneOf
// (not Swagger 2.0) made kube-apiserver answer its whole aggregated /openapi/v2 with a 503.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { openApiV2 } from '../../src/server/openapi-document.js';
import { resources } from '../../src/resources/index.js';

const modCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
const kubeSpec = join(modCache, 'k8s.io', 'kubernetes@v1.32.2', 'api', 'openapi-spec', 'swagger.json');

it('every Kubernetes definition in /openapi/v2 equals kube-apiserver\'s, and the document has no oneOf or anyOf', () => {
  const kube = (JSON.parse(readFileSync(kubeSpec, 'utf8')) as { definitions: Record<string, unknown> }).definitions;
  const ours = openApiV2(resources.strategies) as { definitions: Record<string, unknown> };
  const names = Object.keys(ours.definitions).filter((name) => name.startsWith('io.k8s.'));
  assert.ok(names.includes('io.k8s.apimachinery.pkg.api.resource.Quantity'));
  for (const name of names) assert.deepEqual(ours.definitions[name], kube[name], name);
  assert.doesNotMatch(JSON.stringify(ours), /"(oneOf|anyOf)"/);
});
