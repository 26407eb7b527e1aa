// The README's quick start as written, in a fresh clone in a clean temporary folder: its run command installs and
// starts the server with nothing but Node and npm (no etcd), and the kubectl line after it works. The README's test
// command is the one .ci/run runs on its own fresh clone, so this suite does not run it again inside itself.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The shell blocks of the README's "The two commands" section, in order. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const start = readme.indexOf('## The two commands');
  assert.ok(start >= 0, 'README has no "The two commands" section');
  const section = readme.slice(start, readme.indexOf('\n### ', start));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function run(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

it('in a fresh clone, the README\'s run command serves the API and its kubectl line works', { timeout: 15 * 60_000 }, async () => {
  const blocks = quickStartBlocks();
  const runIndex = blocks.findIndex((block) => block.includes('npm run local'));
  assert.ok(runIndex >= 0, 'no run command in the quick start');
  const runCommand = blocks[runIndex]!;
  const kubectlLine = blocks[runIndex + 1] ?? '';
  assert.ok(kubectlLine.startsWith('kubectl '), `the README line after the run command is not a kubectl command: ${kubectlLine}`);
  assert.ok(await portFree(8443), 'port 8443 is in use: the quick start serves there');

  const folder = mkdtempSync(join(tmpdir(), 'ai-apiserver-fresh-'));
  const clone = join(folder, 'ai-apiserver');
  // The machine's npm configuration stays (it says where Node's headers are for compiling better-sqlite3);
  // kubectl reads only the kubeconfig the README names.
  const env = { ...process.env, KUBECONFIG: '' };
  let server: ChildProcess | undefined;
  let output = '';
  try {
    execFileSync('git', ['clone', '--quiet', repo, clone]);
    // Its own process group, so the whole command (bash, npm, the server) stops together, by its PID.
    server = spawn('bash', ['-c', runCommand], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 12 * 60_000;
    let last = { code: -1, stdout: '', stderr: '' };
    for (;;) {
      if (server.exitCode !== null) assert.fail(`the run command exited with ${server.exitCode}:\n${output.slice(-4000)}`);
      last = await run(kubectlLine, clone, env);
      if (last.code === 0) break;
      if (Date.now() > deadline) assert.fail(`kubectl never succeeded: ${last.stderr}\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const kinds = last.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(kinds, ['datasets', 'jobs', 'notebooks']);
    const examples = await run('kubectl --kubeconfig ./kubeconfig apply -f examples/ && kubectl --kubeconfig ./kubeconfig get ai -o name', clone, env);
    assert.equal(examples.code, 0, examples.stderr);
    assert.match(examples.stdout, /notebook\.ai\.example\.io\/demo/);
    assert.match(output, /sqlite/, 'the quick start did not use the embedded store');
  } finally {
    if (server?.pid !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    rmSync(folder, { recursive: true, force: true });
  }
});
