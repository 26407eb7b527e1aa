// The image as a cluster would run it: npm run image builds it (reusing the cached Debian root filesystem, Node and
// modules), skopeo and umoci unpack it into a runc bundle, and runc runs the server from the image's own root
// filesystem — read-only, as uid 65532 with no capabilities, on the host network — behind the test control plane,
// with its certificate and kubeconfig mounted as a Secret would be and its SQLite store on a volume. Nothing of this
// machine's node or node_modules is visible to it, so everything it needs must be in the image.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, beforeEach, describe, it } from 'node:test';
import { loaderExit } from '../../src/loader/contract.js';
import type { LocalCluster } from '../support/cluster.js';
import { until } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const nonroot = 65532;

const bed = testBed({ name: 'image', namespaces: ['image'] });
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));

const work = mkdtempSync(join(tmpdir(), 'ai-apiserver-image-'));
const containers: string[] = [];
after(async () => {
  for (const id of containers) await run('runc', ['delete', '--force', id]).catch(() => undefined);
  await bed.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Mount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

interface RuntimeConfig {
  root: { path: string; readonly?: boolean };
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    capabilities?: Record<string, string[]>;
  };
  mounts: Mount[];
  linux: { namespaces: { type: string }[] };
}

/** The image built and unpacked once: the runtime configuration umoci derived from the image's own config. */
let unpacked: Promise<{ bundle: string; config: RuntimeConfig }> | undefined;
function image(): Promise<{ bundle: string; config: RuntimeConfig }> {
  unpacked ??= (async () => {
    const archive = join(work, 'ai-apiserver.tar');
    await new Promise<void>((resolve, reject) => {
      // The build's progress goes to this test's output: the first build on a machine takes minutes.
      const build = spawn('bash', [join(repo, 'scripts/build-image.sh'), archive], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
      build.once('error', reject);
      build.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/build-image.sh exited with ${code}`))));
    });
    const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
    await run('skopeo', ['copy', '--quiet', `oci-archive:${archive}`, `oci:${join(work, 'oci')}:${version}`]);
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--image', `${join(work, 'oci')}:${version}`, bundle]);
    return { bundle, config: JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeConfig };
  })();
  return unpacked;
}

/**
 * A bundle running the image's root filesystem read-only with `args` after the image's entrypoint (or instead of
 * it), the image's user and no capabilities, in the host's network namespace, with `mounts` added.
 */
function bundleFor(name: string, base: { bundle: string; config: RuntimeConfig }, command: { args: string[]; env?: string[] }, mounts: Mount[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const config: RuntimeConfig = structuredClone(base.config);
  config.root = { path: join(base.bundle, 'rootfs'), readonly: true };
  config.process.terminal = false;
  config.process.args = command.args;
  config.process.env = [...config.process.env, ...(command.env ?? [])];
  config.process.capabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== 'network');
  // Name resolution as the kubelet gives a pod: the node's resolver files, mounted over the image's.
  config.mounts = [...config.mounts, ...['/etc/hosts', '/etc/resolv.conf'].map((file) => bind(file, file, true)), ...mounts];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const bind = (source: string, destination: string, readonly: boolean): Mount => ({
  destination,
  type: 'bind',
  source,
  options: ['rbind', readonly ? 'ro' : 'rw', 'nosuid', 'nodev'],
});
const volume = (destination: string): Mount => ({
  destination,
  type: 'tmpfs',
  source: 'tmpfs',
  options: ['nosuid', 'nodev', 'mode=0700', `uid=${nonroot}`, `gid=${nonroot}`],
});

/** `runc run` of a bundle in the foreground: the container's output and its exit code. */
function runContainer(id: string, bundle: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  containers.push(id);
  const child = spawn('runc', ['run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => chunks.join(''), exited };
}

describe('the OCI image', () => {
  it('serves through kube-apiserver from its own root filesystem, read-only, as uid 65532, and stops on SIGTERM to PID 1', async () => {
    const built = await image();
    assert.equal(built.config.process.user.uid, nonroot, 'the image runs as uid 65532');
    assert.deepEqual(built.config.process.args, ['/usr/local/bin/node', '/app/dist/main.js'], 'the entrypoint is the server');

    // What a Deployment mounts from a Secret, readable by the server's user only.
    const secrets = join(work, 'secrets');
    mkdirSync(secrets);
    const port = cluster.serverPort;
    const flag = (name: string): string => {
      const value = cluster.serverCommand(port).find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
      if (!value) throw new Error(`the suite's server has no --${name}`);
      return value;
    };
    for (const [from, to] of [[flag('tls-cert-file'), 'tls.crt'], [flag('tls-private-key-file'), 'tls.key'], [flag('kubeconfig'), 'kubeconfig']] as const) {
      copyFileSync(from, join(secrets, to));
      chownSync(join(secrets, to), nonroot, nonroot);
    }
    const bundle = bundleFor(
      'server',
      built,
      {
        args: [
          ...built.config.process.args,
          '--storage=sqlite:/var/lib/ai-apiserver/ai-apiserver.db',
          `--secure-port=${port}`,
          '--bind-address=127.0.0.1',
          '--tls-cert-file=/etc/ai-apiserver/tls.crt',
          '--tls-private-key-file=/etc/ai-apiserver/tls.key',
          '--kubeconfig=/etc/ai-apiserver/kubeconfig',
        ],
      },
      [bind(secrets, '/etc/ai-apiserver', true), volume('/var/lib/ai-apiserver')],
    );

    // The suite's own server (run from the sources) gives the registered port to the image's.
    await cluster.stopServer();
    const id = `ai-apiserver-image-${process.pid}`;
    const server = runContainer(id, bundle);
    let exitCode: number | null | undefined;
    void server.exited.then((code) => (exitCode = code));
    await until(
      async () => {
        if (exitCode !== undefined) throw new Error(`the server in the image exited with ${exitCode}:\n${server.output()}`);
        return (await cluster.direct('/readyz', {}).catch(() => undefined))?.status === 200;
      },
      () => `/readyz of the server in the image:\n${server.output()}`,
      120_000,
      { everyMs: 500 },
    );
    const { stdout: state } = await run('runc', ['state', id]);
    const status = readFileSync(`/proc/${(JSON.parse(state) as { pid: number }).pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\t${nonroot}\\t${nonroot}\\t${nonroot}\\t${nonroot}$`, 'm'));
    assert.match(status, /^CapEff:\t0+$/m);

    await cluster.waitAvailable(true, 120_000);
    await until(
      async () => (await cluster.kubectl('admin', ['get', '--raw', '/openapi/v3/apis/ai.example.io/v1alpha1'])).code === 0,
      () => 'the aggregated OpenAPI',
      120_000,
      { everyMs: 500 },
    );
    await until(async () => (await cluster.kubectl('admin', ['apply', '-n', 'image', '-f', '-'], notebookYaml('from-image'))).code === 0, () => 'a create through kube-apiserver', 120_000, { everyMs: 500 });
    assert.match(await cluster.ok('admin', ['get', 'notebooks', '-n', 'image', '-o', 'name']), /^notebook\.ai\.example\.io\/from-image$/m);
    // An apply body over 64 KiB is read by the YAML worker thread, a file of its own in dist/.
    const large = notebookYaml('large-apply', { metadata: `  annotations:\n    example.io/padding: "${'x'.repeat(80 * 1024)}"\n` });
    await cluster.ok('admin', ['apply', '--server-side', '-n', 'image', '-f', '-'], large);
    assert.equal((await cluster.ok('admin', ['get', 'ainb', 'large-apply', '-n', 'image', '-o', 'jsonpath={.metadata.annotations.example\\.io/padding}'])).length, 80 * 1024);

    await run('runc', ['kill', id, 'TERM']);
    const code = await server.exited;
    assert.equal(code, 0, server.output());
    assert.match(server.output(), /"signal":"SIGTERM","msg":"shutting down/);
    assert.match(server.output(), /"msg":"stopped"/);
  });

  it('runs the dataset loader as its second entrypoint, which fails on a bad source with the reason in its termination message', async () => {
    const built = await image();
    const termination = join(work, 'termination-log');
    writeFileSync(termination, '');
    chownSync(termination, nonroot, nonroot);
    const source = 'ftp://example.invalid/data';
    const bundle = bundleFor('loader', built, { args: ['ai-dataset-loader'], env: [`SOURCE_URI=${source}`] }, [
      volume('/data'),
      bind(termination, '/dev/termination-log', false),
    ]);
    const loader = runContainer(`ai-dataset-loader-image-${process.pid}`, bundle);
    const code = await loader.exited;
    assert.equal(code, loaderExit.permanent, loader.output());
    const message = readFileSync(termination, 'utf8');
    assert.ok(message.startsWith(`${source}: `), message);
    assert.match(loader.output(), /"msg":"load failed"/);
  });

  it('has kubectl-ai on PATH, which loads its modules from the image and fails as kubectl does, and the dashboard beside it', async () => {
    const built = await image();
    // A kubeconfig naming a context it does not have: the plugin reads it and stops before any network.
    const kubeconfig = join(work, 'plugin.kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    chownSync(kubeconfig, nonroot, nonroot);
    const bundle = bundleFor('plugin', built, { args: ['kubectl-ai', 'status', '--context', 'nowhere'], env: ['KUBECONFIG=/kubeconfig'] }, [bind(kubeconfig, '/kubeconfig', true)]);
    const plugin = runContainer(`kubectl-ai-image-${process.pid}`, bundle);
    assert.equal(await plugin.exited, 1, plugin.output());
    assert.equal(plugin.output(), 'Error in configuration: context was not found for specified context: nowhere\n');
    // kubectl ai dashboard's page, where the compiled plugin looks for it.
    for (const file of ['index.html', 'app.js', 'app.css']) assert.ok(existsSync(join(built.bundle, 'rootfs/app/dist/dashboard', file)), `${file} of the dashboard in the image`);
  });
});
