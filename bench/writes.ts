// CPU per write of this tree's server against another tree's, measured in the same run: two server processes
// (--workers=1, each on its own etcd) take turns, slice after slice, at 64 requests in flight, so a machine whose
// load comes and goes weighs on both alike. Each slice's figure is the CPU its server process used (proc(5)) divided
// by the requests it answered; the medians of both and their ratio are printed, per kind of write: creates (the
// benchmark's write row) and merge patches of one label on those objects.
// Run: npm run bench:writes -- --before /path/to/earlier/checkout   (with its node_modules; BENCH_SLICES slices per
// server and kind, 12 by default, of BENCH_SLICE requests, 1,000 by default)
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { startServer, type ServerProcess } from '../test/support/server.js';
import { benchNotebook, httpsClient, median, pool, progress, type HttpsCall } from './objects.js';

const beforeAt = process.argv.indexOf('--before');
const baseline = beforeAt > 0 ? process.argv[beforeAt + 1] : undefined;
if (!baseline) throw new Error('usage: bench/writes.ts --before <checkout of the earlier code, with node_modules>');
const slices = Number(process.env.BENCH_SLICES ?? 12);
const slice = Number(process.env.BENCH_SLICE ?? 1_000);
const inFlight = 64;
const warmUp = 1_000;
const base = '/apis/ai.example.io/v1alpha1/namespaces/bench/notebooks';

/** The CPU time a process has used, user and system, in ms (proc(5): utime and stime, in clock ticks of 1/100 s). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Arm {
  name: string;
  server: ServerProcess;
  agent: Agent;
  call: HttpsCall;
  created: number;
  perRequestUs: { create: number[]; patch: number[] };
}

async function startArm(name: string, repoDir: string | undefined): Promise<Arm> {
  const server = await startServer({ extraArgs: ['--workers=1', '--log-level=warn'], ...(repoDir ? { repoDir } : {}) });
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight, rejectUnauthorized: false });
  return { name, server, agent, call: httpsClient(server.url, server.token, agent), created: 0, perRequestUs: { create: [], patch: [] } };
}

const nameOf = (i: number): string => `nb-${String(i).padStart(6, '0')}`;

async function creates(arm: Arm, count: number): Promise<void> {
  const first = arm.created;
  arm.created += count;
  await pool(count, inFlight, async (i) => {
    const answer = await arm.call(base, { method: 'POST', body: JSON.stringify(benchNotebook(nameOf(first + i), first + i)) });
    if (answer.status !== 201) throw new Error(`${arm.name} create: ${answer.status} ${answer.body.slice(0, 300)}`);
  });
}

async function patches(arm: Arm, count: number, round: number): Promise<void> {
  await pool(count, inFlight, async (i) => {
    const body = JSON.stringify({ metadata: { labels: { round: String(round) } } });
    const answer = await arm.call(`${base}/${nameOf(i % arm.created)}`, { method: 'PATCH', body, contentType: 'application/merge-patch+json' });
    if (answer.status !== 200) throw new Error(`${arm.name} patch: ${answer.status} ${answer.body.slice(0, 300)}`);
  });
}

async function measured(arm: Arm, kind: 'create' | 'patch', run: () => Promise<void>): Promise<void> {
  const pid = arm.server.child.pid!;
  const before = cpuMs(pid);
  await run();
  arm.perRequestUs[kind].push(((cpuMs(pid) - before) * 1000) / slice);
}

const arms: Arm[] = [];
try {
  arms.push(await startArm('this tree', undefined), await startArm(`before (${baseline})`, baseline));
  for (const arm of arms) {
    progress(`${arm.name}: warming up, ${warmUp} creates`);
    await creates(arm, warmUp);
  }
  for (let round = 0; round < slices; round++) {
    // Who goes first alternates, so neither always follows the other's garbage collection or etcd compaction.
    const order = round % 2 === 0 ? arms : [...arms].reverse();
    for (const arm of order) {
      progress(`round ${round + 1} of ${slices}: ${arm.name}, ${slice} creates then ${slice} merge patches`);
      await measured(arm, 'create', () => creates(arm, slice));
      await measured(arm, 'patch', () => patches(arm, slice, round));
    }
  }
  const [ours, theirs] = arms as [Arm, Arm];
  const lines = [
    `# CPU per write: this tree against ${baseline}`,
    '',
    `${slices} slices of ${slice.toLocaleString('en-US')} requests per server and kind, ${inFlight} in flight, servers taking turns ` +
      `(one process each, --workers=1, own etcd; Node ${process.version}). µs of the server process's CPU per request, median of the slices.`,
    '',
    '| write | this tree | before | ratio | this tree, each slice | before, each slice |',
    '| --- | --- | --- | --- | --- | --- |',
    ...(['create', 'patch'] as const).map((kind) => {
      const a = median(ours.perRequestUs[kind]);
      const b = median(theirs.perRequestUs[kind]);
      const each = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
      return `| ${kind} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(a / b).toFixed(2)} | ${each(ours.perRequestUs[kind])} | ${each(theirs.perRequestUs[kind])} |`;
    }),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const arm of arms) {
    arm.agent.destroy();
    await arm.server.stop();
  }
}
