// Where the server's CPU goes: one server process (--workers=1) on a real etcd, sampled by V8's profiler through the
// inspector protocol only while a phase runs, so start-up and warm-up are left out. Phases: creates at 64 in flight
// (the benchmark's write row), with the heap each created notebook leaves held after a full garbage collection (the
// benchmark's memory row, without the garbage), consistent LISTs of every notebook, then creates spaced apart while
// many watchers of their namespace wait (the benchmark's watch delay rows). For each it prints the CPU the process spent per request
// (or per event and per delivery), the share of garbage collection, the functions with the most self time, and the
// time spent under each of this repository's modules (inclusive; a module is counted once per sample however deep
// it recurs).
// Run: npm run bench:profile   (BENCH_OBJECTS changes the population, 10,000 by default; BENCH_WATCHERS the
// watchers, 1,000 by default; BENCH_NODE_ARGS adds flags for node itself, e.g. "--max-semi-space-size=32" to see
// what a larger young generation does to the GC share)
import { readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { Agent } from 'node:https';
import { Agent as H2Agent, buildConnector, request } from 'undici';
import { WebSocket } from 'ws';
import { freePort } from '../test/support/etcd.js';
import { startServer } from '../test/support/server.js';
import { benchNotebook, httpsClient, percentile, pool, progress, recordArrivals } from './objects.js';

const objects = Number(process.env.BENCH_OBJECTS ?? 10_000);
const inFlight = 64;
const warmUp = 1_000;
const lists = 5;
const gets = 500;
const watchers = Number(process.env.BENCH_WATCHERS ?? 1_000);
// As the benchmark's watch rows: watchers share HTTP/2 connections, 100 to one, and the creates are spaced so that
// each event's fan-out is measured alone rather than as a queue of them.
const watchesPerConnection = 100;
const watchEvents = 50;
const watchSpacingMs = 20;
const topFunctions = 15;
const samplingIntervalUs = 200;

/** The part of V8's Profile (the inspector's Profiler domain) this report reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** A minimal client of the inspector protocol: one method call at a time, answers matched by id. */
class Inspector {
  private next = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      if (message.error) throw new Error(`inspector: ${message.error.message}`);
      this.waiting.get(message.id)?.(message.result);
      this.waiting.delete(message.id);
    });
  }

  static async connect(port: number): Promise<Inspector> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return new Inspector(socket);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (result: unknown) => void);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

const repoRoot = new URL('..', import.meta.url).pathname;

/** A frame's name as the report shows it: function, file and line, this repository's files by their path in it. */
function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const file = frame.url.startsWith(`file://${repoRoot}`) ? frame.url.slice(`file://${repoRoot}`.length) : frame.url.split('/').pop() || '(native)';
  return `${frame.functionName || '(anonymous)'} ${file}${frame.lineNumber >= 0 ? `:${frame.lineNumber + 1}` : ''}`;
}

/** Our module of a frame (src/…), or undefined for Node's, dependencies' and V8's own. */
function ourModule(url: string): string | undefined {
  const path = url.startsWith(`file://${repoRoot}`) ? url.slice(`file://${repoRoot}`.length) : undefined;
  return path?.startsWith('src/') ? path : undefined;
}

/** The CPU time a process has used, user and system, in ms (proc(5): utime and stime, in clock ticks of 1/100 s). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** What a phase did and what its CPU came to, per unit of its work: the report's first sentences. */
function perRequest(requests: number, wallMs: number, usedMs: number): string {
  return (
    `${requests.toLocaleString('en-US')} requests in ${(wallMs / 1000).toFixed(2)} s. The process used ${usedMs.toFixed(0)} ms of CPU ` +
    `(proc(5)): **${((usedMs * 1000) / requests).toFixed(0)} µs per request**, one core's ceiling ` +
    `${Math.round(requests / (usedMs / 1000)).toLocaleString('en-US')} requests/s.`
  );
}

function report(title: string, profile: CpuProfile, summary: string): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i]!));

  let idleUs = 0;
  let gcUs = 0;
  let totalUs = 0;
  const selfByName = new Map<string, number>();
  const underModule = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (node.callFrame.functionName === '(garbage collector)') gcUs += us;
    const name = frameName(node.callFrame);
    selfByName.set(name, (selfByName.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const module = ourModule(byId.get(at)!.callFrame.url);
      if (module && !seen.has(module)) {
        seen.add(module);
        underModule.set(module, (underModule.get(module) ?? 0) + us);
      }
    }
  }
  const busyUs = totalUs - idleUs;
  const share = (us: number): string => `${((us / busyUs) * 100).toFixed(1)} %`;
  const lines = [
    `## ${title}`,
    '',
    `${summary} The profiler found it running in ${(busyUs / 1000).toFixed(0)} of ${(totalUs / 1000).toFixed(0)} ms sampled; ` +
      `garbage collection took ${share(gcUs)} of that.`,
    '',
    '| self time | function |',
    '| --- | --- |',
    ...[...selfByName].sort((a, b) => b[1] - a[1]).slice(0, topFunctions).map(([name, us]) => `| ${share(us)} | \`${name}\` |`),
    '',
    '| time under it | module |',
    '| --- | --- |',
    ...[...underModule].sort((a, b) => b[1] - a[1]).slice(0, topFunctions).map(([module, us]) => `| ${share(us)} | \`${module}\` |`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}


type Phase = (title: string, run: () => Promise<void>, summary: (wallMs: number, usedMs: number) => string) => Promise<void>;

/**
 * Opens the watchers (not profiled), then profiles creates in their namespace, spaced apart, until every watcher has
 * read every event: the CPU per event and per delivery, and each delivery's delay from its create being sent.
 */
async function watchPhase(phase: Phase): Promise<void> {
  const path = '/apis/ai.example.io/v1alpha1/namespaces/profile-watch/notebooks';
  const listed = await call(path);
  if (listed.status !== 200) throw new Error(`list: ${listed.status}`);
  const { resourceVersion } = (JSON.parse(listed.body) as { metadata: { resourceVersion: string } }).metadata;
  const protocols = new Set<string>();
  const connector = buildConnector({ rejectUnauthorized: false, allowH2: true });
  const connections = Array.from(
    { length: Math.ceil(watchers / watchesPerConnection) },
    () =>
      new H2Agent({
        allowH2: true,
        connect: (options, callback) =>
          connector(options, (error, socket) => {
            if (socket && 'alpnProtocol' in socket) protocols.add(String(socket.alpnProtocol || 'http/1.1'));
            if (error) callback(error, null);
            else callback(null, socket!);
          }),
      }),
  );
  const stop = new AbortController();
  setMaxListeners(watchers + 10, stop.signal);
  const arrivals: number[][] = [];
  const streams = await Promise.all(
    Array.from({ length: watchers }, async (_, w) => {
      const seen: number[] = (arrivals[w] = []);
      const res = await request(`${server.url}${path}?watch=true&resourceVersion=${resourceVersion}`, {
        dispatcher: connections[Math.floor(w / watchesPerConnection)]!,
        headers: { authorization: `Bearer ${server.token}`, accept: 'application/json' },
        signal: stop.signal,
      });
      if (res.statusCode !== 200) throw new Error(`watch: ${res.statusCode}`);
      // Wrapped, so that awaiting the opened streams does not wait for them to end.
      return { done: recordArrivals(res.body, seen) };
    }),
  );
  const sent: number[] = [];
  const everyEventRead = (): boolean => arrivals.every((seen) => seen.filter((t) => t !== undefined).length === watchEvents);
  try {
    await phase(
      `${watchers.toLocaleString('en-US')} watchers of one namespace, ${watchEvents} creates in it ${watchSpacingMs} ms apart`,
      async () => {
        for (let i = 0; i < watchEvents; i++) {
          sent[i] = performance.now();
          const answer = await call(path, { method: 'POST', body: JSON.stringify(benchNotebook(`w-${i}`, i)) });
          if (answer.status !== 201) throw new Error(`create: ${answer.status} ${answer.body.slice(0, 300)}`);
          await new Promise((resolve) => setTimeout(resolve, watchSpacingMs));
        }
        const deadline = Date.now() + 60_000;
        while (!everyEventRead() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        if (!everyEventRead()) throw new Error('some watch events never arrived');
      },
      (wallMs, usedMs) => {
        const delays = arrivals.flatMap((seen) => seen.map((at, i) => at - sent[i]!));
        return (
          `${watchers.toLocaleString('en-US')} watchers over ${[...protocols].join(' and ')}, ${watchesPerConnection} to a connection, ` +
          `${watchEvents} creates: ${(watchers * watchEvents).toLocaleString('en-US')} deliveries in ${(wallMs / 1000).toFixed(2)} s. ` +
          `The process used ${usedMs.toFixed(0)} ms of CPU (proc(5)): **${((usedMs * 1000) / watchEvents).toFixed(0)} µs per event** ` +
          `(its create included), **${((usedMs * 1000) / (watchEvents * watchers)).toFixed(1)} µs per delivery**. From a create ` +
          `being sent to a watcher reading its event (under the profiler): p50 ${percentile(delays, 0.5).toFixed(1)} ms, ` +
          `p99 ${percentile(delays, 0.99).toFixed(1)} ms.`
        );
      },
    );
  } finally {
    stop.abort();
    await Promise.all(streams.map((stream) => stream.done));
    await Promise.all(connections.map((c) => c.close()));
  }
}

/**
 * In the server, through the inspector: records every garbage collection's start (on the wall clock, as the load
 * generator's) and length, so that a slow GET can be matched with a pause that overlapped it.
 */
const gcRecorder = `(() => {
  const { PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
  globalThis.benchGcPauses = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) globalThis.benchGcPauses.push([performance.timeOrigin + entry.startTime, entry.duration]);
  }).observe({ entryTypes: ['gc'] });
})()`;

/**
 * GETs one at a time right after the creates, as the benchmark's GET rows follow its writes (a GET without a
 * resourceVersion reads etcd, as kube-apiserver's does), with the server's garbage collections recorded: how many of
 * the GETs slower than the p99 overlapped a pause says how much of the tail is the server's GC.
 */
async function getPhase(phase: Phase): Promise<void> {
  await inspector.call('Runtime.evaluate', { expression: gcRecorder });
  const spans: { start: number; ms: number }[] = [];
  let pauses: [number, number][] = [];
  await phase(
    `${gets} GETs one at a time, right after the creates`,
    async () => {
      for (let i = 0; i < gets; i++) {
        const name = `nb-${String((i * 7919) % objects).padStart(6, '0')}`;
        const start = performance.timeOrigin + performance.now();
        const answer = await call(`${base}/${name}`);
        if (answer.status !== 200) throw new Error(`get: ${answer.status}`);
        spans.push({ start, ms: performance.timeOrigin + performance.now() - start });
      }
      const { result } = await inspector.call<{ result: { value: [number, number][] } }>('Runtime.evaluate', {
        expression: 'globalThis.benchGcPauses.splice(0)',
        returnByValue: true,
      });
      pauses = result.value.filter(([at]) => at >= spans[0]!.start);
    },
    (wallMs, usedMs) => {
      const p99 = percentile(spans.map((span) => span.ms), 0.99);
      const slow = spans.filter((span) => span.ms > p99);
      const overlapped = slow.filter((span) => pauses.some(([at, ms]) => at < span.start + span.ms && at + ms > span.start));
      const longest = Math.max(0, ...pauses.map(([, ms]) => ms));
      return (
        `${perRequest(gets, wallMs, usedMs)} Latency p50 ${percentile(spans.map((span) => span.ms), 0.5).toFixed(2)} ms, ` +
        `p99 ${p99.toFixed(2)} ms, slowest ${Math.max(...spans.map((span) => span.ms)).toFixed(2)} ms. The server collected garbage ` +
        `${pauses.length} times in the phase (longest pause ${longest.toFixed(2)} ms); **${overlapped.length} of the ${slow.length} GETs ` +
        `slower than the p99 overlapped a pause**.`
      );
    },
  );
}

const inspectPort = await freePort();
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
// HTTP/2 is offered for the watchers, as the benchmark's server offers it; the other phases' client speaks HTTP/1.1.
const server = await startServer({ extraArgs: ['--workers=1', '--log-level=warn', '--enable-http2-serving'], nodeArgs: [...nodeArgs, `--inspect=127.0.0.1:${inspectPort}`] });
const agent = new Agent({ keepAlive: true, maxSockets: inFlight, rejectUnauthorized: false });
const call = httpsClient(server.url, server.token, agent);
const base = '/apis/ai.example.io/v1alpha1/namespaces/bench/notebooks';
const inspector = await Inspector.connect(inspectPort);
try {
  const create = async (i: number): Promise<void> => {
    const notebook = benchNotebook(`nb-${String(i).padStart(6, '0')}`, i);
    const answer = await call(base, { method: 'POST', body: JSON.stringify(notebook) });
    if (answer.status !== 201) throw new Error(`create: ${answer.status} ${answer.body.slice(0, 300)}`);
  };
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  const phase = async (title: string, run: () => Promise<void>, summary: (wallMs: number, usedMs: number) => string): Promise<void> => {
    progress(title);
    await inspector.call('Profiler.start');
    const started = performance.now();
    const cpuBefore = cpuMs(server.child.pid!);
    await run();
    const usedMs = cpuMs(server.child.pid!) - cpuBefore;
    const wallMs = performance.now() - started;
    const { profile } = await inspector.call<{ profile: CpuProfile }>('Profiler.stop');
    report(title, profile, summary(wallMs, usedMs));
  };

  process.stdout.write(
    `# Where the server's CPU goes\n\nReproduce: \`npm run bench:profile\` (one server process, --workers=1, on etcd; ` +
      `Node ${process.version}${nodeArgs.length ? ` with \`${nodeArgs.join(' ')}\`` : ''}; V8's sampling profiler every ${samplingIntervalUs} µs, only while a phase runs; ` +
      `the load generator and etcd share the machine's cores; the watchers are offered h2 and take it, 100 to a connection, as the ` +
      `benchmark's). Shares are of the samples that found the process running. \`(program)\` is native code outside any ` +
      `JavaScript function (HTTP/2 framing, TLS, system calls) and, as samples are taken on the clock, time the process ` +
      `waited for a core: on a loaded machine the profiler finds it "running" for longer than the CPU it used.\n\n`,
  );
  progress(`warming up: ${warmUp} creates, not profiled`);
  await pool(warmUp, inFlight, create);
  /** The server's V8 heap in use after a full collection: what it holds, without the garbage a moment leaves. */
  const heapUsedAfterGc = async (): Promise<number> => {
    await inspector.call('HeapProfiler.collectGarbage');
    const { result } = await inspector.call<{ result: { value: number } }>('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
    return result.value;
  };
  const heapBefore = await heapUsedAfterGc();
  await phase(
    `creates at ${inFlight} in flight (notebooks of ${warmUp + 1} to ${objects})`,
    () => pool(objects - warmUp, inFlight, (i) => create(warmUp + i)),
    (wallMs, usedMs) => perRequest(objects - warmUp, wallMs, usedMs),
  );
  const heapGrowth = (await heapUsedAfterGc()) - heapBefore;
  process.stdout.write(
    `After a full garbage collection the V8 heap holds ${(heapGrowth / 2 ** 20).toFixed(1)} MiB more than before these creates: ` +
      `**${Math.round(heapGrowth / (objects - warmUp)).toLocaleString('en-US')} bytes per notebook** created (its place in the watch ` +
      `cache and its event in the history ring; ${JSON.stringify(benchNotebook('nb-0', 0)).length.toLocaleString('en-US')} bytes as sent).\n\n`,
  );
  await getPhase(phase);
  await phase(
    `consistent LIST of ${objects.toLocaleString('en-US')} notebooks, ${lists} one after another`,
    async () => {
      for (let i = 0; i < lists; i++) {
        const answer = await call(base);
        if (answer.status !== 200) throw new Error(`list: ${answer.status}`);
      }
    },
    (wallMs, usedMs) => perRequest(lists, wallMs, usedMs),
  );
  await watchPhase(phase);
} finally {
  inspector.close();
  agent.destroy();
  await server.stop();
}
