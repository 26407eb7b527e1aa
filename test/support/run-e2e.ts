// npm run test:e2e: runs the end-to-end suites with node:test and one shared control plane for the whole run
// (test/support/test-bed.ts), which it stops at the end whatever the outcome. Arguments go to node --test;
// files named among them replace the default of every test/e2e/*.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonAlive, daemonPidFile, runDirVariable } from './test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const files = args.filter((arg) => arg.endsWith('.test.ts'));
const options = args.filter((arg) => !arg.endsWith('.test.ts'));
const suites = files.length > 0 ? files : readdirSync(join(repo, 'test/e2e')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test/e2e', f));

const runDir = mkdtempSync(join(tmpdir(), 'ai-apiserver-e2e-run-'));
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=900000', ...options, ...suites], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, [runDirVariable]: runDir, AI_APISERVER_E2E_OWNER_PID: String(process.pid) },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
const code = await new Promise<number>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));

if (existsSync(join(runDir, daemonPidFile))) {
  const pid = Number(readFileSync(join(runDir, daemonPidFile), 'utf8'));
  process.stderr.write('# stopping the shared control plane\n');
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  const deadline = Date.now() + 60_000;
  while (daemonAlive(runDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // Its process group: the daemon and the control plane it started.
  if (daemonAlive(runDir)) process.kill(-pid, 'SIGKILL');
}
rmSync(runDir, { recursive: true, force: true });
process.exit(code);
