// Where a benchmark writes what it measured, and how it words a ratio: every figure in README.md's benchmark
// paragraphs and in bench/RESULTS.md is written through here by the run that measured it, never typed by hand.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress } from './objects.js';

const repoReadme = fileURLToPath(new URL('../README.md', import.meta.url));
const repoResults = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

export interface Outputs {
  /** BENCH_QUICK=1: tiny counts, one or two rounds, to check the whole run and what it writes. */
  quick: boolean;
  readme: string;
  results: string;
}

/**
 * The committed README.md and bench/RESULTS.md for a run at the stated sizes; copies in a fresh temporary directory
 * for a quick run or one with any of `knobs` set, so that a run at other sizes never overwrites the figures.
 */
export function outputs(knobs: string[]): Outputs {
  const quick = process.env.BENCH_QUICK === '1';
  const changed = knobs.filter((k) => process.env[k] !== undefined);
  if (!quick && changed.length === 0) return { quick, readme: repoReadme, results: repoResults };
  const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-bench-'));
  const readme = join(dir, 'README.md');
  const results = join(dir, 'RESULTS.md');
  copyFileSync(repoReadme, readme);
  copyFileSync(repoResults, results);
  progress(`${quick ? 'BENCH_QUICK=1' : changed.join(', ')} set: writing to copies in ${dir}, not to the repository's files`);
  return { quick, readme, results };
}

/** Replaces what lies between `<!-- name start -->` and `<!-- name end -->` in `file`; fails when they are missing. */
export function replaceBlock(file: string, name: string, lines: string[]): void {
  const start = `<!-- ${name} start -->`;
  const end = `<!-- ${name} end -->`;
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0) throw new Error(`${file} has no ${start} … ${end} block to write into`);
  const generated = [`<!-- written by the benchmark from the run it describes: edits here are overwritten -->`, ...lines];
  writeFileSync(file, `${text.slice(0, from + start.length)}\n${generated.join('\n')}\n${text.slice(to)}`);
  progress(`wrote the ${name} block of ${file}`);
}

/** When and on what a run measured, with the load average so that a reader can tell whether the machine was quiet. */
export function machine(startLoad: number): string {
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  return (
    `${when} UTC on ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}; ` +
    `1-minute load average ${startLoad.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`
  );
}

export const loadNow = (): number => loadavg()[0]!;

/** A factor as the text states it: two decimals below 2 (1.36×), one above (2.7×), whole from 10. */
export function factor(x: number): string {
  return x >= 10 ? x.toFixed(0) : x.toFixed(x >= 2 ? 1 : 2);
}

/** A ratio as the table prints it: two decimals, or one significant digit below 0.01, which two decimals show as 0. */
export const ratioText = (r: number): string => (r >= 0.01 ? r.toFixed(2) : r.toPrecision(1));

const spread = (xs: number[], show: (x: number) => string): string => {
  const lo = show(Math.min(...xs));
  const hi = show(Math.max(...xs));
  return lo === hi ? lo : `${lo}–${hi}`;
};

/**
 * `ratio` is ours ÷ theirs for a time (lower is better): 0.25 is "4.0× faster", 1.48 is "1.48× slower". For memory
 * the words are "less"/"more"; for a rate (higher is better) the ratio is stated as a share of theirs.
 */
export function compare(ratios: number[], kind: 'time' | 'memory' | 'rate'): string {
  if (kind === 'rate') return `${spread(ratios, (r) => r.toFixed(2))}× the CRD's rate`;
  const [better, worse] = kind === 'time' ? ['faster', 'slower'] : ['less', 'more'];
  const below = ratios.filter((r) => r < 1);
  const above = ratios.filter((r) => r > 1);
  const parts: string[] = [];
  if (below.length > 0) parts.push(`${spread(below.map((r) => 1 / r), factor)}× ${better}`);
  if (above.length > 0) parts.push(`${spread(above, factor)}× ${worse}`);
  if (ratios.some((r) => r === 1)) parts.push('the same');
  return parts.join(' / ');
}

export interface RssWindow {
  /** The highest VmRSS of each process, in MiB, over the whole window. */
  peakMiB: number[];
  /** The highest VmRSS of each process over the last 3 s, where it settled (or over what was sampled at the deadline). */
  settledMiB: number[];
  samples: number;
  seconds: number;
}

/** A process and its descendants (proc(5): each thread's `children`), e.g. a --workers primary and its workers. */
function processTree(pid: number): number[] {
  const tree = [pid];
  const childrenOf = (member: number): number[] => {
    try {
      return readdirSync(`/proc/${member}/task`).flatMap((task) =>
        readFileSync(`/proc/${member}/task/${task}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number),
      );
    } catch {
      // The process or one of its threads ended while the tree was read.
      return [];
    }
  };
  for (let i = 0; i < tree.length; i++) tree.push(...childrenOf(tree[i]!));
  return tree;
}

/** The VmRSS of a process and every process under it, summed: a server of several workers is all of them. */
function rssMiB(pid: number): number {
  let kib = 0;
  for (const member of processTree(pid)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${member}/status`, 'utf8');
    } catch {
      if (member === pid) throw new Error(`no process ${pid}`);
      continue;
    }
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (!match) throw new Error(`no VmRSS for process ${member}`);
    kib += Number(match[1]);
  }
  return kib / 1024;
}

/**
 * Samples the processes' VmRSS every 100 ms from now until `stop()` and then until it settles (the last 3 s within
 * 2 MiB or 1 %, whichever is more, for every process; at most 60 s more), and gives each one's peak. A reading once
 * after a fixed sleep would miss a peak during the load and catch a garbage collector halfway.
 */
export function sampleRss(pids: number[]): { stop(): Promise<RssWindow> } {
  const started = performance.now();
  const history: number[][] = pids.map(() => []);
  const take = (): void => pids.forEach((pid, i) => history[i]!.push(rssMiB(pid)));
  take();
  const timer = setInterval(take, 100);
  const settledWindow = 30;
  const settled = (): boolean =>
    history.every((xs) => {
      if (xs.length < settledWindow) return false;
      const last = xs.slice(-settledWindow);
      return Math.max(...last) - Math.min(...last) <= Math.max(2, Math.max(...last) * 0.01);
    });
  return {
    async stop(): Promise<RssWindow> {
      const loadEnded = history[0]!.length;
      const deadline = performance.now() + 60_000;
      while ((history[0]!.length - loadEnded < settledWindow || !settled()) && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      clearInterval(timer);
      return {
        peakMiB: history.map((xs) => Math.max(...xs)),
        settledMiB: history.map((xs) => Math.max(...xs.slice(-settledWindow))),
        samples: history[0]!.length,
        seconds: (performance.now() - started) / 1000,
      };
    },
  };
}

/** MemAvailable of /proc/meminfo, in MiB: what the machine can still hand out without swapping. */
export function memAvailableMiB(): number {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!match) throw new Error('no MemAvailable in /proc/meminfo');
  return Number(match[1]) / 1024;
}

/** The peak over a window of no load, sampled as under load: the baseline a growth is measured from. */
export async function idleRss(pids: number[]): Promise<RssWindow> {
  return sampleRss(pids).stop();
}
