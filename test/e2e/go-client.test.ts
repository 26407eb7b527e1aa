// The generated Go client (clients/go) for real: its generated code is what the script makes today, it passes
// go vet, and a program written against it (test/e2e/goclient) does CRUD, UpdateStatus, scale and Apply through
// kube-apiserver, sees every object through a shared informer's lister, and reports the server's own words for a
// refused create.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const ns = 'goclient';
let cluster: LocalCluster;

const bed = testBed({
  name: 'go-client',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
});
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

describe('the generated Go client', () => {
  it('generated code is up to date and passes go vet', async () => {
    await run('bash', [join(repo, 'clients/go/hack/update-codegen.sh'), '--verify'], { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    await run('go', ['vet', './...'], { cwd: join(repo, 'clients/go'), timeout: 600_000 });
  });

  it('a client-go program: CRUD, UpdateStatus, scale, Apply, a lister that sees every object, the server\'s refusal', async () => {
    const binary = join(cluster.dir, 'goclient');
    await run('go', ['build', '-o', binary, '.'], { cwd: join(repo, 'test/e2e/goclient'), timeout: 600_000 });
    const { stdout } = await run(binary, [cluster.kubeconfig('admin'), ns], { timeout: 300_000 }).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`the Go program failed: ${error.stderr ?? ''}${error.stdout ?? ''}`);
    });
    assert.match(stdout, /\nok\n$/);
    const bad = {
      apiVersion: 'ai.example.io/v1alpha1',
      kind: 'Notebook',
      metadata: { name: 'go-bad', labels: { app: 'go-client' } },
      spec: { template: { metadata: {}, spec: { containers: [{ name: 'main', image: 'jupyter/base-notebook', resources: {} }] } }, idle: { timeoutSeconds: 5 } },
      status: {},
    };
    const raw = await cluster.request('admin', 'POST', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks?dryRun=All`, JSON.stringify(bad), { 'content-type': 'application/json' });
    assert.equal(raw.status, 422, raw.body);
    assert.equal(/^refused: (.*)$/m.exec(stdout)?.[1], JSON.parse(raw.body).message);
  });
});
