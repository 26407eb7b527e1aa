// Pages from the watch cache against pages from etcd, and a LIST's body streamed against built whole, as ratios of one
// run. Two servers run on one etcd holding the same 10,000 notebooks: this tree's and the tree given as --before (a
// checkout of the earlier code with its node_modules); each round times kubectl's pages of 500, as JSON and as Table,
// on both, one after the other (the order alternating), and then the peak RSS one full LIST adds to each. Last, in a
// child process per round, the peak RSS that sending one LIST of 10,000 adds when streamed as rest.ts streams it and
// when built as one body (what a non-streaming encoder does), with a check that the two bodies are the same bytes.
// Run: npm run bench:list-pages -- --before /path/to/earlier/checkout   (BENCH_OBJECTS changes the size)
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { cacheDecoder } from '../src/registry/codec.js';
import type { ListResult } from '../src/registry/store.js';
import { resources } from '../src/resources/index.js';
import { encodeList, type EncodeContext } from '../src/server/encoders.js';
import { startEtcd } from '../test/support/etcd.js';
import { startServer, type ServerProcess } from '../test/support/server.js';
import { benchNotebook, median, pool, progress } from './objects.js';
import { factor, loadNow, machine } from './report.js';

const objects = Number(process.env.BENCH_OBJECTS ?? 10_000);
const rounds = 5;
const pageSize = 500;
const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const MiB = 1024 ** 2;

/** This process's resident set: now, and its peak since the last reset. */
function rss(pid: number | 'self'): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { now: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Sets VmHWM back to VmRSS (proc(5), clear_refs 5), so the next peak is the one a request makes. */
function resetPeak(pid: number | 'self'): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

if (process.argv[2] === '--encode-child') {
  await encodeChild(process.argv[3] === 'whole');
} else {
  await main();
}

/** One variant's server, in a process of its own: answers one LIST of `objects` notebooks, then reports its RSS. */
async function encodeChild(whole: boolean): Promise<void> {
  const strategy = resources.strategies.find((s) => s.info.resource === 'notebooks')!;
  const decode = cacheDecoder(strategy.fieldValues);
  const items = Array.from({ length: objects }, (_, i) => {
    const object = benchNotebook(`nb-${String(i).padStart(5, '0')}`, i);
    object.metadata.namespace = 'bench';
    return decode('', Buffer.from(JSON.stringify(object)), i + 2);
  });
  const result: ListResult = { items, resourceVersion: String(objects + 2) };
  const ctx: EncodeContext = { info: strategy.info, printerColumns: strategy.printerColumns, representation: 'json', includeObject: 'Object' };
  let rest = 0;
  const server = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    if (whole) res.end(Buffer.from([...encodeList(ctx, result)].join('')));
    else Readable.from(encodeList(ctx, result), { highWaterMark: 1 }).pipe(res);
    res.on('finish', () => {
      const { peak } = rss('self');
      process.send!({ rest, peak });
      server.close();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    (globalThis as { gc?: () => void }).gc?.();
    rest = rss('self').now;
    resetPeak('self');
    process.send!({ port: (server.address() as AddressInfo).port });
  });
}

async function encodeRound(whole: boolean): Promise<{ added: number; sha: string; bytes: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--encode-child', whole ? 'whole' : 'streamed'], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, BENCH_OBJECTS: String(objects) },
  });
  const messages: Record<string, number>[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (m) => {
    messages.push(m as Record<string, number>);
    wake?.();
  });
  const nextMessage = async (): Promise<Record<string, number>> => {
    while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return messages.shift()!;
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { port } = await nextMessage();
  const hash = createHash('sha256');
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      res.on('end', resolve);
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  const { rest, peak } = await nextMessage();
  await exited;
  return { added: peak! - rest!, sha: hash.digest('hex'), bytes };
}

async function main(): Promise<void> {
  const beforeAt = process.argv.indexOf('--before');
  const beforeDir = beforeAt > 0 ? process.argv[beforeAt + 1] : undefined;
  if (!beforeDir) throw new Error('usage: bench/list-pages.ts --before <checkout of the earlier code, with node_modules>');
  const startLoad = loadNow();
  const etcd = await startEtcd();
  const servers: Record<'before' | 'after', ServerProcess> = {
    before: await startServer({ etcdServers: [etcd.endpoint], repoDir: beforeDir }),
    after: await startServer({ etcdServers: [etcd.endpoint] }),
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const get = (server: ServerProcess, path: string, accept = 'application/json'): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      request(`${server.url}${path}`, { agent, headers: { Authorization: `Bearer ${server.token}`, Accept: accept } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
  const base = '/apis/ai.example.io/v1alpha1/namespaces/bench/notebooks';
  try {
    progress(`creating ${objects} notebooks`);
    const create = (body: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${servers.after.url}${base}`,
          { method: 'POST', agent, headers: { Authorization: `Bearer ${servers.after.token}`, 'Content-Type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    await pool(objects, 64, async (i) => {
      const status = await create(JSON.stringify(benchNotebook(`nb-${String(i).padStart(5, '0')}`, i)));
      if (status !== 201) throw new Error(`create ${i}: ${status}`);
    });

    /** Every page of a LIST by 500; the names in order, to check both servers list the same. */
    const paginated = async (server: ServerProcess, accept?: string): Promise<{ ms: number; names: string[] }> => {
      const started = performance.now();
      const names: string[] = [];
      let token = '';
      do {
        const res = await get(server, `${base}?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`, accept);
        if (res.status !== 200) throw new Error(`page: ${res.status} ${res.body.toString().slice(0, 300)}`);
        const page = JSON.parse(res.body.toString()) as { metadata: { continue?: string }; items?: { metadata: { name: string } }[]; rows?: { object: { metadata: { name: string } } }[] };
        names.push(...(page.items?.map((item) => item.metadata.name) ?? page.rows!.map((row) => row.object.metadata.name)));
        token = page.metadata.continue ?? '';
      } while (token);
      return { ms: performance.now() - started, names };
    };
    const fullListPeak = async (server: ServerProcess): Promise<number> => {
      const pid = server.child.pid!;
      const rest = rss(pid).now;
      resetPeak(pid);
      const res = await get(server, base);
      if (res.status !== 200) throw new Error(`full list: ${res.status}`);
      return rss(pid).peak - rest;
    };

    const times: Record<string, Record<'before' | 'after', number[]>> = { json: { before: [], after: [] }, table: { before: [], after: [] } };
    const peaks: Record<'before' | 'after', number[]> = { before: [], after: [] };
    for (let round = 0; round < rounds; round++) {
      progress(`round ${round + 1} of ${rounds}`);
      const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
      const listed: Record<string, string[]> = {};
      for (const which of order) {
        const json = await paginated(servers[which]);
        const table = await paginated(servers[which], tableAccept);
        if (json.names.length !== objects || table.names.join() !== json.names.join()) throw new Error(`${which}: ${json.names.length} listed as JSON, ${table.names.length} as Table`);
        listed[which] = json.names;
        times.json![which].push(json.ms);
        times.table![which].push(table.ms);
      }
      if (listed.before!.join() !== listed.after!.join()) throw new Error('the two servers listed different notebooks');
      for (const which of order) peaks[which].push(await fullListPeak(servers[which]));
    }

    const encoded: Record<'streamed' | 'whole', { added: number; sha: string; bytes: number }[]> = { streamed: [], whole: [] };
    for (let round = 0; round < rounds; round++) {
      progress(`encoding round ${round + 1} of ${rounds}`);
      for (const whole of round % 2 === 0 ? [false, true] : [true, false]) encoded[whole ? 'whole' : 'streamed'].push(await encodeRound(whole));
    }
    const shas = new Set([...encoded.streamed, ...encoded.whole].map((r) => r.sha));
    if (shas.size !== 1) throw new Error('the streamed and the whole bodies differ');

    const ms = (x: number): string => `${x.toFixed(0)} ms`;
    const mib = (x: number): string => `${(x / MiB).toFixed(1)} MiB`;
    console.log(`list-pages: ${machine(startLoad)}; ${objects} notebooks, medians of ${rounds} rounds, before = ${beforeDir}`);
    for (const [name, label] of [['json', 'JSON'], ['table', "Table (kubectl get's)"]] as const) {
      const before = median(times[name]!.before);
      const after = median(times[name]!.after);
      console.log(`LIST of ${objects} by ${pageSize}, ${label}: before ${ms(before)}, after ${ms(after)}; after ÷ before ${(after / before).toFixed(2)} (${factor(before / after)}× faster)`);
    }
    const peakBefore = median(peaks.before);
    const peakAfter = median(peaks.after);
    console.log(`peak RSS added by one consistent LIST of ${objects} (whole server): before ${mib(peakBefore)}, after ${mib(peakAfter)}; after ÷ before ${(peakAfter / peakBefore).toFixed(2)}`);
    const streamed = median(encoded.streamed.map((r) => r.added));
    const whole = median(encoded.whole.map((r) => r.added));
    console.log(
      `peak RSS added by sending one LIST of ${objects} (${mib(encoded.streamed[0]!.bytes)} of JSON, same bytes both ways): streamed ${mib(streamed)}, built whole ${mib(whole)}; streamed ÷ whole ${(streamed / whole).toFixed(2)}`,
    );
  } finally {
    agent.destroy();
    await servers.before.stop();
    await servers.after.stop();
    await etcd.destroy();
  }
}
