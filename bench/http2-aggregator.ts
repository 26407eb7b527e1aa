// Two builds of this server behind the same kube-apiserver, in one run: an older checkout (HTTP/1.1 only, so
// kube-apiserver's proxy opens a connection per watch and per concurrent request) and this one (h2 by ALPN, so it
// multiplexes them). Measures only what the protocol touches, as bench/crd-comparison.ts measures it through the
// aggregator: GET one at a time (p50, p99) and watch delivery delay at 100 and 1,000 watchers (p50, p99). Each round
// runs both builds one after the other on the registered port, in alternating order; rows are medians over rounds,
// and the ratio is this build ÷ the old one (below 1: faster).
// Run: npm run bench:http2 -- --before /path/to/earlier/checkout   (a checkout of the HTTP/1.1-only code with its
// node_modules; BENCH_REPEATS rounds, 5; BENCH_QUICK=1: 2 rounds, 5 and 20 watchers, 50 GETs)
import { spawn, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request, type Dispatcher } from 'undici';
import { LocalCluster, users } from '../test/support/cluster.js';
import { benchNotebook, median, percentile, progress, recordArrivals } from './objects.js';
import { loadNow, machine } from './report.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const beforeAt = process.argv.indexOf('--before');
const oldDir = beforeAt > 0 ? process.argv[beforeAt + 1] : undefined;
if (!oldDir) throw new Error('usage: npm run bench:http2 -- --before /path/to/earlier/checkout');
const quick = process.env.BENCH_QUICK === '1';
const repeats = Number(process.env.BENCH_REPEATS ?? (quick ? 2 : 5));
const sizes = quick ? { gets: 50, watchers: [5, 20], watchWrites: 5, objects: 20 } : { gets: 500, watchers: [100, 1_000], watchWrites: 50, objects: 200 };
const group = 'ai.example.io';
const getNs = 'h2-bench-get';
const watchNs = 'h2-bench-watch';
const collection = (namespace: string): string => `/apis/${group}/v1alpha1/namespaces/${namespace}/notebooks`;

type Build = 'old' | 'new';
const builds: Record<Build, string> = { old: oldDir, new: repo };

interface Client {
  origin: string;
  dispatcher: Agent;
  /** As crd-comparison's: watches multiplexed on HTTP/2 connections to kube-apiserver, `watchesPerConnection` each. */
  watchDispatchers: Agent[];
}

const watchesPerConnection = 100;

async function call(client: Client, method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await request(`${client.origin}${path}`, {
    method,
    dispatcher: client.dispatcher,
    headers: { authorization: `Bearer ${users.admin.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function ok(client: Client, method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<string> {
  const res = await call(client, method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.text;
}

/** Starts `build` on the registered port, as cluster.ts starts the server, and waits until the aggregator routes to it. */
async function startBuild(cluster: LocalCluster, build: Build, client: Client): Promise<ChildProcess> {
  // This tree offers h2 only when asked (--enable-http2-serving); the older checkout has no such flag.
  const args = [
    ...cluster.serverCommand(cluster.serverPort).map((a) => (a === join(repo, 'src/main.ts') ? join(builds[build], 'src/main.ts') : a)),
    ...(build === 'new' ? ['--enable-http2-serving'] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: builds[build], stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-3000)));
  await cluster.waitAvailable(true, 180_000);
  const deadline = Date.now() + 120_000;
  while ((await call(client, 'GET', collection(getNs)).catch(() => ({ status: 0 }))).status !== 200) {
    if (child.exitCode !== null) throw new Error(`${build} server exited: ${errors}`);
    if (Date.now() > deadline) throw new Error(`${build} server not reachable through kube-apiserver: ${errors}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return child;
}

async function stopBuild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function measureGets(client: Client): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < sizes.gets; i++) {
    const t = performance.now();
    await ok(client, 'GET', `${collection(getNs)}/nb-${(i * 7919) % sizes.objects}`);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

/** As crd-comparison's watchRound: `watchers` watches, then creates 20 ms apart; each delivery's delay from the create's answer. */
async function watchRound(client: Client, watchers: number, prefix: string): Promise<number[]> {
  const listed = JSON.parse(await ok(client, 'GET', collection(watchNs))) as { metadata: { resourceVersion: string } };
  const arrivals: number[][] = [];
  const controller = new AbortController();
  setMaxListeners(watchers + 10, controller.signal);
  const streams = await Promise.all(
    Array.from({ length: watchers }, async (_, w) => {
      const seen: number[] = (arrivals[w] = []);
      const res = await request(`${client.origin}${collection(watchNs)}?watch=true&resourceVersion=${listed.metadata.resourceVersion}`, {
        dispatcher: client.watchDispatchers[Math.floor(w / watchesPerConnection)]!,
        headers: { authorization: `Bearer ${users.admin.token}`, accept: 'application/json' },
        signal: controller.signal,
      });
      if (res.statusCode !== 200) throw new Error(`watch: ${res.statusCode}`);
      return { done: recordArrivals(res.body, seen) };
    }),
  );
  const acks: number[] = [];
  for (let i = 0; i < sizes.watchWrites; i++) {
    await ok(client, 'POST', collection(watchNs), benchNotebook(`${prefix}-${i}`, i));
    acks[i] = performance.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = Date.now() + 60_000;
  while (arrivals.some((seen) => seen.filter((t) => t !== undefined).length < sizes.watchWrites) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  controller.abort();
  await Promise.all(streams.map((s) => s.done));
  const delays: number[] = [];
  for (const seen of arrivals) {
    for (let i = 0; i < sizes.watchWrites; i++) {
      if (seen[i] === undefined) throw new Error(`watch event ${i} never arrived at a watcher`);
      delays.push(Math.max(0, seen[i]! - acks[i]!));
    }
  }
  await ok(client, 'DELETE', collection(watchNs));
  return delays;
}


/** Each row's figure per round, per build. */
const rows = new Map<string, Record<Build, number[]>>();
function note(row: string, build: Build, value: number): void {
  const entry = rows.get(row) ?? { old: [], new: [] };
  entry[build].push(value);
  rows.set(row, entry);
}

async function main(): Promise<void> {
  const startLoad = loadNow();
  const cluster = new LocalCluster((line) => progress(`cluster: ${line}`));
  cluster.serverArgs = ['--no-controllers'];
  let client: Client | undefined;
  let server: ChildProcess | undefined;
  try {
    await cluster.startControlPlane();
    // As crd-comparison's clients of kube-apiserver (and client-go): h2 offered, requests multiplexed.
    const agent = (): Agent => new Agent({ allowH2: true, connections: 128, connect: { ca: cluster.caPem }, keepAliveTimeout: 60_000 });
    client = {
      origin: cluster.apiserverUrl,
      dispatcher: agent(),
      watchDispatchers: Array.from({ length: Math.ceil(Math.max(...sizes.watchers) / watchesPerConnection) }, agent),
    };
    for (const ns of [getNs, watchNs]) await cluster.ok('admin', ['create', 'namespace', ns]);
    for (let r = 0; r < repeats; r++) {
      const order: Build[] = r % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
      for (const build of order) {
        progress(`round ${r + 1}/${repeats}: ${build} build`);
        server = await startBuild(cluster, build, client);
        if (r === 0 && build === order[0]) {
          for (let i = 0; i < sizes.objects; i++) await ok(client, 'POST', collection(getNs), benchNotebook(`nb-${i}`, i));
        }
        // Warm: connections, the authorizer's cache, the JIT.
        for (let i = 0; i < 50; i++) await ok(client, 'GET', `${collection(getNs)}/nb-${i % sizes.objects}`);
        const gets = await measureGets(client);
        note('GET one at a time, p50', build, percentile(gets, 0.5));
        note('GET one at a time, p99', build, percentile(gets, 0.99));
        for (const watchers of sizes.watchers) {
          const delays = await watchRound(client, watchers, `w${watchers}-${build}-${r}`);
          note(`watch delay, ${watchers.toLocaleString('en-US')} watchers, p50`, build, percentile(delays, 0.5));
          note(`watch delay, ${watchers.toLocaleString('en-US')} watchers, p99`, build, percentile(delays, 0.99));
        }
        await stopBuild(server);
        server = undefined;
      }
    }
    const ms = (x: number): string => `${x.toFixed(2)} ms`;
    const lines = [
      `Through kube-apiserver's aggregator (its clients offer h2, ${watchesPerConnection} watches to a connection); ` +
        `old = ${oldDir} (HTTP/1.1 only), new = ${repo} (h2 and http/1.1 by ALPN).`,
      `Medians of ${repeats} rounds, builds alternating within each round; ratio = new ÷ old (below 1: faster). ${machine(startLoad)}`,
      '',
      '| row | old | new | new ÷ old | rounds old | rounds new |',
      '| --- | --- | --- | --- | --- | --- |',
      ...[...rows].map(([row, v]) =>
        `| ${row} | ${ms(median(v.old))} | ${ms(median(v.new))} | ${(median(v.new) / median(v.old)).toFixed(2)} | ${v.old.map((x) => x.toFixed(1)).join(', ')} | ${v.new.map((x) => x.toFixed(1)).join(', ')} |`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (server) await stopBuild(server);
    for (const a of client ? [client.dispatcher, ...client.watchDispatchers] : []) await a.destroy().catch(() => undefined);
    await cluster.stop();
  }
}

await main();
