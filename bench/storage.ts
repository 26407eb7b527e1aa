// Storage and registry benchmark on one backend — a real etcd, or the embedded SQLite store — with 10,000 notebooks
// of ~2 KiB. Prints create throughput at 64 in flight, GET p50/p99 (store and cache), LIST-all times (cache and
// store) and peak RSS, each beside a baseline measured in the same run: raw puts and ranges on the same backend,
// without the registry.
// Run: npm run bench:storage   (both backends, one process each; BENCH_OBJECTS and BENCH_REPEATS change the size)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from '../src/registry/registry.js';
import { EtcdStorage } from '../src/storage/etcd/etcd-storage.js';
import type { Storage } from '../src/storage/interface.js';
import { SqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { etcdBinary, etcdVersion, startEtcd } from '../test/support/etcd.js';
import { benchNotebook, median, percentile, pool, progress } from './objects.js';

const objects = Number(process.env.BENCH_OBJECTS ?? 10_000);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const inFlight = 64;

const ms = (n: number): string => `${n.toFixed(2)} ms`;
const bigNotebook = (i: number) => benchNotebook(`nb-${String(i).padStart(5, '0')}`, i);

async function main(): Promise<void> {
  const backend = process.argv[2] ?? 'etcd';
  const logger = pino({ level: 'silent' });
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-bench-'));
    const storage = new SqliteStorage({ path: join(dir, 'state.db'), logger, compactIntervalMs: 0 });
    const registry = new Registry({ storage, etcdPrefix: '/registry', logger, consistentListFromCache: true });
    try {
      await registry.start();
      await measure('sqlite (WAL, synchronous=FULL)', storage, registry);
    } finally {
      registry.stop();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  if (backend !== 'etcd') throw new Error(`backend must be etcd or sqlite, not ${backend}`);
  const binary = etcdBinary();
  const etcd = await startEtcd(binary);
  const storage = new EtcdStorage({ endpoints: [etcd.endpoint], logger });
  const registry = new Registry({ storage, etcdPrefix: '/registry', logger });
  try {
    await registry.start();
    await measure(`etcd ${etcdVersion(binary)}`, storage, registry);
  } finally {
    registry.stop();
    await storage.close();
    await etcd.destroy();
  }
}

async function measure(backend: string, storage: Storage, registry: Registry): Promise<void> {
  const store = registry.store('notebooks');
  const sample = Buffer.byteLength(JSON.stringify(bigNotebook(0)));
  const batch = objects / repeats;
  if (!Number.isInteger(batch)) throw new Error(`BENCH_OBJECTS (${objects}) must be a multiple of BENCH_REPEATS (${repeats})`);
  console.log(`${backend}, ${objects} notebooks of ${sample} bytes, ${inFlight} in flight, medians of ${repeats} runs`);

  // Baseline: raw puts of the same bytes on the same backend, interleaved with the registry's creates so both see
  // the same warm-up and the same store state.
  const rawBatches: number[] = [];
  const createBatches: number[] = [];
  for (let r = 0; r < repeats; r++) {
    progress(`create round ${r + 1}/${repeats}`);
    let started = performance.now();
    await pool(batch, inFlight, (i) => storage.create(`/baseline/${r}/${i}`, Buffer.from(JSON.stringify(bigNotebook(i)))).then(() => undefined));
    rawBatches.push((batch / (performance.now() - started)) * 1000);
    started = performance.now();
    await pool(batch, inFlight, (i) => store.create('bench', bigNotebook(r * batch + i)).then(() => undefined));
    createBatches.push((batch / (performance.now() - started)) * 1000);
  }
  await store.list('bench');

  progress('GETs');
  const names = Array.from({ length: 2000 }, (_, i) => `nb-${String((i * 7919) % objects).padStart(5, '0')}`);
  const getStore: number[] = [];
  const getCache: number[] = [];
  for (const name of names) {
    let t = performance.now();
    await store.get('bench', name);
    getStore.push(performance.now() - t);
    t = performance.now();
    await store.get('bench', name, '0');
    getCache.push(performance.now() - t);
  }

  progress('LISTs');
  const serialize = (items: { json: string }[], rv: string): number => {
    // What the HTTP layer will do: concatenate the cached serializations, never one JSON.stringify of the list.
    let bytes = Buffer.byteLength(`{"kind":"NotebookList","apiVersion":"ai.example.io/v1alpha1","metadata":{"resourceVersion":"${rv}"},"items":[`);
    for (const item of items) bytes += Buffer.byteLength(item.json) + 1;
    return bytes;
  };
  const listCacheAny: number[] = [];
  const listCacheConsistent: number[] = [];
  const listStore: number[] = [];
  const rawRange: number[] = [];
  let listBytes = 0;
  for (let r = 0; r < repeats; r++) {
    let t = performance.now();
    let result = await store.list('bench', { resourceVersion: '0' });
    listBytes = serialize(result.items, result.resourceVersion);
    listCacheAny.push(performance.now() - t);
    t = performance.now();
    result = await store.list('bench', {});
    serialize(result.items, result.resourceVersion);
    listCacheConsistent.push(performance.now() - t);
    t = performance.now();
    result = await store.list('bench', { resourceVersion: result.resourceVersion, resourceVersionMatch: 'Exact' });
    serialize(result.items, result.resourceVersion);
    listStore.push(performance.now() - t);
    t = performance.now();
    await storage.list('/registry/ai.example.io/notebooks/bench/');
    rawRange.push(performance.now() - t);
    if (result.items.length !== objects) throw new Error(`listed ${result.items.length}, want ${objects}`);
  }
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;

  const rows: [string, string, string][] = [
    ['create throughput (64 in flight)', `${median(createBatches).toFixed(0)} /s`, `raw put ${median(rawBatches).toFixed(0)} /s (ratio ${(median(createBatches) / median(rawBatches)).toFixed(2)})`],
    ['GET from the store (RV="") p50 / p99', `${ms(percentile(getStore, 0.5))} / ${ms(percentile(getStore, 0.99))}`, ''],
    ['GET from cache (RV="0") p50 / p99', `${ms(percentile(getCache, 0.5))} / ${ms(percentile(getCache, 0.99))}`, ''],
    [`LIST all from cache (RV="0"), ${(listBytes / 1024 / 1024).toFixed(1)} MiB`, ms(median(listCacheAny)), ''],
    ['LIST all from cache, consistent (RV="")', ms(median(listCacheConsistent)), ''],
    ['LIST all from the store (Exact RV)', ms(median(listStore)), `raw range ${ms(median(rawRange))} (ratio ${(median(listStore) / median(rawRange)).toFixed(2)})`],
    ['peak RSS of the process', `${peakRssMiB.toFixed(0)} MiB`, ''],
  ];
  for (const [name, value, baseline] of rows) console.log(`${name.padEnd(48)} ${value.padEnd(22)} ${baseline}`);
}

await main();
