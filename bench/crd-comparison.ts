// This server side by side with what users would run instead: a CustomResourceDefinition served by kube-apiserver.
// One run, one machine, one local control plane (test/support/cluster.ts), the same ~2 KiB notebooks, three paths:
//   crd        — CRDs generated from this project's schemas (src/api/v1alpha1/crd.ts), group bench.example.io
//   aggregated — this server through kube-apiserver's aggregator
//   direct     — this server, straight (with the front proxy's certificate, as kube-apiserver calls it)
// Both stores are etcd 3.6 on loopback; the server runs without its controllers. Prints one table with the ratios
// (this server ÷ CRD) and writes it, with the command that reproduces it, into bench/RESULTS.md.
// Run: npm run bench   (about 10 minutes on 2 cores once the control plane is built; BENCH_REPEATS rounds, 5)
import { setMaxListeners } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Agent, request, type Dispatcher } from 'undici';
import pino from 'pino';
import { EtcdStorage } from '../src/storage/etcd/etcd-storage.js';
import { LocalCluster, users } from '../test/support/cluster.js';
import { etcdBinary, etcdVersion } from '../test/support/etcd.js';
import { benchNotebook, median, percentile, pool, progress } from './objects.js';

const crdGroup = 'bench.example.io';
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const listSizes = [1_000, 10_000];
const createLevels = [
  { inFlight: 1, count: 100 },
  { inFlight: 16, count: 500 },
  { inFlight: 64, count: 1_000 },
];
const mutations = 500;
const gets = 500;
const watcherCounts = [100, 1_000];
const watchWrites = 50;
const resultsFile = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

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
 * Creates `count` notebooks `prefix-<from+i>` with `inFlight` at a time; returns the rate, each request's latency
 * and the created objects.
 */
async function createMany(target: Target, namespace: string, prefix: string, count: number, inFlight: number, from = 0) {
  const latencies: number[] = [];
  const created: Record<string, unknown>[] = [];
  const started = performance.now();
  await pool(count, inFlight, async (i) => {
    const t = performance.now();
    const reply = await expectOk(target, 'POST', collection(target, namespace), notebookFor(target, `${prefix}-${from + i}`, from + i));
    latencies.push(performance.now() - t);
    created.push(JSON.parse(reply.text) as Record<string, unknown>);
  });
  return { rate: (count / (performance.now() - started)) * 1000, latencies, created };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** A row of the results: one figure per path, and which way is better. */
interface Row {
  section: string;
  measure: string;
  unit: 'per s' | 'ms' | 'MiB';
  higherIsBetter: boolean;
  values: Partial<Record<TargetName, number>>;
  /** The least (or most) the direct path must reach relative to the CRD: 1 = match, 2 = twice as good. */
  target?: number;
}

const rows: Row[] = [];
const slo: { check: string; figure: string; met: boolean }[] = [];

function record(row: Row): void {
  rows.push(row);
  const values = (['crd', 'aggregated', 'direct'] as const).map((t) => `${t} ${format(row.values[t], row.unit)}`).join(', ');
  progress(`${row.measure}: ${values}`);
}

function format(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined) return '—';
  if (unit === 'per s') return `${Math.round(value).toLocaleString('en-US')} /s`;
  if (unit === 'MiB') return `${value.toFixed(0)} MiB`;
  return value >= 100 ? `${Math.round(value).toLocaleString('en-US')} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

/** this server ÷ CRD, with whether the direct path meets the row's target. */
function ratio(row: Row, path: TargetName): { text: string; better: number | undefined } {
  const ours = row.values[path];
  const crd = row.values.crd;
  if (ours === undefined || crd === undefined || crd === 0 || ours === 0) return { text: '—', better: undefined };
  const r = ours / crd;
  // How many times better than the CRD, whichever way "better" points.
  const better = row.higherIsBetter ? r : 1 / r;
  return { text: `${r.toFixed(2)}`, better };
}

async function main(): Promise<void> {
  const startedAt = Date.now();
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
      await createMany(target, 'warm', `warm-${target.name}`, 200, 16);
      for (let i = 0; i < 200; i++) await expectOk(target, 'GET', `${collection(target, 'warm')}/warm-${target.name}-${i}`);
      await expectOk(target, 'GET', collection(target, 'warm'));
      await expectOk(target, 'DELETE', collection(target, 'warm'));
    }

    const kubePid = cluster.pidOf('kube-apiserver');
    const serverPid = cluster.pidOf(`ai-apiserver:${cluster.serverPort}`);
    const rssBefore = { kube: rssMiB(kubePid), server: rssMiB(serverPid) };

    // LIST of 1,000 then 10,000 notebooks in one namespace, the only ones of their kind in the cluster. The CRD's
    // are created through kube-apiserver, this server's straight to it (both paths then read the same objects).
    let populated = 0;
    for (const size of listSizes) {
      progress(`populating ${size} notebooks per API`);
      for (const target of [byName.crd, byName.direct]) {
        await createMany(target, 'list', 'nb', size - populated, 64, populated);
      }
      populated = size;
      if (size === 10_000) {
        await settle();
        record({
          section: 'memory',
          measure: 'RSS growth for 10,000 notebooks (kube-apiserver for the CRD, this server for its own)',
          unit: 'MiB',
          higherIsBetter: false,
          values: { crd: rssMiB(kubePid) - rssBefore.kube, direct: rssMiB(serverPid) - rssBefore.server },
          target: 2,
        });
      }
      await measureLists(targets, size);
    }
    // The LIST population goes, so the throughput and watch namespaces are measured on an otherwise quiet store.
    for (const target of [byName.crd, byName.direct]) await expectOk(target, 'DELETE', collection(target, 'list'));

    await measureWrites(targets);
    await measureWatches(targets);
    await measureEtcdCeiling(cluster);

    const minutes = (Date.now() - startedAt) / 60_000;
    writeResults(minutes);
    printTable();
    progress(`done in ${minutes.toFixed(1)} minutes; wrote ${resultsFile}`);
  } finally {
    for (const a of agents) await a.destroy().catch(() => undefined);
    await cluster.stop();
  }
}

/** Lets both processes finish the work just done (watch caches, GC) before a memory reading. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 5_000));
}

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
    const values: Partial<Record<TargetName, number>> = {};
    for (const target of targets) {
      const times: number[] = [];
      for (let r = 0; r < Math.max(repeats, 3); r++) {
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
        times.push(performance.now() - t);
        if (items !== size) throw new Error(`${target.name} ${kind.name}: listed ${items}, want ${size}`);
      }
      values[target.name] = median(times);
      if (size === 10_000 && target.name === 'aggregated' && kind.name.startsWith('namespace')) {
        const worst = Math.max(...times);
        slo.push({ check: `LIST ${kind.name} of 10,000 through the aggregator ≤ 5 s`, figure: format(worst, 'ms'), met: worst <= 5_000 });
      }
    }
    record({ section: `LIST of ${size.toLocaleString('en-US')}`, measure: kind.name, unit: 'ms', higherIsBetter: false, values, target: size === 10_000 ? 2 : 1 });
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
    const rates = createRates.get(String(level.inFlight))!;
    record({
      section: 'writes',
      measure: `create, ${level.inFlight} in flight`,
      unit: 'per s',
      higherIsBetter: true,
      values: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)])),
      target: 1,
    });
  }

  const updateRates: Partial<Record<TargetName, number[]>> = {};
  const patchRates: Partial<Record<TargetName, number[]>> = {};
  const getP50: Partial<Record<TargetName, number[]>> = {};
  const getP99: Partial<Record<TargetName, number[]>> = {};
  for (let r = 0; r < repeats; r++) {
    for (const target of targets) {
      progress(`updates, patches and GETs, round ${r + 1}/${repeats}: ${target.name}`);
      const objects = createdByTarget[target.name]!.slice(r * mutations, (r + 1) * mutations);
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
      for (let i = 0; i < gets; i++) {
        const name = (objects[(i * 7919) % objects.length] as { metadata: { name: string } }).metadata.name;
        const t = performance.now();
        await expectOk(target, 'GET', `${base}/${name}`);
        latencies.push(performance.now() - t);
      }
      (getP50[target.name] ??= []).push(percentile(latencies, 0.5));
      (getP99[target.name] ??= []).push(percentile(latencies, 0.99));
    }
  }
  const medians = (m: Partial<Record<TargetName, number[]>>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
  record({ section: 'writes', measure: 'update (PUT), 16 in flight', unit: 'per s', higherIsBetter: true, values: medians(updateRates), target: 1 });
  record({ section: 'writes', measure: 'merge patch, 16 in flight', unit: 'per s', higherIsBetter: true, values: medians(patchRates), target: 1 });
  record({ section: 'reads', measure: 'GET p50, one at a time', unit: 'ms', higherIsBetter: false, values: medians(getP50), target: 1 });
  record({ section: 'reads', measure: 'GET p99, one at a time', unit: 'ms', higherIsBetter: false, values: medians(getP99), target: 1 });
  const mutatingP99 = percentile(mutatingLatencies.aggregated!, 0.99);
  slo.push({ check: 'mutating calls through the aggregator, p99 ≤ 1 s (creates at 16 in flight, updates, patches)', figure: format(mutatingP99, 'ms'), met: mutatingP99 <= 1_000 });
  const getWorst = Math.max(...getP99.aggregated!);
  slo.push({ check: 'GET through the aggregator, p99 ≤ 1 s', figure: format(getWorst, 'ms'), met: getWorst <= 1_000 });
  for (const target of targets) await expectOk(target, 'DELETE', collection(target, `tput-${target.name}`));
}

/**
 * `count` watchers on one namespace, then `watchWrites` creates one after another; each event's delay is the time
 * from the create's answer reaching the writer to the event reaching a watcher (every watcher, every event).
 */
async function measureWatches(targets: Target[]): Promise<void> {
  for (const count of watcherCounts) {
    const p50: Partial<Record<TargetName, number>> = {};
    const p99: Partial<Record<TargetName, number>> = {};
    for (const target of targets) {
      progress(`${count} watchers: ${target.name}`);
      const namespace = `watch-${target.name}`;
      const listed = JSON.parse((await expectOk(target, 'GET', collection(target, namespace))).text) as { metadata: { resourceVersion: string } };
      const arrivals: number[][] = [];
      const controller = new AbortController();
      setMaxListeners(count + 10, controller.signal);
      const streams = await Promise.all(
        Array.from({ length: count }, async (_, w) => {
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
      for (let i = 0; i < watchWrites; i++) {
        await expectOk(target, 'POST', collection(target, namespace), notebookFor(target, `w${count}-${i}`, i));
        acks[i] = performance.now();
        await new Promise((r) => setTimeout(r, 20));
      }
      const deadline = Date.now() + 60_000;
      while (arrivals.some((seen) => seen.filter((t) => t !== undefined).length < watchWrites) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      controller.abort();
      await Promise.all(streams.map((stream) => stream.done));
      const delays: number[] = [];
      let missing = 0;
      for (const seen of arrivals) {
        for (let i = 0; i < watchWrites; i++) {
          if (seen[i] === undefined) missing++;
          else delays.push(Math.max(0, seen[i]! - acks[i]!));
        }
      }
      if (missing > 0) throw new Error(`${target.name}: ${missing} of ${count * watchWrites} watch events never arrived`);
      p50[target.name] = percentile(delays, 0.5);
      p99[target.name] = percentile(delays, 0.99);
      await expectOk(target, 'DELETE', collection(target, namespace));
    }
    record({ section: 'watch', measure: `${count} watchers: delay p50, write answered → event delivered`, unit: 'ms', higherIsBetter: false, values: p50, target: 1 });
    record({ section: 'watch', measure: `${count} watchers: delay p99`, unit: 'ms', higherIsBetter: false, values: p99, target: 1 });
  }
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
      await pool(2_000, 64, async (i) => {
        await storage.create(`/bench-raw/${r}/${String(i).padStart(5, '0')}`, value);
      });
      rates.push((2_000 / (performance.now() - started)) * 1000);
    }
    const ranges: number[] = [];
    for (let r = 0; r < 5; r++) {
      const started = performance.now();
      await storage.list('/bench-raw/');
      ranges.push(performance.now() - started);
    }
    etcdCeiling = { put: median(rates), range: median(ranges), keys: repeats * 2_000, bytes: value.length };
    progress(`raw etcd: ${Math.round(etcdCeiling.put)} puts/s, range of ${etcdCeiling.keys} keys ${etcdCeiling.range.toFixed(0)} ms`);
  } finally {
    await storage.close();
  }
}

let etcdCeiling: { put: number; range: number; keys: number; bytes: number } | undefined;

function tableLines(): string[] {
  const lines = [
    '| section | measure | CRD (kube-apiserver) | this server via aggregator | this server direct | aggregated ÷ CRD | direct ÷ CRD | direct target | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const agg = ratio(row, 'aggregated');
    const direct = ratio(row, 'direct');
    const goal = row.target === undefined ? '' : row.target === 1 ? 'at least match' : `${row.target}× better`;
    const met = row.target === undefined || direct.better === undefined ? '' : direct.better >= row.target ? 'yes' : 'no';
    lines.push(
      `| ${row.section} | ${row.measure} | ${format(row.values.crd, row.unit)} | ${format(row.values.aggregated, row.unit)} | ${format(row.values.direct, row.unit)} | ${agg.text} | ${direct.text} | ${goal} | ${met} |`,
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
  const best = Math.max(...rows.filter((r) => r.measure.startsWith('create')).flatMap((r) => Object.values(r.values)));
  return `${Math.round((best / putRate) * 100)} %`;
}

/** Rewrites the generated part of bench/RESULTS.md; the notes below the marker are kept from run to run. */
function writeResults(minutes: number): void {
  const marker = '<!-- notes below this line are kept when the benchmark rewrites this file -->';
  let notes = '';
  try {
    const previous = readFileSync(resultsFile, 'utf8');
    const at = previous.indexOf(marker);
    if (at >= 0) notes = previous.slice(at + marker.length);
  } catch {
    // first run
  }
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const text = [
    '# Benchmark: this server against kube-apiserver\'s CRDs',
    '',
    `Reproduce: \`npm run bench\` (generated ${when} UTC in ${minutes.toFixed(1)} minutes on ${cpus().length} cores, ` +
      `${Math.round(totalmem() / 1024 ** 3)} GiB; Node ${process.version}, kube-apiserver v1.32.2, etcd ${etcdVersion(etcdBinary())} for both stores).`,
    '',
    'The same ~2 KiB notebooks (a ~2,030-byte body; stored with managedFields) on three paths in one local control plane:',
    `**CRD** — CustomResourceDefinitions generated from this project's schemas, group \`${crdGroup}\`, served by`,
    'kube-apiserver; **aggregated** — this server behind the APIService; **direct** — this server without the',
    'aggregator hop (HTTPS with the front-proxy certificate, as kube-apiserver calls it). Everyone is `system:masters`.',
    `Figures are medians of ${repeats} rounds (LISTs: of at least 3). Ratios are this server ÷ CRD: above 1 is better for`,
    'throughput, below 1 is better for times and memory. "met" judges the direct path against the issue\'s target.',
    'The load generator (undici, keep-alive, HTTP/1.1) shares the two cores with every server.',
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
      ? `Raw etcd on the same machine through the server's own client: ${Math.round(etcdCeiling.put).toLocaleString('en-US')} puts/s ` +
        `of ${etcdCeiling.bytes} bytes at 64 in flight; a range of ${etcdCeiling.keys.toLocaleString('en-US')} such keys in ${etcdCeiling.range.toFixed(0)} ms. ` +
        `The fastest create rate above is ${ceilingShare(etcdCeiling.put)} of that put rate.`
      : 'not measured',
    '',
    marker,
  ].join('\n');
  writeFileSync(resultsFile, `${text}${notes || '\n'}`);
}

await main();
