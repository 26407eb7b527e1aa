// Startup of the server as built (node dist/main.js) against the development loader (node --import tsx src/main.ts):
// the time from spawning the process to the first 200 from /readyz (probed every 10 ms), and the process's RSS at
// that moment, in --standalone mode on a fresh SQLite file. Runs alternate between the two so that a change in the
// machine's load falls on both; medians of BENCH_ROUNDS (5) each. Builds dist/ first.
// Run: npm run bench:startup
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/etcd.js';
import { median, progress } from './objects.js';
import { loadNow, machine } from './report.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const rounds = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 5));
const startLoad = loadNow();

const variants = [
  { name: 'node dist/main.js', args: [join(repo, 'dist/main.js')] },
  { name: 'node --import tsx src/main.ts', args: ['--import', 'tsx', join(repo, 'src/main.ts')] },
];

progress('npm run build');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: 'inherit' });

const readyz = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });

/** One start: milliseconds from spawn to the first 200 from /readyz, and the RSS in MiB right then. */
async function start(args: string[]): Promise<{ ms: number; rssMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-startup-'));
  const port = await freePort();
  const output: string[] = [];
  const began = performance.now();
  const child = spawn(
    process.execPath,
    [...args, '--standalone', `--storage=sqlite:${join(dir, 'db')}`, `--secure-port=${port}`, '--bind-address=127.0.0.1'],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    while (!(await readyz(port))) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output.join('')}`);
      if (performance.now() - began > 120_000) throw new Error(`not ready after 120 s:\n${output.join('')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = performance.now() - began;
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return { ms, rssMiB: Number(rss?.[1]) / 1024 };
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = new Map(variants.map((v) => [v.name, [] as { ms: number; rssMiB: number }[]]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    const result = await start(variant.args);
    results.get(variant.name)!.push(result);
    progress(`round ${round + 1}/${rounds}, ${variant.name}: ${result.ms.toFixed(0)} ms, ${result.rssMiB.toFixed(0)} MiB`);
  }
}

const range = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const lines = [
  `From the run of ${machine(startLoad)}: --standalone on a fresh SQLite file, medians of ${rounds} starts each (alternating).`,
  '',
  '| command | spawn → /readyz 200, ms (lowest–highest) | RSS at ready, MiB (lowest–highest) |',
  '| --- | --- | --- |',
  ...variants.map(({ name }) => {
    const runs = results.get(name)!;
    const ms = runs.map((r) => r.ms);
    const rss = runs.map((r) => r.rssMiB);
    return `| \`${name}\` | ${median(ms).toFixed(0)} (${range(ms)}) | ${median(rss).toFixed(0)} (${range(rss)}) |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
