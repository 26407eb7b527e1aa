// One user's flood against everyone else: BENCH_LISTS (2,000) concurrent LISTs of BENCH_OBJECTS (1,000) stored
// notebooks from user alice, sent from a separate process, while user bob GETs one notebook in a loop and an
// unauthenticated client polls /readyz. Prints, per round and as medians: bob's GET p50/p99, /readyz p50/p99, how
// the LISTs ended (200, 429), and the server's RSS growth (peak VmRSS during the round over VmRSS before the first
// round, sampled every 10 ms from /proc, over the peak of an idle window before the first round) and VmHWM. The server
// runs with its default limits (400/200 seats, APF on, 60 s request timeout). Writes README.md's bench:overload block.
// Run: npm run bench:overload   (BENCH_LISTS, BENCH_OBJECTS, BENCH_ROUNDS, BENCH_BACKEND=sqlite|etcd, and
// BENCH_SERVER_ARGS for server flags, e.g. "--max-requests-inflight=0 --max-mutating-requests-inflight=0" for none;
// with any of them, or BENCH_QUICK=1 for a tiny run, the block goes to a temporary copy of README.md)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { startServer } from '../test/support/server.js';
import { benchNotebook, httpsClient, median, percentile, pool, progress } from './objects.js';
import { idleRss, loadNow, machine, outputs, replaceBlock } from './report.js';

interface FloodOrder {
  url: string;
  token: string;
  path: string;
  count: number;
}

interface FloodResult {
  codes: Record<string, number>;
  seconds: number;
}

/** One LIST whose body is read and dropped: 2,000 bodies of megabytes kept would exhaust the flood's own heap. */
function drain(order: FloodOrder, agent: Agent): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${order.url}${order.path}`, { agent, headers: { Authorization: `Bearer ${order.token}` } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end();
  });
}

/** The flood, in its own process so that decrypting 2,000 responses does not delay the probes' clocks. */
async function flood(order: FloodOrder): Promise<FloodResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity, rejectUnauthorized: false });
  const codes: Record<string, number> = Object.create(null);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: order.count }, async () => {
      const code = await drain(order, agent);
      codes[code] = (codes[code] ?? 0) + 1;
    }),
  );
  return { codes, seconds: (performance.now() - started) / 1000 };
}

function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

/** Calls `probe` back to back until `stop` resolves, returning each call's milliseconds. */
async function probeUntil(stop: Promise<unknown>, probe: () => Promise<unknown>): Promise<number[]> {
  let done = false;
  void stop.then(() => (done = true));
  const times: number[] = [];
  while (!done) {
    const started = performance.now();
    await probe();
    times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  return times;
}

async function main(): Promise<void> {
  const out = outputs(['BENCH_LISTS', 'BENCH_OBJECTS', 'BENCH_ROUNDS', 'BENCH_BACKEND', 'BENCH_SERVER_ARGS']);
  const startLoad = loadNow();
  const lists = Number(process.env.BENCH_LISTS ?? (out.quick ? 100 : 2_000));
  const objects = Number(process.env.BENCH_OBJECTS ?? (out.quick ? 100 : 1_000));
  const rounds = Number(process.env.BENCH_ROUNDS ?? (out.quick ? 1 : 3));
  const backend = process.env.BENCH_BACKEND === 'etcd' ? 'etcd' : 'sqlite';
  const server = await startServer({ backend, extraArgs: (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean) });
  const pid = server.child.pid!;
  const agent = (): Agent => new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const admin = httpsClient(server.url, server.token, new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false }));
  const bob = httpsClient(server.url, server.tenants.bob, agent());
  const probe = httpsClient(server.url, undefined, agent());
  const base = '/apis/ai.example.io/v1alpha1/namespaces/bench/notebooks';
  try {
    progress(`creating ${objects} notebooks on ${backend}`);
    await pool(objects, 64, async (i) => {
      const res = await admin(base, { method: 'POST', body: JSON.stringify(benchNotebook(`nb-${i}`, i)) });
      if (res.status !== 201) throw new Error(`create: ${res.status} ${res.body}`);
    });
    const listBytes = (await admin(base)).body.length;
    const getOne = async (): Promise<void> => {
      const res = await bob(`${base}/nb-7`);
      if (res.status !== 200) throw new Error(`bob's GET: ${res.status} ${res.body}`);
    };
    const readyz = async (): Promise<void> => {
      const res = await probe('/readyz');
      if (res.status !== 200) throw new Error(`/readyz: ${res.status} ${res.body}`);
    };
    const idleGet: number[] = [];
    const idleReadyz: number[] = [];
    for (let i = 0; i < 50; i++) {
      let t = performance.now();
      await getOne();
      idleGet.push(performance.now() - t);
      t = performance.now();
      await readyz();
      idleReadyz.push(performance.now() - t);
    }

    // Growth is measured from the server's RSS before the first flood: memory a round took and kept counts.
    progress('sampling idle RSS');
    const rssBefore = (await idleRss([pid])).peakMiB[0]! * 1024;
    const rows: Array<Record<string, number>> = [];
    for (let round = 1; round <= rounds; round++) {
      progress(`round ${round}/${rounds}: ${lists} concurrent LISTs of ${objects} notebooks (${(listBytes / 1024 / 1024).toFixed(1)} MiB each)`);
      let rssPeak = memoryKiB(pid, 'VmRSS');
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, memoryKiB(pid, 'VmRSS'))), 10);
      const child = fork(fileURLToPath(import.meta.url), ['flood'], { execArgv: ['--import', 'tsx'] });
      const result = new Promise<FloodResult>((resolve, reject) => {
        child.once('message', (m) => resolve(m as FloodResult));
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`the flood process exited with ${code}`)));
      });
      child.send({ url: server.url, token: server.tenants.alice, path: base, count: lists } satisfies FloodOrder);
      const [flooded, gets, probes] = await Promise.all([result, probeUntil(result, getOne), probeUntil(result, readyz)]);
      clearInterval(sampler);
      child.kill();
      rows.push({
        round,
        'bob GET p50 ms': median(gets),
        'bob GET p99 ms': percentile(gets, 0.99),
        'bob GET max ms': Math.max(...gets),
        'readyz p50 ms': median(probes),
        'readyz p99 ms': percentile(probes, 0.99),
        'LIST 200': flooded.codes['200'] ?? 0,
        'LIST 429': flooded.codes['429'] ?? 0,
        'LIST other': Object.entries(flooded.codes).reduce((n, [code, count]) => (code === '200' || code === '429' ? n : n + count), 0),
        'flood s': flooded.seconds,
        'RSS growth MiB': (rssPeak - rssBefore) / 1024,
        'VmHWM MiB': memoryKiB(pid, 'VmHWM') / 1024,
      });
    }
    const round1 = (n: number): number => Math.round(n * 10) / 10;
    const medianRow: Record<string, number | string> = { round: 'median' };
    for (const key of Object.keys(rows[0]!).filter((k) => k !== 'round')) medianRow[key] = median(rows.map((r) => r[key]!));
    console.log(`idle: bob GET p50 ${round1(median(idleGet))} ms, /readyz p50 ${round1(median(idleReadyz))} ms; LIST body ${(listBytes / 1024 / 1024).toFixed(2)} MiB`);
    console.table([...rows, medianRow].map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round1(v) : v]))));
    const worst = { get: Math.max(...rows.map((r) => r['bob GET p99 ms']!)), readyz: Math.max(...rows.map((r) => r['readyz p99 ms']!)), rss: Math.max(...rows.map((r) => r['RSS growth MiB']!)) };
    console.log(
      `targets: bob GET p99 ≤ 1000 ms (worst round ${round1(worst.get)}), /readyz p99 ≤ 1000 ms (${round1(worst.readyz)}), RSS growth ≤ 256 MiB (${round1(worst.rss)})`,
    );
    const of = (key: string): number[] => rows.map((r) => r[key]!);
    const span = (key: string, show: (n: number) => string): string => {
      const [lo, hi] = [Math.min(...of(key)), Math.max(...of(key))];
      return show(lo) === show(hi) ? show(lo) : `${show(lo)}–${show(hi)}`;
    };
    const msText = (n: number): string => `${round1(n)} ms`;
    const whole = (n: number): string => Math.round(n).toLocaleString('en-US');
    const mib = (n: number): string => `${Math.round(n)} MiB`;
    const line = (measure: string, key: string, show: (n: number) => string, target?: { most: number; text: string }): string => {
      const verdict = target === undefined ? '' : `${target.text}: ${Math.max(...of(key)) <= target.most ? 'met' : '**missed**'}`;
      return `| ${measure} | ${show(median(of(key)))} | ${span(key, show)} | ${verdict} |`;
    };
    replaceBlock(out.readme, 'bench:overload', [
      `From the run of ${machine(startLoad)}. Each round: ${whole(lists)} concurrent LISTs of ${whole(objects)} notebooks ` +
        `(${(listBytes / 1024 / 1024).toFixed(1)} MiB each) from alice, sent by a process of its own, while bob GETs one ` +
        'notebook back to back and an unauthenticated client polls `/readyz`. Idle, before the first round: bob\'s GET ' +
        `p50 ${msText(median(idleGet))}, \`/readyz\` p50 ${msText(median(idleReadyz))}. RSS growth is the server's peak ` +
        'VmRSS during the round (sampled every 10 ms) over the peak of an idle window sampled before the first round.',
      '',
      `| per round | ${rounds === 1 ? 'a single round' : `median of ${rounds} rounds`} | lowest–highest round | target (every round) |`,
      '| --- | --- | --- | --- |',
      line("bob's GET p99", 'bob GET p99 ms', msText, { most: 1_000, text: '≤ 1 s' }),
      line('`/readyz` p99', 'readyz p99 ms', msText, { most: 1_000, text: '≤ 1 s' }),
      line('LISTs served (200)', 'LIST 200', whole),
      line('LISTs refused (429)', 'LIST 429', whole),
      line('LISTs that failed otherwise', 'LIST other', whole),
      line('RSS growth', 'RSS growth MiB', mib, { most: 256, text: '≤ 256 MiB' }),
    ]);
  } finally {
    await server.stop();
  }
}

if (process.argv[2] === 'flood') {
  process.once('message', (order) => {
    void flood(order as FloodOrder).then((result) => process.send!(result, () => process.exit(0)));
  });
} else {
  await main();
}
