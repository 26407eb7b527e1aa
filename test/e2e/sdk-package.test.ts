// The SDK as a user gets it: `npm pack` of clients/typescript, installed with npm into a fresh project in a temporary
// folder (its dependencies from the package registry, as any install takes them; from npm's cache when there), a
// program type-checked by that project's own tsc (--strict, NodeNext) against the declarations in the tarball, then
// run by plain node against a real server: create, get, update, delete, a watch and an informer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { lazyServer, type ServerProcess } from '../support/server.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const rootPackage = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'ai-sdk-package-'));
const consumer = join(dir, 'consumer');
const ns = 'sdk-package';

function run(argv: string[], cwd: string, timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function ok(argv: string[], cwd: string): Promise<string> {
  const res = await run(argv, cwd);
  assert.equal(res.code, 0, `${argv.join(' ')} failed (${res.code}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

// What a user writes: every name comes from the package's own declarations, nothing is cast.
const program = `import { KubeConfig } from '@kubernetes/client-node';
import { AiClient, Informer, StatusError, type Notebook, type WatchEvent } from 'ai-apiserver-sdk';

const [kubeconfig, namespace] = process.argv.slice(2);
if (!kubeconfig || !namespace) throw new Error('usage: node main.js KUBECONFIG NAMESPACE');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const ai = AiClient.fromKubeConfig(kc);
const say = (step: string, value: unknown): void => console.log(JSON.stringify({ step, value }));

const notebook = (name: string): Notebook => ({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Notebook',
  metadata: { name, labels: { app: 'consumer' } },
  spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter/base-notebook' }] } } },
});

const informer = new Informer(ai.notebooks, namespace, { labelSelector: 'app=consumer' });
const added = new Promise<string>((resolve) => informer.on('add', (nb) => resolve(nb.metadata.name ?? '')));
const removed = new Promise<string>((resolve) => informer.on('delete', (nb) => resolve(nb.metadata.name ?? '')));
await informer.start();

// From the state before the create, so that the watch reports the create as ADDED whenever its list would have run.
const before = await ai.notebooks.list(namespace);
const watching = new AbortController();
const seen: string[] = [];
const watched = (async () => {
  const events = ai.notebooks.watch(namespace, { labelSelector: 'app=consumer', resourceVersion: before.metadata.resourceVersion ?? '', signal: watching.signal });
  for await (const event of events) {
    const e: WatchEvent<Notebook> = event;
    seen.push(\`\${e.type} \${e.object.metadata.name} \${e.object.spec.stopped === true}\`);
    if (e.type === 'DELETED') return;
  }
})();

const created = await ai.notebooks.create(namespace, notebook('lab'));
say('created', { name: created.metadata.name, generation: created.metadata.generation, uid: typeof created.metadata.uid });
const got = await ai.notebooks.get(namespace, 'lab');
say('got', got.metadata.uid === created.metadata.uid);
const updated = await ai.notebooks.update({ ...got, spec: { ...got.spec, stopped: true } });
say('updated', { stopped: updated.spec.stopped, generation: updated.metadata.generation });
say('informer', { added: await added });
await ai.notebooks.delete(namespace, 'lab');
try {
  await ai.notebooks.get(namespace, 'lab');
  say('deleted', 'still there');
} catch (error) {
  if (!(error instanceof StatusError)) throw error;
  say('deleted', { code: error.code, reason: error.reason });
}
await watched;
watching.abort();
say('watched', seen);
say('informer removed', await removed);
await informer.stop();
say('cached', informer.list().length);
`;

// A wrong call the declarations must refuse: were they any, tsc would let it through.
const wrong = `import { AiClient } from 'ai-apiserver-sdk';
declare const ai: AiClient;
await ai.notebooks.get('team-a', 42);
`;

let server: ServerProcess;
const lazy = lazyServer({ backend: 'sqlite', extraArgs: ['--no-controllers'] });
after(async () => {
  await lazy.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SDK package in a fresh project', () => {
  let files: string[] = [];
  before(async () => {
    const packed = JSON.parse(await ok(['npm', 'pack', './clients/typescript', '--pack-destination', dir, '--json'], repo)) as { filename: string; version: string; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path).sort();
    assert.equal(packed[0]!.version, rootPackage.version, 'the SDK is versioned with the server and its API');
    mkdirSync(join(consumer, 'src'), { recursive: true });
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { 'ai-apiserver-sdk': `file:../${packed[0]!.filename}`, '@kubernetes/client-node': rootPackage.dependencies['@kubernetes/client-node'] },
      // @types/ws: @kubernetes/client-node's own declarations import ws's and do not depend on them.
      devDependencies: Object.fromEntries(['typescript', '@types/node', '@types/ws'].map((name) => [name, rootPackage.devDependencies[name]])),
    }, null, 2));
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], rootDir: 'src', outDir: 'dist' },
      include: ['src'],
    }, null, 2));
    writeFileSync(join(consumer, 'src/main.ts'), program);
    await ok(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund'], consumer);
  });

  it('the tarball holds compiled JavaScript and declarations only: no TypeScript source, no server, no tests', () => {
    assert.ok(files.includes('package.json') && files.includes('dist/sdk/index.js') && files.includes('dist/sdk/index.d.ts'), files.join('\n'));
    for (const file of files) {
      assert.match(file, /^(package\.json|README\.md|dist\/(sdk|kube|api\/meta|api\/v1alpha1)\/[a-z0-9-]+\.(js|d\.ts))$/, file);
    }
    // The transport and the types it needs, nothing else of the server's layers.
    const shipped = new Set(files.filter((f) => f.startsWith('dist/')).map((f) => f.replace(/^dist\//, '').replace(/\.(d\.ts|js)$/, '')));
    assert.deepEqual([...shipped].sort(), ['api/meta/types', 'api/v1alpha1/types', 'kube/status-error', 'kube/transport', 'sdk/clients', 'sdk/index', 'sdk/informer', 'sdk/resource']);
  });

  it('the program type-checks with tsc --strict on NodeNext, and a wrong call does not', async () => {
    await ok(['node', join(consumer, 'node_modules/typescript/bin/tsc'), '-p', '.'], consumer);
    writeFileSync(join(consumer, 'wrong.ts'), wrong);
    const refused = await run(['node', join(consumer, 'node_modules/typescript/bin/tsc'), '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--noEmit', 'wrong.ts'], consumer);
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(refused.stdout, /wrong\.ts\(3,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/);
  });

  it('plain node runs it against the server: create, get, update, delete, a watch and an informer', async () => {
    server = await lazy.ready();
    const out = await ok(['node', 'dist/main.js', server.kubeconfig, ns], consumer);
    const steps = Object.fromEntries(out.trim().split('\n').map((line) => {
      const { step, value } = JSON.parse(line) as { step: string; value: unknown };
      return [step, value];
    }));
    assert.deepEqual(steps, {
      created: { name: 'lab', generation: 1, uid: 'string' },
      got: true,
      updated: { stopped: true, generation: 2 },
      informer: { added: 'lab' },
      deleted: { code: 404, reason: 'NotFound' },
      'informer removed': 'lab',
      watched: ['ADDED lab false', 'MODIFIED lab true', 'DELETED lab true'],
      cached: 0,
    });
  });
});
