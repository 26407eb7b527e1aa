// The layering of src/, checked over its import graph: every import points down a layer (or stays in its own), no
// files import each other in a cycle, and every package imported is a declared dependency (a devDependency only for
// `import type`, which leaves no trace at run time; test/, bench/ and scripts/ may use either). A new folder under
// src/ fails here until it is given a place in the order.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

interface Layer {
  name: string;
  /** Folders (ending in '/') or files under src/ that belong to the layer; the longest match wins. */
  paths: string[];
  /** The layers directly below that it may import; what they may import it may too. Only earlier layers. */
  mayImport: string[];
  /** Bundled at build time (the dashboard, by scripts/build-dashboard.ts): its packages are devDependencies. */
  bundled?: boolean;
}

// Bottom first. Siblings that do not name each other may not import each other (storage and the field manager,
// kube and the registry), and nothing names the SDK: it is the public client, beside the server, not under it.
const layers: Layer[] = [
  { name: 'api/meta', paths: ['src/api/meta/'], mayImport: [] },
  { name: 'api/k8s', paths: ['src/api/k8s/'], mayImport: [] },
  { name: 'api/v1alpha1', paths: ['src/api/v1alpha1/'], mayImport: ['api/meta', 'api/k8s'] },
  { name: 'api/schema-validator', paths: ['src/api/schema-validator.ts'], mayImport: ['api/v1alpha1'] },
  { name: 'fieldmanager', paths: ['src/fieldmanager/'], mayImport: ['api/v1alpha1'] },
  { name: 'storage', paths: ['src/storage/'], mayImport: ['api/meta'] },
  { name: 'kube', paths: ['src/kube/'], mayImport: ['api/meta'] },
  { name: 'registry', paths: ['src/registry/'], mayImport: ['api/schema-validator', 'fieldmanager', 'storage'] },
  { name: 'auth', paths: ['src/auth/'], mayImport: ['api/meta', 'kube'] },
  { name: 'sdk', paths: ['src/sdk/'], mayImport: ['api/v1alpha1', 'kube'] },
  // The dashboard's page, run by the browser: it knows the API's types and nothing of the server.
  { name: 'dashboard', paths: ['src/dashboard/'], mayImport: ['api/v1alpha1'], bundled: true },
  // The dataset loader is a program of its own (the image's second entrypoint); the controller that runs it shares
  // only its contract (environment, mounts, exit codes, report).
  { name: 'loader/contract', paths: ['src/loader/contract.ts'], mayImport: [] },
  { name: 'loader', paths: ['src/loader/'], mayImport: ['loader/contract'] },
  { name: 'controllers', paths: ['src/controllers/'], mayImport: ['registry', 'kube', 'loader/contract'] },
  { name: 'server', paths: ['src/server/'], mayImport: ['registry', 'auth'] },
  // Webhooks, policies and quota: plugins the store calls through registry/admission.ts, built by main.
  { name: 'admission', paths: ['src/admission/'], mayImport: ['registry', 'auth', 'kube'] },
  // Above the server: a resource's definition names its connect handlers (notebooks/proxy, jobs/logs), which are the
  // server's; the layers below get definitions handed to them rather than importing the list.
  { name: 'resources', paths: ['src/resources/'], mayImport: ['server'] },
  { name: 'config', paths: ['src/config.ts'], mayImport: ['server'] },
  { name: 'security', paths: ['src/security.ts'], mayImport: ['config'] },
  { name: 'main', paths: ['src/main.ts'], mayImport: ['security', 'controllers', 'resources', 'admission'] },
  // kubectl-ai, a program of its own on the user's machine: a client of the API like the SDK, never of the server.
  { name: 'plugin', paths: ['src/plugin/'], mayImport: ['api/v1alpha1', 'kube'] },
];

interface Import {
  from: string;
  /** For a relative import the path it names from the repository's root (src/api/meta/types.ts), else the specifier. */
  to: string;
  relative: boolean;
  typeOnly: boolean;
}

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

function sourceFiles(dir = 'src'): string[] {
  return readdirSync(new URL(`${dir}/`, root), { recursive: true, encoding: 'utf8' })
    .map((file) => `${dir}/${file.split('\\').join('/')}`)
    .filter((file) => /\.tsx?$/.test(file) && !file.includes('/node_modules/'))
    .sort();
}

const parsed = new Map<string, Import[]>();

/** Every module a file names: import and export-from declarations, import(), and `import('x').T` in types. */
function importsOf(file: string): Import[] {
  const known = parsed.get(file);
  if (known) return known;
  const source = ts.createSourceFile(file, readFileSync(new URL(file, root), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean): void => {
    const relative = specifier.startsWith('.');
    found.push({ from: file, to: relative ? resolveRelative(file, specifier) : specifier, relative, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) add(expression.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      assert.ok(argument && ts.isStringLiteralLike(argument), `${file}: import() of a computed specifier cannot be checked`);
      add(argument.text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  parsed.set(file, found);
  return found;
}

/** '../api/meta/errors.js' from src/registry/store.ts is src/api/meta/errors.ts (NodeNext names the emitted .js). */
function resolveRelative(from: string, specifier: string): string {
  const joined = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [joined, joined.replace(/\.js$/, '.ts'), joined.replace(/\.js$/, '.tsx'), `${joined}.ts`, `${joined}/index.ts`];
  return candidates.find((path) => existsSync(new URL(path, root))) ?? joined;
}

function layerOf(path: string): Layer | undefined {
  let best: { layer: Layer; length: number } | undefined;
  for (const layer of layers) {
    for (const prefix of layer.paths) {
      const matches = prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix;
      if (matches && prefix.length > (best?.length ?? -1)) best = { layer, length: prefix.length };
    }
  }
  return best?.layer;
}

/** The layers a layer may import: its own, those it names, and everything they may import. */
function reachable(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const below of layers.find((layer) => layer.name === name)?.mayImport ?? []) reachable(below, seen);
  return seen;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const builtins = new Set(builtinModules);

/** Why an import breaks the layering or names an undeclared package; undefined when it does neither. */
function violation(edge: Import): string | undefined {
  const from = layerOf(edge.from);
  if (!from) return `${edge.from} belongs to no layer`;
  if (edge.relative) {
    if (!edge.to.startsWith('src/')) return `${edge.from} imports ${edge.to}, outside src/`;
    const to = layerOf(edge.to);
    if (!to) return `${edge.from} imports ${edge.to}, which belongs to no layer`;
    if (reachable(from.name).has(to.name)) return undefined;
    return `${edge.from} (${from.name}) imports ${edge.to} (${to.name}): ${from.name} may import only ${[...reachable(from.name)].join(', ')}`;
  }
  if (edge.to.startsWith('node:') || builtins.has(edge.to)) return undefined;
  const name = packageName(edge.to);
  if (name === pkg.name) return `${edge.from} imports its own package (${edge.to}) instead of a relative path`;
  if (Object.hasOwn(pkg.dependencies ?? {}, name)) return undefined;
  if (Object.hasOwn(pkg.devDependencies ?? {}, name)) {
    return edge.typeOnly || from.bundled ? undefined : `${edge.from} imports ${edge.to} at run time, but ${name} is only a devDependency`;
  }
  return `${edge.from} imports ${edge.to}, but ${name} is not declared in package.json's dependencies`;
}

describe('layers of src/', () => {
  it('are listed bottom first: a layer may import only layers listed before it', () => {
    const seen = new Set<string>();
    for (const layer of layers) {
      for (const below of layer.mayImport) assert.ok(seen.has(below), `${layer.name} may import ${below}, which is not listed before it`);
      assert.ok(!seen.has(layer.name), `${layer.name} is listed twice`);
      seen.add(layer.name);
    }
  });

  it('give every source file a layer', () => {
    const homeless = sourceFiles().filter((file) => !layerOf(file));
    assert.deepEqual(homeless, [], 'files under src/ outside every layer: add them to the order in this test');
  });

  it('are respected by every import in src/, and every package imported is a declared dependency', () => {
    const edges = sourceFiles().flatMap(importsOf);
    assert.ok(edges.length > 100, `only ${edges.length} imports found: the scan is not reading src/`);
    const problems = new Set(edges.map(violation).filter((problem) => problem !== undefined));
    assert.deepEqual([...problems], []);
  });

  it('have no import cycles between files, within a layer either', () => {
    const graph = new Map<string, string[]>();
    for (const file of sourceFiles()) graph.set(file, importsOf(file).filter((edge) => edge.relative).map((edge) => edge.to));
    const done = new Set<string>();
    const path: string[] = [];
    const cycles: string[] = [];
    const visit = (file: string): void => {
      const at = path.indexOf(file);
      if (at >= 0) {
        cycles.push([...path.slice(at), file].join(' → '));
        return;
      }
      if (done.has(file)) return;
      path.push(file);
      for (const next of graph.get(file) ?? []) visit(next);
      path.pop();
      done.add(file);
    };
    for (const file of graph.keys()) visit(file);
    assert.deepEqual(cycles, []);
  });

  // The rule itself, on imports that once existed or could: each must be refused, each allowed one accepted.
  const cases: { name: string; edge: Import; refused: boolean }[] = [
    { name: 'storage importing config', edge: { from: 'src/storage/open-storage.ts', to: 'src/config.ts', relative: true, typeOnly: true }, refused: true },
    { name: 'storage importing controllers', edge: { from: 'src/storage/sqlite/single-replica-lease.ts', to: 'src/controllers/runtime/leader-election.ts', relative: true, typeOnly: false }, refused: true },
    { name: 'the field manager importing the registry', edge: { from: 'src/fieldmanager/field-manager.ts', to: 'src/registry/store.ts', relative: true, typeOnly: false }, refused: true },
    { name: 'kube importing the SDK', edge: { from: 'src/kube/pod-logs.ts', to: 'src/sdk/index.ts', relative: true, typeOnly: false }, refused: true },
    { name: 'the SDK importing the registry', edge: { from: 'src/sdk/resource.ts', to: 'src/registry/store.ts', relative: true, typeOnly: true }, refused: true },
    { name: 'storage importing the field manager, a sibling', edge: { from: 'src/storage/watch-cache.ts', to: 'src/fieldmanager/field-manager.ts', relative: true, typeOnly: false }, refused: true },
    { name: 'a package that is not declared', edge: { from: 'src/storage/etcd/etcd-storage.ts', to: 'not-a-declared-package', relative: false, typeOnly: false }, refused: true },
    { name: 'a devDependency at run time', edge: { from: 'src/server/app.ts', to: 'ws', relative: false, typeOnly: false }, refused: true },
    { name: 'src/ importing from outside it', edge: { from: 'src/server/app.ts', to: 'test/support/cluster.ts', relative: true, typeOnly: false }, refused: true },
    { name: 'a file in no layer', edge: { from: 'src/unplaced/x.ts', to: 'src/api/meta/types.ts', relative: true, typeOnly: false }, refused: true },
    { name: 'the server importing API errors from far below', edge: { from: 'src/server/app.ts', to: 'src/api/meta/errors.ts', relative: true, typeOnly: false }, refused: false },
    { name: 'a devDependency for types only', edge: { from: 'src/controllers/notebook.ts', to: 'kubernetes-types/core/v1.js', relative: false, typeOnly: true }, refused: false },
    { name: 'a scoped dependency', edge: { from: 'src/kube/transport.ts', to: '@kubernetes/client-node', relative: false, typeOnly: false }, refused: false },
    { name: 'a subpath of a dependency', edge: { from: 'src/storage/etcd/etcd-storage.ts', to: 'etcd3/lib/rpc.js', relative: false, typeOnly: true }, refused: false },
    { name: 'a Node builtin', edge: { from: 'src/storage/sqlite/sqlite-storage.ts', to: 'node:fs', relative: false, typeOnly: false }, refused: false },
  ];
  for (const { name, edge, refused } of cases) {
    it(`${name} is ${refused ? 'refused' : 'allowed'}`, () => {
      assert.equal(violation(edge) !== undefined, refused, violation(edge) ?? `${edge.from} → ${edge.to} was allowed`);
    });
  }
});

describe('packages imported by test/, bench/ and scripts/', () => {
  it('are declared in package.json, as dependencies or devDependencies', () => {
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    const undeclared = ['test', 'bench', 'scripts']
      .flatMap((dir) => sourceFiles(dir).flatMap(importsOf))
      .filter(({ to, relative }) => !relative && !to.startsWith('node:') && !builtins.has(to))
      .filter(({ to }) => packageName(to) !== pkg.name && !Object.hasOwn(declared, packageName(to)))
      .map(({ from, to }) => `${from} imports ${to}`);
    assert.deepEqual(undeclared, []);
  });
});
