// This server side by side with what users would run instead: a CustomResourceDefinition served by kube-apiserver.
// One run, one machine, one local control plane (test/support/cluster.ts), the same ~2 KiB notebooks, three paths:
//   crd        — CRDs generated from this project's schemas (src/api/v1alpha1/crd.ts), group bench.example.io
//   aggregated — this server through kube-apiserver's aggregator
//   direct     — this server, straight (with the front proxy's certificate, as kube-apiserver calls it)
// Both stores are etcd 3.6 on loopback; the server runs without its controllers. Prints one table with the ratios
// (this server ÷ CRD) and writes the whole of bench/RESULTS.md and README.md's bench:summary block from it.
// Run: npm run bench   (BENCH_REPEATS rounds, 5; BENCH_QUICK=1 checks the whole run in a minute or two with tiny
// counts and two rounds, writing to copies of both files in a temporary directory)
import { setMaxListeners } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import pino from 'pino';
import { EtcdStorage } from '../src/storage/etcd/etcd-storage.js';
import { LocalCluster, users } from '../test/support/cluster.js';
import { etcdBinary, etcdVersion } from '../test/support/etcd.js';
import { benchNotebook, median, percentile, pool, progress } from './objects.js';
import { idleRss, loadNow, machine, outputs, replaceBlock, sampleRss } from './report.js';
import { summaryBlock, summaryLines } from './summary.js';

const crdGroup = 'bench.example.io';
const out = outputs(['BENCH_REPEATS']);
const repeats = Number(process.env.BENCH_REPEATS ?? (out.quick ? 2 : 5));
const sizes = out.quick
  ? { warm: 20, small: 50, large: 200, mutations: 20, gets: 20, watchers: [5, 20], watchWrites: 5, etcdPuts: 200 }
  : { warm: 200, small: 1_000, large: 10_000, mutations: 500, gets: 500, watchers: [100, 1_000], watchWrites: 50, etcdPuts: 2_000 };
// Each round's creates at 64 in flight are the objects its updates and patches then change.
const createLevels = [
  { inFlight: 1, count: out.quick ? 10 : 100 },
  { inFlight: 16, count: out.quick ? 20 : 500 },
  { inFlight: 64, count: out.quick ? sizes.mutations : 1_000 },
];
const count = (n: number): string => n.toLocaleString('en-US');

type TargetName = 'crd' | 'aggregated' | 'direct';

interface Target {
  name: TargetName;
  origin: string;
  group: string;
  headers: Record<string, string>;
  dispatcher: Agent;
  /** Opens long watch streams: a pool of its own, so watches never hold the request connections. */
  watchDispatcher: Agent;
}

interface Reply {
  status: number;
  text: string;
}

const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

async function call(target: Target, method: Dispatcher.HttpMethod, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(`${target.origin}${path}`, {
    method,
    dispatcher: target.dispatcher,
    headers: {
      ...target.headers,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

async function expectOk(target: Target, method: Dispatcher.HttpMethod, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply> {
  const reply = await call(target, method, path, body, headers);
  if (reply.status >= 300) throw new Error(`${target.name} ${method} ${path}: ${reply.status} ${reply.text.slice(0, 300)}`);
  return reply;
}

const collection = (target: Target, namespace?: string): string =>
  `/apis/${target.group}/v1alpha1${namespace ? `/namespaces/${namespace}` : ''}/notebooks`;
const notebookFor = (target: Target, name: string, seq: number) => benchNotebook(name, seq, `${target.group}/v1alpha1`);

/**
 * Creates `count` notebooks `prefix-<i>` with `inFlight` at a time; returns the rate, each request's latency
 * and the created objects.
 */
async function createMany(target: Target, namespace: string, prefix: string, count: number, inFlight: number) {
  const latencies: number[] = [];
  const created: Record<string, unknown>[] = [];
  const started = performance.now();
  await pool(count, inFlight, async (i) => {
    const t = performance.now();
    const reply = await expectOk(target, 'POST', collection(target, namespace), notebookFor(target, `${prefix}-${i}`, i));
    latencies.push(performance.now() - t);
    created.push(JSON.parse(reply.text) as Record<string, unknown>);
  });
  return { rate: (count / (performance.now() - started)) * 1000, latencies, created };
}

/** A row of the results: each path's figure in every round, and which way is better. */
interface Row {
  section: string;
  measure: string;
  unit: 'per s' | 'ms' | 'MiB';
  higherIsBetter: boolean;
  /** One figure per round and path; a row measured once has one. */
  rounds: Partial<Record<TargetName, number[]>>;
  /** The least (or most) the direct path must reach relative to the CRD: 1 = match, 2 = twice as good. */
  target?: number;
}

const rows: Row[] = [];
const slo: { check: string; figure: string; met: boolean }[] = [];
/** How the table's sections are ordered, whatever order they were measured in. */
const sectionOrder = [`LIST of ${count(sizes.small)}`, `LIST of ${count(sizes.large)}`, 'memory', 'writes', 'GET, one at a time', 'watch delay'];

const valueOf = (row: Row, path: TargetName): number | undefined => {
  const xs = row.rounds[path];
  return xs === undefined ? undefined : median(xs);
};

function record(row: Row): void {
  rows.push(row);
  const values = (['crd', 'aggregated', 'direct'] as const).map((t) => `${t} ${format(valueOf(row, t), row.unit)}`).join(', ');
  progress(`${row.measure}: ${values}`);
}

function format(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined) return '—';
  if (unit === 'per s') return `${Math.round(value).toLocaleString('en-US')} /s`;
  if (unit === 'MiB') return `${value.toFixed(0)} MiB`;
  return value >= 100 ? `${Math.round(value).toLocaleString('en-US')} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

/** this server ÷ CRD, and how many times better than the CRD that is, whichever way "better" points. */
function ratio(row: Row, path: TargetName): { text: string; better: number | undefined } {
  const ours = valueOf(row, path);
  const crd = valueOf(row, 'crd');
  // A figure of 0 or below (a delay under the clock's resolution, memory that shrank) has no meaningful ratio.
  if (ours === undefined || crd === undefined || crd <= 0 || ours <= 0) return { text: '—', better: undefined };
  const r = ours / crd;
  return { text: r.toFixed(2), better: row.higherIsBetter ? r : 1 / r };
}

/** direct ÷ CRD round by round (the paths' figures of the same round), lowest–highest: how much the rounds agree. */
function roundRange(row: Row): string {
  const direct = row.rounds.direct;
  const crd = row.rounds.crd;
  if (!direct || !crd || direct.length < 2 || direct.length !== crd.length) return '—';
  // A round where the CRD's figure is 0 (a watch delay under the clock's resolution) has no ratio.
  const ratios = direct.map((d, i) => d / crd[i]!).filter((r) => Number.isFinite(r) && r > 0);
  if (ratios.length < 2) return '—';
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const startLoad = loadNow();
  const cluster = new LocalCluster((line) => progress(`cluster: ${line}`));
  // The controllers would turn every notebook into a StatefulSet in kube-apiserver: not the API being measured.
  cluster.serverArgs = ['--no-controllers'];
  const agents: Agent[] = [];
  try {
    await cluster.start();
    const kubeTls = { ca: cluster.caPem };
    const kubeHeaders = { authorization: `Bearer ${users.admin.token}` };
    const agent = (options: ConstructorParameters<typeof Agent>[0]): Agent => {
      const a = new Agent(options);
      agents.push(a);
      return a;
    };
    const kubeAgent = (): Agent => agent({ connections: 128, connect: kubeTls, keepAliveTimeout: 60_000 });
    const directConnect = {
      rejectUnauthorized: false,
      cert: readFileSync(cluster.frontProxyClient.cert),
      key: readFileSync(cluster.frontProxyClient.key),
    };
    const targets: Target[] = [
      { name: 'crd', origin: cluster.apiserverUrl, group: crdGroup, headers: kubeHeaders, dispatcher: kubeAgent(), watchDispatcher: agent({ connect: kubeTls }) },
      { name: 'aggregated', origin: cluster.apiserverUrl, group: 'ai.example.io', headers: kubeHeaders, dispatcher: kubeAgent(), watchDispatcher: agent({ connect: kubeTls }) },
      {
        name: 'direct',
        origin: `https://127.0.0.1:${cluster.serverPort}`,
        group: 'ai.example.io',
        headers: { 'x-remote-user': users.admin.name, 'x-remote-group': 'system:masters' },
        dispatcher: agent({ connections: 128, connect: directConnect, keepAliveTimeout: 60_000 }),
        watchDispatcher: agent({ connect: directConnect }),
      },
    ];
    const byName = Object.fromEntries(targets.map((t) => [t.name, t])) as Record<TargetName, Target>;

    progress(`installing the CRDs in ${crdGroup}`);
    await cluster.installCrds(crdGroup);
    const namespaces = ['warm', 'list', ...targets.flatMap((t) => [`tput-${t.name}`, `watch-${t.name}`])];
    for (const ns of namespaces) await cluster.ok('admin', ['create', 'namespace', ns]);

    progress('warming up every path (creates, GETs, LISTs; not measured)');
    for (const target of targets) {
      await createMany(target, 'warm', `warm-${target.name}`, sizes.warm, 16);
      for (let i = 0; i < sizes.warm; i++) await expectOk(target, 'GET', `${collection(target, 'warm')}/warm-${target.name}-${i}`);
      await expectOk(target, 'GET', collection(target, 'warm'));
      await expectOk(target, 'DELETE', collection(target, 'warm'));
    }

    // Memory: the peak RSS of kube-apiserver (which holds the CRD's objects) and of this server while the large
    // population is created and until it settles, over the peak of an idle window before. The CRD's notebooks are
    // created through kube-apiserver, this server's straight to it (both paths then read the same objects).
    const pids = [cluster.pidOf('kube-apiserver'), cluster.pidOf(`ai-apiserver:${cluster.serverPort}`)];
    progress('sampling idle RSS');
    const idle = await idleRss(pids);
    const loaded = sampleRss(pids);
    for (const target of [byName.crd, byName.direct]) {
      progress(`populating ${count(sizes.large)} notebooks: ${target.name}`);
      await createMany(target, 'list', 'nb', sizes.large, 64);
    }
    progress('sampling RSS until it settles');
    const peak = await loaded.stop();
    memoryWindow = `${peak.samples} samples over ${peak.seconds.toFixed(0)} s; idle window ${idle.samples} samples over ${idle.seconds.toFixed(0)} s`;
    record({
      section: 'memory',
      measure: `peak RSS growth for ${count(sizes.large)} notebooks`,
      unit: 'MiB',
      higherIsBetter: false,
      rounds: { crd: [peak.peakMiB[0]! - idle.peakMiB[0]!], direct: [peak.peakMiB[1]! - idle.peakMiB[1]!] },
      target: 2,
    });
    await measureLists(targets, sizes.large);
    // The large population goes before the small one is made, and before the throughput and watch namespaces are
    // measured on an otherwise quiet store.
    for (const target of [byName.crd, byName.direct]) await expectOk(target, 'DELETE', collection(target, 'list'));
    for (const target of [byName.crd, byName.direct]) {
      progress(`populating ${count(sizes.small)} notebooks: ${target.name}`);
      await createMany(target, 'list', 'nb', sizes.small, 64);
    }
    await measureLists(targets, sizes.small);
    for (const target of [byName.crd, byName.direct]) await expectOk(target, 'DELETE', collection(target, 'list'));

    await measureWrites(targets);
    await measureWatches(targets);
    await measureEtcdCeiling(cluster);

    const minutes = (Date.now() - startedAt) / 60_000;
    rows.sort((a, b) => sectionOrder.indexOf(a.section) - sectionOrder.indexOf(b.section));
    const results = resultsText(minutes, machine(startLoad));
    writeFileSync(out.results, results);
    replaceBlock(out.readme, summaryBlock, summaryLines(results));
    printTable();
    progress(`done in ${minutes.toFixed(1)} minutes; wrote ${out.results} and ${out.readme}`);
  } finally {
    for (const a of agents) await a.destroy().catch(() => undefined);
    await cluster.stop();
  }
}

let memoryWindow = '';

async function measureLists(targets: Target[], size: number): Promise<void> {
  const kinds: { name: string; path: (t: Target) => string; accept?: string; paginate?: boolean }[] = [
    { name: 'namespace, resourceVersion=0', path: (t) => `${collection(t, 'list')}?resourceVersion=0` },
    { name: 'namespace, consistent', path: (t) => collection(t, 'list') },
    { name: 'cluster-wide, resourceVersion=0', path: (t) => `${collection(t)}?resourceVersion=0` },
    { name: 'cluster-wide, consistent', path: (t) => collection(t) },
    { name: 'namespace, paginated by 500', path: (t) => `${collection(t, 'list')}?limit=500`, paginate: true },
    { name: 'namespace, as kubectl get\'s Table (pages of 500)', path: (t) => `${collection(t, 'list')}?limit=500`, accept: tableAccept, paginate: true },
  ];
  for (const kind of kinds) {
    progress(`LIST of ${count(size)}, ${kind.name}`);
    const rounds: Partial<Record<TargetName, number[]>> = {};
    for (let r = 0; r < repeats; r++) {
      for (const target of targets) {
        const t = performance.now();
        let items = 0;
        let path = kind.path(target);
        for (;;) {
          const reply = await expectOk(target, 'GET', path, undefined, kind.accept ? { accept: kind.accept } : {});
          const body = JSON.parse(reply.text) as { items?: unknown[]; rows?: unknown[]; metadata: { continue?: string } };
          items += (body.items ?? body.rows ?? []).length;
          if (!kind.paginate || !body.metadata.continue) break;
          path = `${kind.path(target)}&continue=${encodeURIComponent(body.metadata.continue)}`;
        }
        (rounds[target.name] ??= []).push(performance.now() - t);
        if (items !== size) throw new Error(`${target.name} ${kind.name}: listed ${items}, want ${size}`);
      }
    }
    if (size === sizes.large && kind.name.startsWith('namespace')) {
      const worst = Math.max(...rounds.aggregated!);
      slo.push({ check: `LIST ${kind.name} of ${count(size)} through the aggregator ≤ 5 s (slowest of ${repeats} rounds)`, figure: format(worst, 'ms'), met: worst <= 5_000 });
    }
    record({ section: `LIST of ${count(size)}`, measure: kind.name, unit: 'ms', higherIsBetter: false, rounds, target: size === sizes.large ? 2 : 1 });
  }
}

async function measureWrites(targets: Target[]): Promise<void> {
  const createRates = new Map<string, Partial<Record<TargetName, number[]>>>();
  const createdByTarget: Partial<Record<TargetName, Record<string, unknown>[]>> = {};
  const mutatingLatencies: Partial<Record<TargetName, number[]>> = {};
  for (let r = 0; r < repeats; r++) {
    for (const level of createLevels) {
      for (const target of targets) {
        progress(`creates at ${level.inFlight} in flight, round ${r + 1}/${repeats}: ${target.name}`);
        const result = await createMany(target, `tput-${target.name}`, `c${level.inFlight}-${r}`, level.count, level.inFlight);
        const rates = createRates.get(String(level.inFlight)) ?? {};
        (rates[target.name] ??= []).push(result.rate);
        createRates.set(String(level.inFlight), rates);
        if (level.inFlight === 64) (createdByTarget[target.name] ??= []).push(...result.created);
        if (level.inFlight === 16) (mutatingLatencies[target.name] ??= []).push(...result.latencies);
      }
    }
  }
  for (const level of createLevels) {
    record({ section: 'writes', measure: `create at ${level.inFlight} in flight`, unit: 'per s', higherIsBetter: true, rounds: createRates.get(String(level.inFlight))!, target: 1 });
  }

  const updateRates: Partial<Record<TargetName, number[]>> = {};
  const patchRates: Partial<Record<TargetName, number[]>> = {};
  const getP50: Partial<Record<TargetName, number[]>> = {};
  const getP99: Partial<Record<TargetName, number[]>> = {};
  for (let r = 0; r < repeats; r++) {
    for (const target of targets) {
      progress(`updates, patches and GETs, round ${r + 1}/${repeats}: ${target.name}`);
      const objects = createdByTarget[target.name]!.slice(r * sizes.mutations, (r + 1) * sizes.mutations);
      const base = collection(target, `tput-${target.name}`);
      let started = performance.now();
      await pool(objects.length, 16, async (i) => {
        const object = structuredClone(objects[i]!) as { metadata: { name: string; labels: Record<string, string> } };
        object.metadata.labels.updated = String(r);
        const t = performance.now();
        await expectOk(target, 'PUT', `${base}/${object.metadata.name}`, object);
        (mutatingLatencies[target.name] ??= []).push(performance.now() - t);
      });
      (updateRates[target.name] ??= []).push((objects.length / (performance.now() - started)) * 1000);
      started = performance.now();
      await pool(objects.length, 16, async (i) => {
        const name = (objects[i] as { metadata: { name: string } }).metadata.name;
        const t = performance.now();
        await expectOk(target, 'PATCH', `${base}/${name}`, { metadata: { labels: { patched: String(r) } } }, { 'content-type': 'application/merge-patch+json' });
        (mutatingLatencies[target.name] ??= []).push(performance.now() - t);
      });
      (patchRates[target.name] ??= []).push((objects.length / (performance.now() - started)) * 1000);
      const latencies: number[] = [];
      for (let i = 0; i < sizes.gets; i++) {
        const name = (objects[(i * 7919) % objects.length] as { metadata: { name: string } }).metadata.name;
        const t = performance.now();
        await expectOk(target, 'GET', `${base}/${name}`);
        latencies.push(performance.now() - t);
      }
      (getP50[target.name] ??= []).push(percentile(latencies, 0.5));
      (getP99[target.name] ??= []).push(percentile(latencies, 0.99));
    }
  }
  record({ section: 'writes', measure: 'update (PUT) at 16 in flight', unit: 'per s', higherIsBetter: true, rounds: updateRates, target: 1 });
  record({ section: 'writes', measure: 'merge patch at 16 in flight', unit: 'per s', higherIsBetter: true, rounds: patchRates, target: 1 });
  record({ section: 'GET, one at a time', measure: 'p50', unit: 'ms', higherIsBetter: false, rounds: getP50, target: 1 });
  record({ section: 'GET, one at a time', measure: 'p99', unit: 'ms', higherIsBetter: false, rounds: getP99, target: 1 });
  const mutating = mutatingLatencies.aggregated!;
  const mutatingP99 = percentile(mutating, 0.99);
  slo.push({
    check: `mutating calls through the aggregator, p99 ≤ 1 s (over all ${count(mutating.length)} creates at 16 in flight, updates and patches of the ${repeats} rounds)`,
    figure: format(mutatingP99, 'ms'),
    met: mutatingP99 <= 1_000,
  });
  const getWorst = Math.max(...getP99.aggregated!);
  slo.push({ check: `GET through the aggregator, p99 ≤ 1 s (highest of ${repeats} rounds' p99)`, figure: format(getWorst, 'ms'), met: getWorst <= 1_000 });
  for (const target of targets) await expectOk(target, 'DELETE', collection(target, `tput-${target.name}`));
}

/**
 * Each round opens `watchers` watches on one namespace, then makes `watchWrites` creates one after another; an
 * event's delay is the time from the create's answer reaching the writer to the event reaching a watcher (every
 * watcher, every event). A round's p50 and p99 are over all its deliveries; the row is the median over rounds.
 */
async function measureWatches(targets: Target[]): Promise<void> {
  for (const watchers of sizes.watchers) {
    const p50: Partial<Record<TargetName, number[]>> = {};
    const p99: Partial<Record<TargetName, number[]>> = {};
    for (let r = 0; r < repeats; r++) {
      for (const target of targets) {
        progress(`${watchers} watchers, round ${r + 1}/${repeats}: ${target.name}`);
        const delays = await watchRound(target, watchers, `w${watchers}-${r}`);
        (p50[target.name] ??= []).push(percentile(delays, 0.5));
        (p99[target.name] ??= []).push(percentile(delays, 0.99));
      }
    }
    record({ section: 'watch delay', measure: `${count(watchers)} watchers, p50`, unit: 'ms', higherIsBetter: false, rounds: p50, target: 1 });
    record({ section: 'watch delay', measure: `${count(watchers)} watchers, p99`, unit: 'ms', higherIsBetter: false, rounds: p99, target: 1 });
  }
}

/** One round of `measureWatches` on one path: every delivery's delay, in ms. */
async function watchRound(target: Target, watchers: number, prefix: string): Promise<number[]> {
  const namespace = `watch-${target.name}`;
  const listed = JSON.parse((await expectOk(target, 'GET', collection(target, namespace))).text) as { metadata: { resourceVersion: string } };
  const arrivals: number[][] = [];
  const controller = new AbortController();
  setMaxListeners(watchers + 10, controller.signal);
  const streams = await Promise.all(
    Array.from({ length: watchers }, async (_, w) => {
      const seen: number[] = (arrivals[w] = []);
      const res = await request(`${target.origin}${collection(target, namespace)}?watch=true&resourceVersion=${listed.metadata.resourceVersion}`, {
        dispatcher: target.watchDispatcher,
        headers: { ...target.headers, accept: 'application/json' },
        signal: controller.signal,
      });
      if (res.statusCode !== 200) throw new Error(`${target.name} watch: ${res.statusCode}`);
      // Wrapped, so that awaiting the opened streams does not wait for them to end.
      return { done: recordArrivals(res.body, seen) };
    }),
  );
  const acks: number[] = [];
  for (let i = 0; i < sizes.watchWrites; i++) {
    await expectOk(target, 'POST', collection(target, namespace), notebookFor(target, `${prefix}-${i}`, i));
    acks[i] = performance.now();
    // Spaced, so that each delay is one event's fan-out rather than a queue of them.
    await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = Date.now() + 60_000;
  while (arrivals.some((seen) => seen.filter((t) => t !== undefined).length < sizes.watchWrites) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  controller.abort();
  await Promise.all(streams.map((stream) => stream.done));
  const delays: number[] = [];
  let missing = 0;
  for (const seen of arrivals) {
    for (let i = 0; i < sizes.watchWrites; i++) {
      if (seen[i] === undefined) missing++;
      else delays.push(Math.max(0, seen[i]! - acks[i]!));
    }
  }
  if (missing > 0) throw new Error(`${target.name}: ${missing} of ${watchers * sizes.watchWrites} watch events never arrived`);
  await expectOk(target, 'DELETE', collection(target, namespace));
  return delays;
}

/** Notes when each benchmark notebook's ADDED event arrives, by its "seq" label, until the stream ends. */
async function recordArrivals(body: AsyncIterable<unknown>, seen: number[]): Promise<void> {
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += (chunk as Buffer).toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        // The label is unique to the benchmark: no need to parse 2 KiB per event per watcher.
        const seq = /"seq":"(\d+)"/.exec(line);
        if (seq && line.startsWith('{"type":"ADDED"')) seen[Number(seq[1])] = performance.now();
      }
    }
  } catch {
    // aborted once the measurement is over
  }
}

/** Raw etcd on the same machine, through the same client the server uses: the ceiling every figure sits under. */
async function measureEtcdCeiling(cluster: LocalCluster): Promise<void> {
  progress('raw etcd put and range');
  const storage = new EtcdStorage({ endpoints: [cluster.serverEtcdEndpoint], logger: pino({ level: 'silent' }) });
  try {
    const value = Buffer.from(JSON.stringify(benchNotebook('raw', 0)));
    const rates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const started = performance.now();
      await pool(sizes.etcdPuts, 64, async (i) => {
        await storage.create(`/bench-raw/${r}/${String(i).padStart(5, '0')}`, value);
      });
      rates.push((sizes.etcdPuts / (performance.now() - started)) * 1000);
    }
    const ranges: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const started = performance.now();
      await storage.list('/bench-raw/');
      ranges.push(performance.now() - started);
    }
    etcdCeiling = { put: median(rates), range: median(ranges), keys: repeats * sizes.etcdPuts, bytes: value.length };
    progress(`raw etcd: ${Math.round(etcdCeiling.put)} puts/s, range of ${etcdCeiling.keys} keys ${etcdCeiling.range.toFixed(0)} ms`);
  } finally {
    await storage.close();
  }
}

let etcdCeiling: { put: number; range: number; keys: number; bytes: number } | undefined;

function tableLines(): string[] {
  const lines = [
    '| section | measure | rounds | CRD (kube-apiserver) | this server via aggregator | this server direct | aggregated ÷ CRD | direct ÷ CRD | direct ÷ CRD, lowest–highest round | direct target | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const agg = ratio(row, 'aggregated');
    const direct = ratio(row, 'direct');
    const rounds = Math.max(...Object.values(row.rounds).map((xs) => xs.length));
    const goal = row.target === undefined ? '' : row.target === 1 ? 'at least match' : `${row.target}× better`;
    const met = row.target === undefined || direct.better === undefined ? '' : direct.better >= row.target ? 'yes' : 'no';
    const values = (['crd', 'aggregated', 'direct'] as const).map((t) => format(valueOf(row, t), row.unit));
    lines.push(
      `| ${row.section} | ${row.measure} | ${rounds === 1 ? '1 (a single run)' : rounds} | ${values.join(' | ')} | ${agg.text} | ${direct.text} | ${roundRange(row)} | ${goal} | ${met} |`,
    );
  }
  return lines;
}

function printTable(): void {
  console.log(tableLines().join('\n'));
  console.log('');
  for (const s of slo) console.log(`${s.met ? 'met ' : 'MISSED'}  ${s.check}: ${s.figure}`);
  if (etcdCeiling) console.log(`raw etcd: ${Math.round(etcdCeiling.put)} puts/s (64 in flight), range of ${etcdCeiling.keys} keys in ${etcdCeiling.range.toFixed(0)} ms`);
}

/** The best create rate of any path, as a share of raw etcd puts. */
function ceilingShare(putRate: number): string {
  const best = Math.max(...rows.filter((r) => r.measure.startsWith('create')).flatMap((r) => (['crd', 'aggregated', 'direct'] as const).map((t) => valueOf(r, t) ?? 0)));
  return `${Math.round((best / putRate) * 100)} %`;
}

/**
 * Why a group of rows reads as it does: shown only when the run's own figures put the group on that side of its
 * target, and citing no figure (the figures are the table's).
 */
const explanations: { when: (missed: (section: string, measure?: string) => boolean | undefined) => boolean; text: string }[] = [
  {
    when: (missed) => missed('LIST of') === false,
    text:
      '**LISTs.** The watch cache keeps each object\'s JSON beside it, so a LIST is mostly concatenation, where ' +
      'kube-apiserver re-encodes every unstructured object on every LIST.',
  },
  {
    when: (missed) => missed('memory') === false,
    text:
      '**Memory.** kube-apiserver\'s cache holds each custom resource as nested Go maps (`unstructured.Unstructured`); ' +
      'this server holds the decoded object and its JSON once.',
  },
  {
    when: (missed) => missed('writes') === true,
    text:
      '**Writes that miss.** This server runs on one Node event loop, so it uses one of the two cores for TLS, JSON, ' +
      'schema validation, managedFields, the etcd call and the watch cache\'s decode of the event, where ' +
      'kube-apiserver spreads the same work over both. Fixes, in order of payoff: several server processes on the ' +
      'etcd backend behind one port (etcd stays the single source of truth and of resourceVersions; each process ' +
      'keeps its own watch cache), then less CPU per request (hand the watch cache the object the write just encoded ' +
      'instead of decoding the event again; a cheaper managedFields path for creates).',
  },
  {
    when: (missed) => missed('watch') === true,
    text:
      '**Watch delay.** Each event is written to each watcher\'s connection one after another on the single event ' +
      'loop (TLS encryption and a socket write per watcher), where kube-apiserver fans out over goroutines on both ' +
      'cores. Fixes: spread watchers over worker processes as above, and serve HTTP/2 so that many watches share a ' +
      'connection (client-go speaks HTTP/2 to kube-apiserver; this server speaks HTTP/1.1 only).',
  },
  {
    when: (missed) => missed('GET', 'p99') === true,
    text:
      '**GET p99.** This run does not say where the tail comes from. The first suspect is garbage collection of ' +
      'a heap that holds the whole watch cache and its history ring; the way to find out is a CPU profile of ' +
      'this server during the GET rounds.',
  },
];

/** The whole of bench/RESULTS.md: every figure in it comes from this run. */
function resultsText(minutes: number, where: string): string {
  const sample = JSON.stringify(benchNotebook('nb-0', 0, `${crdGroup}/v1alpha1`));
  const missed = (section: string, measure?: string): boolean | undefined => {
    const judged = rows.filter((r) => r.section.startsWith(section) && (measure === undefined || r.measure === measure) && ratio(r, 'direct').better !== undefined);
    if (judged.length === 0) return undefined;
    return judged.some((r) => ratio(r, 'direct').better! < (r.target ?? 0));
  };
  const getP50 = rows.find((r) => r.section.startsWith('GET') && r.measure === 'p50');
  const hop = getP50 && valueOf(getP50, 'aggregated')! - valueOf(getP50, 'direct')!;
  const head = [
    "# Benchmark: this server against kube-apiserver's CRDs",
    '',
    `Reproduce: \`npm run bench\` (generated ${where}, in ${minutes.toFixed(1)} minutes; kube-apiserver v1.32.2, ` +
      `etcd ${etcdVersion(etcdBinary())} for both stores). Every figure in this file is written by that command from one run.`,
    '',
    `The same notebooks (a ${count(Buffer.byteLength(sample))}-byte body, stored with managedFields) on three paths in one`,
    `local control plane: **CRD** — CustomResourceDefinitions generated from this project's schemas, group \`${crdGroup}\`,`,
    'served by kube-apiserver; **aggregated** — this server behind the APIService; **direct** — this server without',
    'the aggregator hop (HTTPS with the front-proxy certificate, as kube-apiserver calls it). Everyone is',
    '`system:masters`. The load generator (undici, keep-alive, HTTP/1.1) shares the machine\'s cores with every server.',
    '',
    '## How each row is measured',
    '',
    `The "rounds" column says how many rounds a row's figures are the median of; in every round each path is`,
    'measured once, one path after the other. Ratios are this server ÷ CRD of those medians: above 1 is better for',
    'throughput, below 1 is better for times and memory. "direct ÷ CRD, lowest–highest round" divides the two paths\'',
    'figures of the same round, to show how much the rounds agree. "met" judges the direct path against the issue\'s target.',
    '',
    `- **LIST**: one LIST a round (every page of it, for the paginated rows) of ${count(sizes.large)}, then of ` +
      `${count(sizes.small)}, notebooks in one namespace, the only ones of their kind in the cluster; the time until the ` +
      'last byte of the last page.',
    `- **memory**: a single run. The VmRSS of kube-apiserver (which holds the CRD's objects) and of this server, sampled every ` +
      `100 ms from /proc while ${count(sizes.large)} notebooks are created on each (64 in flight) and afterwards until ` +
      'it settles (the last 3 s within 2 MiB or 1 %), minus the peak of an idle window sampled the same way just ' +
      `before (${memoryWindow}).`,
    `- **writes**: a round creates ${createLevels.map((l) => `${count(l.count)} at ${l.inFlight}`).join(', ')} in ` +
      `flight, then makes ${count(sizes.mutations)} updates (PUT) and ${count(sizes.mutations)} merge patches at 16 in ` +
      'flight on objects created at 64; the rate is requests ÷ wall time of the round.',
    `- **GET**: a round GETs ${count(sizes.gets)} notebooks one at a time; its p50 and p99 are over those GETs.`,
    `- **watch delay**: a round opens the watchers on one namespace, then makes ${count(sizes.watchWrites)} creates 20 ms ` +
      'apart; a delay runs from the create\'s answer reaching the writer to the event reaching a watcher, and the ' +
      'round\'s p50 and p99 are over every watcher\'s every event.',
    '',
    ...tableLines(),
    '',
    '## Kubernetes SLOs through the aggregator',
    '',
    ...slo.map((s) => `- ${s.met ? 'met' : '**missed**'}: ${s.check} — ${s.figure}`),
    '',
    '## The etcd ceiling',
    '',
    etcdCeiling
      ? `Raw etcd on the same machine through the server's own client: ${count(Math.round(etcdCeiling.put))} puts/s ` +
        `of ${count(etcdCeiling.bytes)} bytes at 64 in flight (median of ${repeats} rounds of ${count(sizes.etcdPuts)}); ` +
        `a range of ${count(etcdCeiling.keys)} such keys in ${etcdCeiling.range.toFixed(0)} ms (median of ${repeats}). ` +
        `The fastest create rate above is ${ceilingShare(etcdCeiling.put)} of that put rate.`
      : 'not measured',
    '',
  ].join('\n');
  const notes = [
    '## Reading the results',
    '',
    'In short (the same lines README.md quotes):',
    '',
    ...summaryLines(head, false),
    '',
    ...(hop === undefined ? [] : [
      `**Through the aggregator** every request pays the proxy hop (a second TLS connection and kube-apiserver's ` +
        `proxy handler): in this run a GET's p50 is ${format(Math.abs(hop), 'ms')} ${hop >= 0 ? 'higher' : 'lower'} ` +
        'through the aggregator than direct.',
      '',
    ]),
    ...explanations.filter((e) => e.when(missed)).flatMap((e) => [e.text, '']),
  ];
  return `${head}\n${notes.join('\n')}`;
}

await main();
