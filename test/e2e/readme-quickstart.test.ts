// The README's quick start as written, in a fresh clone in a clean temporary folder: its run command installs and
// starts the server with nothing but Node and npm (no etcd), and the kubectl line after it works. The README's test
// command is the one .ci/run runs on its own fresh clone, so this suite does not run it again inside itself.
//
// The quick start serves on the fixed port 8443, which anything else on the machine may hold; so the server and
// every kubectl line run in a private network namespace (unshare --net, which needs root) where only this test's
// loopback exists. The run command's install step (`npm ci`, everything before `&& npm run local`) needs the
// package registry, which that namespace cannot reach: it runs first, as written, in the same clone on the host's
// network, and `npm run local` then runs in the namespace. Nearly all of this test's time is that install compiling
// better-sqlite3 where its prebuilt binary cannot be downloaded.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const startCommand = 'npm run local';

/** The shell blocks of the README's "The two commands" section, in order. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('## The two commands');
  assert.ok(start >= 0, 'README has no "The two commands" section');
  const section = readme.slice(start, readme.indexOf('\n### ', start));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd, env, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface PrivateNetwork {
  /** The argv that runs a shell command inside the namespace. */
  shell(command: string): string[];
  close(): Promise<void>;
}

/**
 * A network namespace with only a loopback interface, held open by a process that lives until close() (or until
 * this process dies and closes its stdin). Commands enter it with nsenter.
 */
async function privateNetwork(): Promise<PrivateNetwork> {
  const holder = spawn('unshare', ['--net', 'bash', '-c', 'ip link set lo up && echo up && exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const up = await new Promise<boolean>((resolve) => {
    holder.stdout.once('data', () => resolve(true));
    holder.once('error', (error) => {
      stderr += error.message;
      resolve(false);
    });
    holder.once('exit', () => resolve(false));
  });
  if (!up) {
    assert.fail(
      'the quick start serves on port 8443, and this test runs it in a private network namespace so that nothing else ' +
        `can hold that port; \`unshare --net\` failed (it needs root or CAP_SYS_ADMIN, and iproute2's ip): ${stderr.trim()}`,
    );
  }
  const namespace = `/proc/${holder.pid}/ns/net`;
  return {
    shell: (command) => ['nsenter', `--net=${namespace}`, 'bash', '-c', command],
    close: async () => {
      if (holder.exitCode !== null || holder.signalCode !== null) return;
      const exited = new Promise((resolve) => holder.once('exit', resolve));
      holder.stdin.end();
      await exited;
    },
  };
}

it('in a fresh clone, the README\'s run command serves the API and its kubectl line works', { timeout: 15 * 60_000 }, async () => {
  const blocks = quickStartBlocks();
  const runIndex = blocks.findIndex((block) => block.endsWith(` && ${startCommand}`));
  assert.ok(runIndex >= 0, `no run command ending in "&& ${startCommand}" in the quick start: ${JSON.stringify(blocks)}`);
  const installCommand = blocks[runIndex]!.slice(0, -` && ${startCommand}`.length);
  const kubectlLine = blocks[runIndex + 1] ?? '';
  assert.ok(kubectlLine.startsWith('kubectl '), `the README line after the run command is not a kubectl command: ${kubectlLine}`);

  const network = await privateNetwork();
  const folder = mkdtempSync(join(tmpdir(), 'ai-apiserver-fresh-'));
  const clone = join(folder, 'ai-apiserver');
  // The machine's npm configuration stays (it says where Node's headers are for compiling better-sqlite3);
  // kubectl reads only the kubeconfig the README names.
  const env = { ...process.env, KUBECONFIG: '' };
  let server: ChildProcess | undefined;
  let output = '';
  try {
    const cloned = await run(['git', 'clone', '--quiet', repo, clone], folder, env);
    assert.equal(cloned.code, 0, cloned.stderr);
    const installStarted = Date.now();
    const installed = await run(['bash', '-c', installCommand], clone, env, 12 * 60_000);
    assert.equal(installed.code, 0, `${installCommand} failed:\n${installed.stderr.slice(-4000)}`);
    process.stderr.write(`# ${installCommand}: ${((Date.now() - installStarted) / 1000).toFixed(1)} s\n`);

    // Its own process group, so the whole command (bash, npm, the server) stops together, by its PID.
    const [command, ...args] = network.shell(startCommand);
    server = spawn(command!, args, { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 2 * 60_000;
    let last = { code: -1, stdout: '', stderr: '' };
    for (;;) {
      if (server.exitCode !== null) assert.fail(`${startCommand} exited with ${server.exitCode}:\n${output.slice(-4000)}`);
      last = await run(network.shell(kubectlLine), clone, env);
      if (last.code === 0) break;
      if (Date.now() > deadline) assert.fail(`kubectl never succeeded within 2 minutes: ${last.stderr}\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const kinds = last.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(kinds, ['datasets', 'jobs', 'notebooks']);
    const examples = await run(
      network.shell('kubectl --kubeconfig ./kubeconfig apply -f examples/ && kubectl --kubeconfig ./kubeconfig get ai -o name'),
      clone,
      env,
    );
    assert.equal(examples.code, 0, examples.stderr);
    assert.match(examples.stdout, /notebook\.ai\.example\.io\/demo/);
    assert.match(output, /sqlite/, 'the quick start did not use the embedded store');
  } finally {
    if (server?.pid !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    await network.close();
    rmSync(folder, { recursive: true, force: true });
  }
});
