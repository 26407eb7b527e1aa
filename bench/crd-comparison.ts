// This server side by side with what users would run instead: a CustomResourceDefinition served by kube-apiserver.
// One run, one machine, one local control plane (test/support/cluster.ts), the same ~2 KiB notebooks, three paths:
//   crd        — CRDs generated from this project's schemas (src/api/v1alpha1/crd.ts), group bench.example.io
//   aggregated — this server through kube-apiserver's aggregator
//   direct     — this server, straight (with the front proxy's certificate, as kube-apiserver calls it)
// Both stores are etcd 3.6 on loopback; the server runs without its controllers. Prints one table with the ratios
// (this server ÷ CRD) and writes the whole of bench/RESULTS.md and README.md's bench:summary block from it.
// Run: npm run bench   (BENCH_REPEATS rounds, 5; BENCH_QUICK=1 checks the whole run in a few minutes with tiny
// counts and two rounds; BENCH_100K=0 leaves out the 100,000-notebook rows, the longest part of the run;
// BENCH_ONLY=100k runs only those. Any of them writes to copies of both files in a temporary directory.)
import { setMaxListeners } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import pino from 'pino';
import { EtcdStorage } from '../src/storage/etcd/etcd-storage.js';
import { defaultWorkers } from '../src/server/workers/cpu-quota.js';
import { LocalCluster, users } from '../test/support/cluster.js';
import { etcdBinary, etcdVersion } from '../test/support/etcd.js';
import { benchNotebook, countWhileReading, median, percentile, pool, progress, recordArrivals } from './objects.js';
import { idleRss, loadNow, machine, memAvailableMiB, outputs, ratioText, replaceBlock, sampleRss } from './report.js';
import { summaryBlock, summaryLines } from './summary.js';

const crdGroup = 'bench.example.io';
const out = outputs(['BENCH_REPEATS', 'BENCH_100K', 'BENCH_ONLY']);
const repeats = Number(process.env.BENCH_REPEATS ?? (out.quick ? 2 : 5));
/** The 100,000-notebook rows are the longest part of a run (see RESULTS.md's "minutes"): on unless BENCH_100K=0. */
const only100k = process.env.BENCH_ONLY === '100k';
const with100k = only100k || process.env.BENCH_100K !== '0';
const sizes = out.quick
  ? { warm: 20, small: 50, large: 200, huge: 1_000, mutations: 20, gets: 20, watchers: [5, 20], watchWrites: 5 }
  : { warm: 200, small: 1_000, large: 10_000, huge: 100_000, mutations: 500, gets: 500, watchers: [100, 1_000], watchWrites: 50 };
/**
 * The big population is created in steps of the large LIST's size, each step one round of the memory row; without
 * the 100,000 rows, five steps are made for that row alone.
 */
const population = with100k ? sizes.huge : 5 * sizes.large;
// Each round's creates at 64 in flight are the objects its updates and patches then change, and the count of raw
// etcd puts the round compares them with.
const createLevels = [
  { inFlight: 1, count: out.quick ? 10 : 100 },
  { inFlight: 16, count: out.quick ? 20 : 500 },
  { inFlight: 64, count: out.quick ? sizes.mutations : 1_000 },
];
const count = (n: number): string => n.toLocaleString('en-US');
/**
 * How long the CRD path may take to create the big population before the run gives up on it and says so: far
 * beyond what it needs on a quiet machine (minutes), so that only a path that cannot hold it runs into the box.
 */
const crdPopulationBudgetMs = 45 * 60_000;
/** One request of the big population's rows (a LIST or a watch's initial events) is given up after this long. */
const bigRequestBudgetMs = 10 * 60_000;
/** Memory the machine keeps for everything else when the run decides whether 10 concurrent LISTs may go ahead. */
const memoryHeadroomMiB = 4_096;
/** Watches per connection: HTTP/2 multiplexes them, and a new connection is opened well before any server's limit. */
const watchesPerConnection = 100;

type TargetName = 'crd' | 'aggregated' | 'direct';

interface Target {
  name: TargetName;
  origin: string;
  group: string;
  headers: Record<string, string>;
  dispatcher: Agent;
  /** Open long watch streams: pools of their own, so watches never hold the request connections. */
  watchDispatchers: Agent[];
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

/**
 * Creates notebooks `prefix-<from>` … `prefix-<from + count - 1>` with `inFlight` at a time, keeping none of the
 * answers; stops with an error past `deadline`. A request that fails on the way (429, 5xx, a dropped connection)
 * is retried twice, as a client would, and a 409 on a retry is the lost first attempt having applied.
 */
async function createRange(target: Target, namespace: string, prefix: string, from: number, count: number, inFlight: number, deadline: number): Promise<void> {
  await pool(count, inFlight, async (i) => {
    if (Date.now() > deadline) throw new Error('out of time');
    const body = notebookFor(target, `${prefix}-${from + i}`, from + i);
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      try {
        const reply = await call(target, 'POST', collection(target, namespace), body);
        if (reply.status < 300 || (attempt > 1 && reply.status === 409)) return;
        failure = `${reply.status} ${reply.text.slice(0, 200)}`;
        if (reply.status !== 429 && reply.status < 500) throw new Error(failure);
      } catch (e) {
        failure = (e as Error).message;
      }
      if (attempt === 3) throw new Error(`POST ${prefix}-${from + i}: ${failure}`);
    }
  });
}

/** A row of the results: each path's figure in every round, and which way is better. */
interface Row {
  section: string;
  measure: string;
  unit: 'per s' | 'ms' | 'MiB' | '× etcd';
  higherIsBetter: boolean;
  /** One figure per round and path; a row measured once has one. */
  rounds: Partial<Record<TargetName, number[]>>;
  /** How many times better than the CRD the direct path must be: 1 = match, 4 = four times as fast. */
  target?: number;
  /** A bound the direct path's figure must keep whatever the CRD does, e.g. at most 64 MiB. */
  limit?: { max?: number; min?: number; text: string };
  /** A path that could not be measured, and why: the cell says so and the notes give the reason. */
  failed?: Partial<Record<TargetName, string>>;
}

const rows: Row[] = [];
const slo: { check: string; figure: string; met: boolean }[] = [];
/** How the table's sections are ordered, whatever order they were measured in. */
const sectionOrder = [
  `LIST of ${count(sizes.small)}`,
  `LIST of ${count(sizes.large)}`,
  'memory',
  'writes',
  'GET, one at a time',
  'watch delay',
  `${count(sizes.huge)} notebooks`,
];

const valueOf = (row: Row, path: TargetName): number | undefined => {
  const xs = row.rounds[path];
  return xs === undefined || xs.length === 0 ? undefined : median(xs);
};

function record(row: Row): void {
  rows.push(row);
  const values = (['crd', 'aggregated', 'direct'] as const).map((t) => `${t} ${row.failed?.[t] ? 'failed' : format(valueOf(row, t), row.unit)}`).join(', ');
  progress(`${row.measure}: ${values}`);
}

function format(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined) return '—';
  if (unit === 'per s') return `${Math.round(value).toLocaleString('en-US')} /s`;
  if (unit === 'MiB') return `${Math.round(value).toLocaleString('en-US')} MiB`;
  if (unit === '× etcd') return `${value.toFixed(2)}× etcd`;
  return value >= 100 ? `${Math.round(value).toLocaleString('en-US')} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

/** this server ÷ CRD, and how many times better than the CRD that is, whichever way "better" points. */
function ratio(row: Row, path: TargetName): { text: string; better: number | undefined } {
  // A share of raw etcd is compared with its own goal, not with the CRD's share.
  if (row.unit === '× etcd') return { text: '—', better: undefined };
  const ours = valueOf(row, path);
  const crd = valueOf(row, 'crd');
  // A figure of 0 or below (a delay under the clock's resolution, memory that shrank) has no meaningful ratio.
  if (ours === undefined || crd === undefined || crd <= 0 || ours <= 0) return { text: '—', better: undefined };
  const r = ours / crd;
  return { text: ratioText(r), better: row.higherIsBetter ? r : 1 / r };
}

/** direct ÷ CRD round by round (the paths' figures of the same round), lowest–highest: how much the rounds agree. */
function roundRange(row: Row): string {
  const direct = row.rounds.direct;
  const crd = row.rounds.crd;
  if (row.unit === '× etcd' || !direct || !crd || direct.length < 2 || direct.length !== crd.length) return '—';
  // A round where the CRD's figure is 0 (a watch delay under the clock's resolution) has no ratio.
  const ratios = direct.map((d, i) => d / crd[i]!).filter((r) => Number.isFinite(r) && r > 0);
  if (ratios.length < 2) return '—';
  return `${ratioText(Math.min(...ratios))}–${ratioText(Math.max(...ratios))}`;
}

/**
 * The row's goal as the issue sets it, and whether the direct path met it. Against a CRD path that failed where
 * this server did not, the comparison counts as met: the notes say where the CRD path failed.
 */
function goalOf(row: Row): { text: string; met: boolean | undefined } {
  const parts: { text: string; met: boolean | undefined }[] = [];
  const direct = valueOf(row, 'direct');
  if (row.target !== undefined) {
    const better = ratio(row, 'direct').better;
    const text =
      row.target === 1 ? 'at least match' : `${row.target}× better${row.section === 'memory' ? ` (≤ ${(1 / row.target).toFixed(1)}× its growth)` : ''}`;
    parts.push({ text, met: better !== undefined ? better >= row.target : row.failed?.crd && direct !== undefined ? true : undefined });
  }
  if (row.limit) {
    const { max, min, text } = row.limit;
    parts.push({ text, met: direct === undefined ? undefined : (max === undefined || direct <= max) && (min === undefined || direct >= min) });
  }
  const judged = parts.filter((p) => p.met !== undefined);
  return { text: parts.map((p) => p.text).join('; '), met: judged.length === 0 ? undefined : judged.every((p) => p.met) };
}

/** Which protocol each path's connections negotiated (ALPN), as the results state it. */
const negotiated: Partial<Record<TargetName, Set<string>>> = {};

// The controllers would turn every notebook into a StatefulSet in kube-apiserver: not the API being measured.
// --workers is left at its default, one process per CPU.
const serverFlags = ['--no-controllers', '--enable-http2-serving'];

async function main(): Promise<void> {
  const startedAt = Date.now();
  const startLoad = loadNow();
  const cluster = new LocalCluster((line) => progress(`cluster: ${line}`));
  cluster.serverArgs = serverFlags;
  const agents: Agent[] = [];
  let storage: EtcdStorage | undefined;
  try {
    await cluster.start();
    storage = new EtcdStorage({ endpoints: [cluster.serverEtcdEndpoint], logger: pino({ level: 'silent' }) });
    const kubeTls = { ca: cluster.caPem };
    const kubeHeaders = { authorization: `Bearer ${users.admin.token}` };
    const directTls = {
      rejectUnauthorized: false,
      cert: readFileSync(cluster.frontProxyClient.cert),
      key: readFileSync(cluster.frontProxyClient.key),
    };
    // Every connection offers h2 and HTTP/1.1 and lets the server choose: client-go speaks HTTP/2 to kube-apiserver
    // (one connection, requests multiplexed on it), and kube-aggregator does to an aggregated server that offers it.
    const agent = (path: TargetName, tls: object, options: { connections?: number } = {}): Agent => {
      const connector = buildConnector({ ...tls, allowH2: true });
      const a = new Agent({
        ...options,
        allowH2: true,
        keepAliveTimeout: 60_000,
        connect: (opts, callback) =>
          connector(opts, (error, socket) => {
            if (socket && 'alpnProtocol' in socket) (negotiated[path] ??= new Set()).add(String(socket.alpnProtocol || 'http/1.1'));
            // undici's connector types its callback as two overloads; pass each case on as it came.
            if (error) callback(error, null);
            else callback(null, socket!);
          }),
      });
      agents.push(a);
      return a;
    };
    const watchAgents = (path: TargetName, tls: object): Agent[] =>
      Array.from({ length: Math.ceil(Math.max(...sizes.watchers) / watchesPerConnection) }, () => agent(path, tls));
    const targets: Target[] = [
      { name: 'crd', origin: cluster.apiserverUrl, group: crdGroup, headers: kubeHeaders, dispatcher: agent('crd', kubeTls, { connections: 128 }), watchDispatchers: watchAgents('crd', kubeTls) },
      {
        name: 'aggregated',
        origin: cluster.apiserverUrl,
        group: 'ai.example.io',
        headers: kubeHeaders,
        dispatcher: agent('aggregated', kubeTls, { connections: 128 }),
        watchDispatchers: watchAgents('aggregated', kubeTls),
      },
      {
        name: 'direct',
        origin: `https://127.0.0.1:${cluster.serverPort}`,
        group: 'ai.example.io',
        headers: { 'x-remote-user': users.admin.name, 'x-remote-group': 'system:masters' },
        dispatcher: agent('direct', directTls, { connections: 128 }),
        watchDispatchers: watchAgents('direct', directTls),
      },
    ];
    const byName = Object.fromEntries(targets.map((t) => [t.name, t])) as Record<TargetName, Target>;

    progress(`installing the CRDs in ${crdGroup}`);
    await cluster.installCrds(crdGroup);
    const namespaces = ['warm', 'list', 'big', ...targets.flatMap((t) => [`tput-${t.name}`, `watch-${t.name}`])];
    for (const ns of namespaces) await cluster.ok('admin', ['create', 'namespace', ns]);

    progress('warming up every path (creates, GETs, LISTs; not measured)');
    for (const target of targets) {
      await createMany(target, 'warm', `warm-${target.name}`, sizes.warm, 16);
      for (let i = 0; i < sizes.warm; i++) await expectOk(target, 'GET', `${collection(target, 'warm')}/warm-${target.name}-${i}`);
      await expectOk(target, 'GET', collection(target, 'warm'));
      await expectOk(target, 'DELETE', collection(target, 'warm'));
    }

    if (!only100k) {
      for (const target of [byName.crd, byName.direct]) {
        progress(`populating ${count(sizes.large)} notebooks: ${target.name}`);
        await createMany(target, 'list', 'nb', sizes.large, 64);
      }
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

      await measureWrites(targets, storage, cluster.etcdPrefix);
      await measureWatches(targets);
      await measureEtcdRange(storage);
    }
    // Last, so that a heap grown to hold it weighs on no other row.
    const held = await populate(cluster, byName);
    if (with100k) await measureBigPopulation(cluster, targets, held);

    const minutes = (Date.now() - startedAt) / 60_000;
    rows.sort((a, b) => sectionOrder.indexOf(a.section) - sectionOrder.indexOf(b.section));
    const results = resultsText(minutes, machine(startLoad));
    writeFileSync(out.results, results);
    replaceBlock(out.readme, summaryBlock, summaryLines(results));
    printTable();
    progress(`done in ${minutes.toFixed(1)} minutes; wrote ${out.results} and ${out.readme}`);
  } finally {
    await storage?.close();
    for (const a of agents) await a.destroy().catch(() => undefined);
    await cluster.stop();
  }
}

/**
 * Waits until a resourceVersion=0 LIST on every path holds `size` notebooks: such a LIST is served from the watch
 * cache as it stands, which may not yet have seen the last creates acknowledged (kube-apiserver's too), and a round
 * must list them all.
 */
async function waitForCaches(targets: Target[], size: number): Promise<void> {
  for (const target of targets) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const listed = (JSON.parse((await expectOk(target, 'GET', `${collection(target, 'list')}?resourceVersion=0`)).text) as { items: unknown[] }).items.length;
      if (listed === size) break;
      if (Date.now() > deadline) throw new Error(`${target.name}: a resourceVersion=0 LIST still holds ${listed} notebooks of ${size} after 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function measureLists(targets: Target[], size: number): Promise<void> {
  await waitForCaches(targets, size);
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
        // Until the last byte of each page: decoding the answer is the load generator's work, the same on every path,
        // and is left out (the next page's request waits for it, so its time is not counted).
        let spent = 0;
        let items = 0;
        let path = kind.path(target);
        for (;;) {
          const t = performance.now();
          const reply = await expectOk(target, 'GET', path, undefined, kind.accept ? { accept: kind.accept } : {});
          spent += performance.now() - t;
          const body = JSON.parse(reply.text) as { items?: unknown[]; rows?: unknown[]; metadata: { continue?: string } };
          items += (body.items ?? body.rows ?? []).length;
          if (!kind.paginate || !body.metadata.continue) break;
          path = `${kind.path(target)}&continue=${encodeURIComponent(body.metadata.continue)}`;
        }
        (rounds[target.name] ??= []).push(spent);
        if (items !== size) throw new Error(`${target.name} ${kind.name}: listed ${items}, want ${size}`);
      }
    }
    if (size === sizes.large && kind.name.startsWith('namespace')) {
      const worst = Math.max(...rounds.aggregated!);
      slo.push({ check: `LIST ${kind.name} of ${count(size)} through the aggregator ≤ 5 s (slowest of ${repeats} rounds)`, figure: format(worst, 'ms'), met: worst <= 5_000 });
    }
    record({ section: `LIST of ${count(size)}`, measure: kind.name, unit: 'ms', higherIsBetter: false, rounds, target: size === sizes.large ? 4 : 1 });
  }
}

/**
 * Creates, updates, merge patches and GETs, round by round. Each round also puts as many raw values at 64 in flight
 * into this server's etcd as the paths created at 64, through the server's own client and with the bytes the
 * server stored for one of its notebooks: the ceiling that round's creates sit under, measured in the same conditions.
 */
async function measureWrites(targets: Target[], storage: EtcdStorage, etcdPrefix: string): Promise<void> {
  const createRates = new Map<string, Partial<Record<TargetName, number[]>>>();
  const createdByTarget: Partial<Record<TargetName, Record<string, unknown>[]>> = {};
  const mutatingLatencies: Partial<Record<TargetName, number[]>> = {};
  const etcdRates: number[] = [];
  let stored: Buffer | undefined;
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
      if (level.inFlight !== 64) continue;
      const key = `${etcdPrefix}/ai.example.io/notebooks/tput-direct/c64-${r}-0`;
      stored ??= (await storage.get(key))?.value;
      if (!stored) throw new Error(`no stored notebook at ${key} to size the raw etcd puts by`);
      const value = stored;
      progress(`raw etcd puts at 64 in flight, round ${r + 1}/${repeats}`);
      const started = performance.now();
      await pool(level.count, 64, async (i) => {
        await storage.create(`/bench-raw/${r}/${String(i).padStart(5, '0')}`, value);
      });
      etcdRates.push((level.count / (performance.now() - started)) * 1000);
    }
  }
  etcdCeiling = { put: median(etcdRates), puts: createLevels.at(-1)!.count, bytes: stored!.length };
  const shares = Object.fromEntries(
    Object.entries(createRates.get('64')!).map(([path, rates]) => [path, rates.map((rate, r) => rate / etcdRates[r]!)]),
  ) as Partial<Record<TargetName, number[]>>;
  for (const level of createLevels) {
    record({ section: 'writes', measure: `create at ${level.inFlight} in flight`, unit: 'per s', higherIsBetter: true, rounds: createRates.get(String(level.inFlight))!, target: 1 });
  }
  record({
    section: 'writes',
    measure: 'create at 64 in flight ÷ raw etcd puts at 64 in flight (same round, same bytes)',
    unit: '× etcd',
    higherIsBetter: true,
    rounds: shares,
    limit: { min: 0.6, text: '≥ 0.6× raw etcd' },
  });

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
 * event's delay is the time from the create being sent to the event reaching a watcher (every watcher, every event):
 * what a controller waits to see a write. It is not measured from the create's answer, as the event often arrives
 * before the answer does, which leaves nothing to compare. A round's p50 and p99 are over all its deliveries; the
 * row is the median over rounds.
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
        dispatcher: target.watchDispatchers[Math.floor(w / watchesPerConnection)]!,
        headers: { ...target.headers, accept: 'application/json' },
        signal: controller.signal,
      });
      if (res.statusCode !== 200) throw new Error(`${target.name} watch: ${res.statusCode}`);
      // Wrapped, so that awaiting the opened streams does not wait for them to end.
      return { done: recordArrivals(res.body, seen) };
    }),
  );
  const sent: number[] = [];
  for (let i = 0; i < sizes.watchWrites; i++) {
    sent[i] = performance.now();
    await expectOk(target, 'POST', collection(target, namespace), notebookFor(target, `${prefix}-${i}`, i));
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
      else delays.push(seen[i]! - sent[i]!);
    }
  }
  if (missing > 0) throw new Error(`${target.name}: ${missing} of ${watchers * sizes.watchWrites} watch events never arrived`);
  await expectOk(target, 'DELETE', collection(target, namespace));
  return delays;
}


/** How the big population was made: what each path holds, and why a path holds less. */
interface Held {
  failed: Partial<Record<TargetName, string>>;
}

/**
 * Creates the big population in namespace "big" on the CRD path and straight on this server (64 in flight), in
 * steps of the large LIST's size, the paths taking turns step by step. Each step is a round of the memory row: the
 * peak RSS of the process that holds the path's objects (kube-apiserver for the CRD) while the step is created and
 * until it settles, over where it had settled before the step. The CRD path stops at its time box or on a failure,
 * and the rest of the run says where.
 */
async function populate(cluster: LocalCluster, byName: Record<TargetName, Target>): Promise<Held> {
  const step = sizes.large;
  const steps = population / step;
  const paths = [byName.crd, byName.direct];
  const pids: Partial<Record<TargetName, number>> = { crd: cluster.pidOf('kube-apiserver'), direct: cluster.pidOf(`ai-apiserver:${cluster.serverPort}`) };
  const held: Held = { failed: {} };
  const growth: Partial<Record<TargetName, number[]>> = {};
  const createMs: Partial<Record<TargetName, number>> = {};
  progress('sampling idle RSS');
  const idle = await idleRss(paths.map((t) => pids[t.name]!));
  const rest: Partial<Record<TargetName, number>> = Object.fromEntries(paths.map((t, i) => [t.name, idle.settledMiB[i]!]));
  const deadline: Partial<Record<TargetName, number>> = { crd: Date.now() + crdPopulationBudgetMs, direct: Number.POSITIVE_INFINITY };
  for (let s = 0; s < steps; s++) {
    for (const target of paths) {
      if (held.failed[target.name]) continue;
      progress(`populating ${count(population)} notebooks, ${count(s * step)}–${count((s + 1) * step)}: ${target.name}`);
      const sampler = sampleRss([pids[target.name]!]);
      const started = performance.now();
      try {
        await createRange(target, 'big', 'big', s * step, step, 64, deadline[target.name]!);
      } catch (e) {
        await sampler.stop();
        const minutes = ((Date.now() - (deadline.crd! - crdPopulationBudgetMs)) / 60_000).toFixed(0);
        held.failed[target.name] = `creating the ${count(population)} notebooks stopped at ${count(s * step)}–${count((s + 1) * step)} after ${minutes} minutes: ${(e as Error).message}`;
        progress(`${target.name}: ${held.failed[target.name]}`);
        continue;
      }
      createMs[target.name] = (createMs[target.name] ?? 0) + performance.now() - started;
      const window = await sampler.stop();
      (growth[target.name] ??= []).push(window.peakMiB[0]! - rest[target.name]!);
      rest[target.name] = window.settledMiB[0]!;
    }
  }
  record({
    section: 'memory',
    measure: `peak RSS growth per ${count(step)} notebooks (each step of ${count(population)} created)`,
    unit: 'MiB',
    higherIsBetter: false,
    rounds: growth,
    target: 5,
    failed: held.failed,
  });
  if (with100k) {
    const rates = Object.fromEntries(paths.filter((t) => !held.failed[t.name]).map((t) => [t.name, [(population / createMs[t.name]!) * 1000]]));
    record({ section: `${count(sizes.huge)} notebooks`, measure: `create ${count(population)} at 64 in flight`, unit: 'per s', higherIsBetter: true, rounds: rates, target: 1, failed: held.failed });
  }
  return held;
}

/** Answers a GET and reads it to the end without keeping it; `needles` are counted on the way, `stop` can end it early. */
async function readStreamed(
  target: Target,
  path: string,
  needles: string[],
  stop: (counts: number[]) => boolean = () => false,
  dispatcher: Dispatcher = target.dispatcher,
): Promise<{ counts: number[]; ms: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no end after ${bigRequestBudgetMs / 60_000} minutes`)), bigRequestBudgetMs);
  const started = performance.now();
  try {
    const res = await request(`${target.origin}${path}`, {
      dispatcher,
      headers: { ...target.headers, accept: 'application/json' },
      signal: controller.signal,
      headersTimeout: bigRequestBudgetMs,
      bodyTimeout: bigRequestBudgetMs,
    });
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
    const counts = await countWhileReading(res.body, needles, stop);
    const ms = performance.now() - started;
    // A watch goes on after what was measured: closed here, its rest is never read.
    controller.abort();
    return { counts, ms };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The rows of the big population: LISTs and watches that read all of it, ≥ `repeats` rounds each, then memory: each
 * round samples the RSS at rest, the peak added by one full LIST, and by 10 concurrent full LISTs.
 */
async function measureBigPopulation(cluster: LocalCluster, targets: Target[], held: Held): Promise<void> {
  const section = `${count(sizes.huge)} notebooks`;
  const failedBefore = (t: Target): string | undefined => held.failed[t.name === 'aggregated' ? 'direct' : t.name];
  const base = (t: Target): string => collection(t, 'big');
  const item = '"seq":"';
  const added = '{"type":"ADDED"';
  const initialEnd = '"k8s.io/initial-events-end":"true"';
  const kinds: { name: string; run: (t: Target) => Promise<number> }[] = [
    {
      name: 'LIST, consistent',
      run: async (t) => {
        const { counts, ms } = await readStreamed(t, base(t), [item]);
        if (counts[0] !== population) throw new Error(`listed ${counts[0]}, want ${population}`);
        return ms;
      },
    },
    {
      name: 'LIST, paginated by 500',
      run: async (t) => {
        const started = performance.now();
        let items = 0;
        let path = `${base(t)}?limit=500`;
        for (;;) {
          const body = JSON.parse((await expectOk(t, 'GET', path)).text) as { items: unknown[]; metadata: { continue?: string } };
          items += body.items.length;
          if (!body.metadata.continue) break;
          path = `${base(t)}?limit=500&continue=${encodeURIComponent(body.metadata.continue)}`;
        }
        if (items !== population) throw new Error(`listed ${items}, want ${population}`);
        return performance.now() - started;
      },
    },
    {
      name: 'watch from resourceVersion=0, until every ADDED',
      run: async (t) => {
        const { counts, ms } = await readStreamed(t, `${base(t)}?watch=true&resourceVersion=0`, [added], (c) => c[0]! >= population, t.watchDispatchers[0]);
        if (counts[0] !== population) throw new Error(`received ${counts[0]} ADDED events, want ${population}`);
        return ms;
      },
    },
    {
      name: 'watch-list (sendInitialEvents), until the initial-events-end bookmark',
      run: async (t) => {
        const path = `${base(t)}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`;
        const { counts, ms } = await readStreamed(t, path, [added, initialEnd], (c) => c[1]! > 0, t.watchDispatchers[0]);
        if (counts[1] === 0) throw new Error(`the stream ended without the initial-events-end bookmark after ${counts[0]} ADDED events`);
        if (counts[0] !== population) throw new Error(`${counts[0]} ADDED events before the initial-events-end bookmark, want ${population}`);
        return ms;
      },
    },
  ];
  for (const kind of kinds) {
    const rounds: Partial<Record<TargetName, number[]>> = {};
    const failed: Partial<Record<TargetName, string>> = {};
    for (const t of targets) if (failedBefore(t)) failed[t.name] = `not measured: ${failedBefore(t)}`;
    for (let r = 0; r < repeats; r++) {
      for (const target of targets) {
        if (failed[target.name]) continue;
        progress(`${section}, ${kind.name}, round ${r + 1}/${repeats}: ${target.name}`);
        try {
          (rounds[target.name] ??= []).push(await kind.run(target));
        } catch (e) {
          failed[target.name] = `round ${r + 1}: ${(e as Error).message}`;
          progress(`${target.name} ${kind.name}: ${failed[target.name]}`);
        }
      }
    }
    record({ section, measure: kind.name, unit: 'ms', higherIsBetter: false, rounds, target: 1, failed });
  }

  // Memory: the process holding each path's objects, a LIST through the path that serves them.
  const paths = targets.filter((t) => t.name !== 'aggregated' && !failedBefore(t));
  const pids: Partial<Record<TargetName, number>> = { crd: cluster.pidOf('kube-apiserver'), direct: cluster.pidOf(`ai-apiserver:${cluster.serverPort}`) };
  const atRest: Partial<Record<TargetName, number[]>> = {};
  const oneList: Partial<Record<TargetName, number[]>> = {};
  const tenLists: Partial<Record<TargetName, number[]>> = {};
  const failed: Record<'rest' | 'one' | 'ten', Partial<Record<TargetName, string>>> = { rest: {}, one: {}, ten: {} };
  for (const t of targets) {
    if (t.name !== 'aggregated' && failedBefore(t)) for (const f of Object.values(failed)) f[t.name] = `not measured: ${failedBefore(t)}`;
  }
  const fullList = async (t: Target): Promise<void> => {
    const { counts } = await readStreamed(t, base(t), [item]);
    if (counts[0] !== population) throw new Error(`listed ${counts[0]}, want ${population}`);
  };
  for (let r = 0; r < repeats; r++) {
    for (const target of paths) {
      const pid = pids[target.name]!;
      progress(`${section}, memory round ${r + 1}/${repeats}: ${target.name} at rest`);
      const rest = (await idleRss([pid])).settledMiB[0]!;
      (atRest[target.name] ??= []).push(rest);
      if (!failed.one[target.name]) {
        progress(`${section}, memory round ${r + 1}/${repeats}: ${target.name}, one full LIST`);
        const sampler = sampleRss([pid]);
        try {
          await fullList(target);
          (oneList[target.name] ??= []).push((await sampler.stop()).peakMiB[0]! - rest);
        } catch (e) {
          await sampler.stop();
          failed.one[target.name] = `round ${r + 1}: ${(e as Error).message}`;
        }
      }
      if (failed.ten[target.name]) continue;
      // Ten LISTs of a path that needs gigabytes for one could take the machine's memory from everything else on it.
      const need = 10 * Math.max(...(oneList[target.name] ?? [0]));
      const available = memAvailableMiB();
      if (need > available - memoryHeadroomMiB) {
        failed.ten[target.name] = `not run: 10 × one LIST's peak (${need.toFixed(0)} MiB) is more than the ${available.toFixed(0)} MiB available less ${memoryHeadroomMiB} MiB kept for the machine`;
        continue;
      }
      progress(`${section}, memory round ${r + 1}/${repeats}: ${target.name}, 10 concurrent full LISTs`);
      const restBefore = (await idleRss([pid])).settledMiB[0]!;
      const sampler = sampleRss([pid]);
      try {
        await Promise.all(Array.from({ length: 10 }, () => fullList(target)));
        (tenLists[target.name] ??= []).push((await sampler.stop()).peakMiB[0]! - restBefore);
      } catch (e) {
        await sampler.stop();
        failed.ten[target.name] = `round ${r + 1}: ${(e as Error).message}`;
      }
    }
  }
  record({ section, measure: 'RSS at rest', unit: 'MiB', higherIsBetter: false, rounds: atRest, target: 1, failed: failed.rest });
  record({
    section,
    measure: 'peak RSS added by one full LIST',
    unit: 'MiB',
    higherIsBetter: false,
    rounds: oneList,
    target: 1,
    limit: { max: 64, text: '≤ 64 MiB' },
    failed: failed.one,
  });
  record({ section, measure: 'peak RSS added by 10 concurrent full LISTs', unit: 'MiB', higherIsBetter: false, rounds: tenLists, target: 1, failed: failed.ten });
}

/** A range over the raw values the write rounds put: how fast the server's own etcd client reads them back. */
async function measureEtcdRange(storage: EtcdStorage): Promise<void> {
  progress('raw etcd range');
  const ranges: number[] = [];
  let keys = 0;
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    keys = (await storage.list('/bench-raw/')).items.length;
    ranges.push(performance.now() - started);
  }
  etcdRange = { ms: median(ranges), keys };
  progress(`raw etcd: range of ${keys} keys ${etcdRange.ms.toFixed(0)} ms`);
}

/** Raw etcd on the same machine, through the same client the server uses: the ceiling every figure sits under. */
let etcdCeiling: { put: number; puts: number; bytes: number } | undefined;
let etcdRange: { ms: number; keys: number } | undefined;

function tableLines(): string[] {
  const lines = [
    '| section | measure | rounds | CRD (kube-apiserver) | this server via aggregator | this server direct | aggregated ÷ CRD | direct ÷ CRD | direct ÷ CRD, lowest–highest round | goal (direct) | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const agg = ratio(row, 'aggregated');
    const direct = ratio(row, 'direct');
    const rounds = Math.max(0, ...Object.values(row.rounds).map((xs) => xs.length));
    const goal = goalOf(row);
    const met = goal.met === undefined ? '' : goal.met ? 'yes' : 'no';
    // A path that failed partway keeps the rounds it finished.
    const cell = (t: TargetName): string =>
      !row.failed?.[t] ? format(valueOf(row, t), row.unit) : valueOf(row, t) === undefined ? 'failed (see notes)' : `${format(valueOf(row, t), row.unit)} (then failed, see notes)`;
    const values = (['crd', 'aggregated', 'direct'] as const).map(cell);
    lines.push(
      `| ${row.section} | ${row.measure} | ${rounds === 1 ? '1 (a single run)' : rounds} | ${values.join(' | ')} | ${agg.text} | ${direct.text} | ${roundRange(row)} | ${goal.text} | ${met} |`,
    );
  }
  return lines;
}

/** Every path that could not be measured on a row, why, and what this server did on the same row. */
function failureLines(): string[] {
  return rows.flatMap((row) =>
    (Object.entries(row.failed ?? {}) as [TargetName, string][]).map(([path, why]) => {
      const direct = valueOf(row, 'direct');
      const ours = path === 'direct' || direct === undefined ? '' : ` This server, direct: ${format(direct, row.unit)}.`;
      return `- ${row.section}, ${row.measure} — ${path}: ${why}.${ours}`;
    }),
  );
}

function printTable(): void {
  console.log(tableLines().join('\n'));
  console.log('');
  for (const s of slo) console.log(`${s.met ? 'met ' : 'MISSED'}  ${s.check}: ${s.figure}`);
  for (const line of failureLines()) console.log(line);
  if (etcdCeiling) console.log(`raw etcd: ${Math.round(etcdCeiling.put)} puts/s of ${etcdCeiling.bytes} bytes (64 in flight)`);
  console.log(`negotiated: ${protocols()}`);
}

const protocols = (): string =>
  (['crd', 'aggregated', 'direct'] as const).map((t) => `${t} ${[...(negotiated[t] ?? [])].sort().join(' and ') || 'no connection'}`).join(', ');

/**
 * Why a group of rows reads as it does: shown only when the run's own figures put the group on that side of its
 * target, and citing no figure (the figures are the table's).
 */
const explanations: { when: (missed: (section: string, measure?: string) => boolean | undefined) => boolean; text: string }[] = [
  {
    when: (missed) => missed('LIST of') === false,
    text:
      '**LISTs.** The watch cache keeps each object as its JSON, so a LIST is mostly concatenation, where ' +
      'kube-apiserver re-encodes every unstructured object on every LIST.',
  },
  {
    when: (missed) => missed('memory') === false,
    text:
      '**Memory.** kube-apiserver\'s cache holds each custom resource as nested Go maps (`unstructured.Unstructured`); ' +
      'this server holds each object once, as its JSON with the few fields selectors read, and decodes it only where ' +
      'a request needs the object (a Table, a controller).',
  },
  {
    when: (missed) => missed('memory') === true && defaultWorkers() > 1,
    text:
      '**Memory with several workers.** Each worker process keeps a watch cache of its own, as each kube-apiserver ' +
      'replica does, and the memory rows sum them: one worker\'s share is the figure divided by the workers. Each ' +
      'cached object is already held once, as its JSON (bench/PROFILE.md gives the heap one costs); ' +
      '`--workers=1` holds one cache where memory matters more than the cores.',
  },
  {
    when: (missed) => missed('writes') === true,
    text:
      '**Writes that miss.** A create costs this server more CPU than the whole round trip costs etcd: ' +
      '`npm run bench:profile` (bench/PROFILE.md) shows where, in one process: garbage collection, the etcd client ' +
      '(gRPC), the TLS socket writes, managedFields and schema validation. Workers spread that over the cores, but on ' +
      'this machine the cores are shared with etcd, kube-apiserver and the load generator. What is left to try: ' +
      'hand the watch cache the JSON the write just built instead of decoding its event again (the other workers ' +
      'still decode it), a leaner etcd client, fewer allocations per request.',
  },
  {
    when: (missed) => missed('watch') === true,
    text:
      '**Watch delay.** Each event is encoded once and the same bytes are written to every watcher\'s stream, but ' +
      'one stream after another on the event loop of the worker that holds the connection: HTTP/2 framing, TLS ' +
      'encryption and a write per stream (bench/PROFILE.md\'s watch phase), where kube-apiserver fans out over ' +
      'goroutines on every core; with HTTP/2 the load generator\'s 100 watchers to a connection sit on one worker.',
  },
  {
    when: (missed) => missed('watch') === true && !negotiated.direct?.has('h2'),
    text:
      '**Watches and HTTP/1.1.** This server negotiated HTTP/1.1 in this run, so every watch is a TLS connection of ' +
      'its own, directly and through the aggregator; over HTTP/2 they would share connections, as the CRD path\'s ' +
      'watches share the load generator\'s connections to kube-apiserver.',
  },
  {
    when: (missed) => missed(`${count(sizes.huge)} notebooks`, 'peak RSS added by one full LIST') === true,
    text:
      `**One full LIST of ${count(sizes.huge)} above 64 MiB.** The issue sets the bound as the test that a LIST is ` +
      'streamed rather than built whole: a peak over it means this server holds a large share of the response (hundreds ' +
      'of megabytes at this count) before the socket takes it.',
  },
  {
    when: (missed) => missed('GET', 'p99') === true,
    text:
      '**GET p99.** A GET round follows a burst of writes, and its slowest GETs are those that wait behind other work ' +
      'of the same event loop: in bench/PROFILE.md\'s GET phase, run right after a burst of creates, the GETs slower ' +
      'than the p99 overlap the server\'s garbage collections while the watch cache still applies the burst\'s ' +
      'events. The cache applies those about a millisecond at a time, so a GET no longer waits behind a whole batch; ' +
      'the collections of the burst\'s garbage remain, where kube-apiserver\'s collector runs beside requests on ' +
      'the other cores.',
  },
];

/** The whole of bench/RESULTS.md: every figure in it comes from this run. */
function resultsText(minutes: number, where: string): string {
  const sample = JSON.stringify(benchNotebook('nb-0', 0, `${crdGroup}/v1alpha1`));
  const missed = (section: string, measure?: string): boolean | undefined => {
    const judged = rows
      .filter((r) => r.section.startsWith(section) && (measure === undefined || r.measure === measure))
      .map(goalOf)
      .filter((g) => g.met !== undefined);
    if (judged.length === 0) return undefined;
    return judged.some((g) => !g.met);
  };
  const getP50 = rows.find((r) => r.section.startsWith('GET') && r.measure === 'p50');
  const hop = getP50 && valueOf(getP50, 'aggregated')! - valueOf(getP50, 'direct')!;
  const failures = failureLines();
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
    '`system:masters`. The load generator (undici, keep-alive) shares the machine\'s cores with every server; every',
    'connection offers h2 and HTTP/1.1 and the server chooses, as client-go does with kube-apiserver (many requests',
    `multiplexed on one HTTP/2 connection; watchers ${watchesPerConnection} to a connection). Negotiated in this run: ${protocols()}.`,
    `This server ran with \`${serverFlags.join(' ')}\` and \`--workers\` at its default: ${defaultWorkers()} worker processes here.`,
    '',
    '## How each row is measured',
    '',
    `The "rounds" column says how many rounds a row's figures are the median of; in every round each path is`,
    'measured once, one path after the other. Ratios are this server ÷ CRD of those medians: above 1 is better for',
    'throughput, below 1 is better for times and memory. "direct ÷ CRD, lowest–highest round" divides the two paths\'',
    'figures of the same round, to show how much the rounds agree. "met" judges the direct path against the issue\'s goal.',
    '',
    `- **LIST**: one LIST a round (every page of it, for the paginated rows) of ${count(sizes.large)}, then of ` +
      `${count(sizes.small)}, notebooks in one namespace, the only ones of their kind in the cluster; the time until the ` +
      'last byte of the last page.',
    `- **memory**: at the end of the run ${count(population)} notebooks are created in one namespace (64 in flight) on ` +
      `the CRD path and straight on this server, in steps of ${count(sizes.large)}, the two taking turns step by step; ` +
      'each step is a round. The VmRSS of kube-apiserver (which holds the CRD\'s objects) or of this server (its ' +
      'processes summed: the primary and every worker, each worker holding a watch cache of its own) is sampled ' +
      'every 100 ms from /proc while the step is created and afterwards until it settles (the last 3 s within 2 MiB or ' +
      '1 %); the round\'s figure is its peak minus where it had settled before the step (before the first, an idle ' +
      `window sampled the same way). The first step is the growth from none; each later one is what ${count(sizes.large)} ` +
      'more cost on top of those already held.',
    `- **writes**: a round creates ${createLevels.map((l) => `${count(l.count)} at ${l.inFlight}`).join(', ')} in ` +
      `flight, then makes ${count(sizes.mutations)} updates (PUT) and ${count(sizes.mutations)} merge patches at 16 in ` +
      'flight on objects created at 64; the rate is requests ÷ wall time of the round. After the creates at 64, the ' +
      `round puts ${count(createLevels.at(-1)!.count)} values at 64 in flight straight into this server's etcd through ` +
      'the etcd3 client the server uses (a create-only transaction, as the server\'s create), each the bytes the ' +
      'server stored for one of its notebooks; the "÷ raw etcd" row divides each path\'s create rate by that ' +
      'round\'s put rate (the CRD\'s etcd is a second etcd of the same build on the same machine).',
    `- **GET**: a round GETs ${count(sizes.gets)} notebooks one at a time; its p50 and p99 are over those GETs.`,
    `- **watch delay**: a round opens the watchers on one namespace, then makes ${count(sizes.watchWrites)} creates 20 ms ` +
      'apart; a delay runs from the create being sent to the event reaching a watcher (what a controller waits to ' +
      'see a write; from the create\'s answer it was often negative, the event arriving first), and the round\'s p50 ' +
      'and p99 are over every watcher\'s every event.',
    ...(with100k
      ? [
          `- **${count(sizes.huge)} notebooks**: the population above, once it is complete. Its creation is one run ` +
            '(notebooks ÷ the time spent creating them, the settling between steps left out). Each LIST and watch row ' +
            'reads all of it from one namespace, a round at a time: a consistent LIST until its last byte; every page of ' +
            'a LIST by 500; a watch from resourceVersion=0 until the last ADDED event; a watch-list ' +
            '(`sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`) until the bookmark ' +
            'that ends the initial events. The load generator counts the items as they stream in and keeps none. The ' +
            'memory rows are rounds too: the RSS at rest (the process settled as above), the peak added above it by one ' +
            'full consistent LIST, then by 10 concurrent ones, each LIST through the path that serves them (kube-apiserver ' +
            'for the CRD, this server straight). Time boxes, so that a path that cannot hold the population does not hang ' +
            `the run: ${crdPopulationBudgetMs / 60_000} minutes for the CRD path to create it, ${bigRequestBudgetMs / 60_000} ` +
            'minutes for any one request; 10 concurrent LISTs are not sent to a path whose one LIST\'s peak, ten times ' +
            `over, would leave the machine less than ${count(memoryHeadroomMiB)} MiB of MemAvailable. What failed is in ` +
            '"Where a path could not be measured".',
        ]
      : []),
    '',
    ...tableLines(),
    '',
    ...(failures.length > 0 ? ['## Where a path could not be measured', '', ...failures, ''] : []),
    '## Kubernetes SLOs through the aggregator',
    '',
    ...slo.map((s) => `- ${s.met ? 'met' : '**missed**'}: ${s.check} — ${s.figure}`),
    '',
    '## The etcd ceiling',
    '',
    etcdCeiling
      ? `Raw etcd on the same machine through the server's own client: ${count(Math.round(etcdCeiling.put))} puts/s ` +
        `of ${count(etcdCeiling.bytes)} bytes at 64 in flight (median of ${repeats} rounds of ${count(etcdCeiling.puts)})` +
        (etcdRange ? `; a range of ${count(etcdRange.keys)} such keys in ${etcdRange.ms.toFixed(0)} ms (median of ${repeats}).` : '.')
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
