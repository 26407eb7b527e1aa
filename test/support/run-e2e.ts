// npm run test:e2e: runs the end-to-end suites with node:test and one shared control plane for the whole run
// (test/support/test-bed.ts), which it stops at the end whatever the outcome. Arguments go to node --test;
// files named among them replace the default of every test/e2e/*.test.ts.
//
// The suites behind the control plane take turns (their servers serve on the one port the APIService names); the
// suites that start only their own servers run at the same time, in a second node --test whose report is printed
// when both are done. Most of either stream's time is spent waiting (on kube's controllers, on npm, on a fuzzer),
// so two streams on two cores take much less than the sum.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonAlive, daemonPidFile, runDirVariable } from './test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const files = args.filter((arg) => arg.endsWith('.test.ts'));
const options = args.filter((arg) => !arg.endsWith('.test.ts'));
const suites = files.length > 0 ? files : readdirSync(join(repo, 'test/e2e')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test/e2e', f));
const needsControlPlane = (file: string): boolean => /from '\.\.\/support\/test-bed\.js'/.test(readFileSync(join(repo, file), 'utf8'));
const behindControlPlane = suites.filter(needsControlPlane);
const onTheirOwn = suites.filter((file) => !behindControlPlane.includes(file));

const runDir = mkdtempSync(join(tmpdir(), 'ai-apiserver-e2e-run-'));
const env = { ...process.env, [runDirVariable]: runDir, AI_APISERVER_E2E_OWNER_PID: String(process.pid) };
const nodeTest = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=900000', ...options];

// node:test bounds each test, not a suite's process: one that passed and then never exited (it happened, a handle
// Node kept through its exit cleanup) held the run, and CI, until CI's own limit. Past this the run stops and fails.
const deadlineMinutes = Number(process.env.AI_APISERVER_E2E_DEADLINE_MINUTES ?? 60);
let pastDeadline = false;

/** One node --test over `files`; its report goes to this process's output, or to `reportFile` to be shown later. */
function stream(files: string[], reportFile?: string): Promise<number> {
  if (files.length === 0) return Promise.resolve(0);
  // In a process group of its own, with the suites' processes it starts, so that the deadline can end them all.
  const child = spawn(process.execPath, [...nodeTest, ...files], { cwd: repo, env, detached: true, stdio: reportFile ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group has already gone.
    }
  };
  const deadline = setTimeout(() => {
    pastDeadline = true;
    process.stderr.write(`# the e2e run passed its deadline of ${deadlineMinutes} minutes (AI_APISERVER_E2E_DEADLINE_MINUTES) with ${files.join(' ')} still running: stopped\n`);
    signalGroup('SIGKILL');
  }, deadlineMinutes * 60_000);
  const report = reportFile ? createWriteStream(reportFile) : undefined;
  if (report) {
    child.stdout?.pipe(report, { end: false });
    child.stderr?.pipe(report, { end: false });
  }
  // A terminal's Ctrl-C reaches this process's group only: passed on to the stream's.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => signalGroup(signal));
  // 'close' comes after the child's output has been read to the end; the report is then complete once flushed.
  return new Promise<number>((resolve) =>
    child.once('close', (exitCode, signal) => {
      clearTimeout(deadline);
      const code = exitCode ?? (signal ? 1 : 0);
      if (report) report.end(() => resolve(code));
      else resolve(code);
    }),
  );
}

const laterReport = join(runDir, 'suites-on-their-own.tap');
process.stderr.write(`# ${behindControlPlane.length} suites behind the shared control plane, in turn, reported now; ${onTheirOwn.length} on their own servers at the same time, reported after\n`);
const [first, second] = await Promise.all([stream(behindControlPlane), stream(onTheirOwn, laterReport)]);
if (onTheirOwn.length > 0) {
  process.stdout.write(`\n# the suites on their own servers: ${onTheirOwn.join(' ')}\n`);
  process.stdout.write(readFileSync(laterReport, 'utf8'));
}
const code = first || second || (pastDeadline ? 1 : 0);

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
