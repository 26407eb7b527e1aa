// Worst-case request bodies and queries, one class at a time, against the server process (--standalone, SQLite):
// how long the request takes, how long /readyz waits while it runs (probed every 20 ms on its own connection),
// and the longest event-loop stall the server saw (prom-client's monitorEventLoopDelay maximum, read from
// /metrics before and after: each scrape resets it). Goal: no class stalls the loop past ~250 ms; /readyz ≤ 1 s.
// Medians of 5 rounds; prints a table and writes README.md's bench:hostile block from it.
// Run: npm run bench:hostile (BENCH_ONLY=text runs the classes whose name holds it, and BENCH_QUICK=1 one round;
// either writes the block to a temporary copy)
import { Agent } from 'node:https';
import { startServer } from '../test/support/server.js';
import { httpsClient, median, progress } from './objects.js';
import { loadNow, machine, outputs, replaceBlock } from './report.js';

const out = outputs(['BENCH_ONLY']);
const startLoad = loadNow();
const rounds = out.quick ? 1 : 5;
const goal = { loopMs: 250, readyzMs: 1_000 };
const server = await startServer({ backend: 'sqlite' });
const base = '/apis/ai.example.io/v1alpha1/namespaces/bench/notebooks';

const workAgent = new Agent({ keepAlive: true, rejectUnauthorized: false });
const probeAgent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
const work = httpsClient(server.url, server.token, workAgent);
const probe = httpsClient(server.url, server.token, probeAgent);

const notebook = (name: string, metadata: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Notebook',
  metadata: { name, ...metadata },
  spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter:1' }] } }, ...spec },
});
const manyKeys = (n: number, prefix = 'k'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));
const nested = (depth: number): string => '['.repeat(depth) + '1' + ']'.repeat(depth);

interface InputClass {
  name: string;
  method: 'POST' | 'PATCH' | 'GET';
  /** Created before each round, for patches. */
  target?: boolean;
  /** How many labels the target carries (1 unless set): a small patch to a large stored object. */
  targetLabels?: number;
  path: () => string;
  contentType?: string;
  /** Made anew each round, so creates do not collide. */
  body?: () => string;
}

const yamlManyKeys = (n: number): string =>
  `apiVersion: ai.example.io/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\nspec:\n  many:\n${Array.from({ length: n }, (_, i) => `    k${i}: v\n`).join('')}`;
const aliasBomb = (): string => {
  let yaml = 'apiVersion: ai.example.io/v1alpha1\nkind: Notebook\nmetadata:\n  name: target\nspec:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 9; i++) yaml += `  l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
  return yaml;
};
let seq = 0;

const classes: InputClass[] = [
  { name: 'apply YAML, one map of 100,000 keys', method: 'PATCH', target: true, path: () => `${base}/target?fieldManager=bench`, contentType: 'application/apply-patch+yaml', body: () => yamlManyKeys(100_000) },
  { name: 'apply YAML, alias bomb of 9 levels', method: 'PATCH', target: true, path: () => `${base}/target?fieldManager=bench`, contentType: 'application/apply-patch+yaml', body: () => aliasBomb() },
  { name: 'apply JSON, 100,000 labels', method: 'PATCH', target: true, path: () => `${base}/target?fieldManager=bench`, contentType: 'application/apply-patch+yaml', body: () => JSON.stringify(notebook('target', { labels: manyKeys(100_000) })) },
  { name: 'JSON patch, 26 doubling copies of /spec', method: 'PATCH', target: true, path: () => `${base}/target`, contentType: 'application/json-patch+json', body: () => JSON.stringify(Array.from({ length: 26 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/y${i}` }))) },
  { name: 'JSON patch, 10,000 label adds', method: 'PATCH', target: true, path: () => `${base}/target`, contentType: 'application/json-patch+json', body: () => JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ op: 'add', path: `/metadata/labels/l${i}`, value: 'v' }))) },
  { name: 'merge patch, 100,000 labels', method: 'PATCH', target: true, path: () => `${base}/target`, contentType: 'application/merge-patch+json', body: () => JSON.stringify({ metadata: { labels: manyKeys(100_000) } }) },
  { name: 'create, 100,000 labels', method: 'POST', path: () => base, body: () => JSON.stringify(notebook(`many-${seq++}`, { labels: manyKeys(100_000, 'label-key-') })) },
  { name: 'create, 50,000 labels (too large once owned)', method: 'POST', path: () => base, body: () => JSON.stringify(notebook(`fits-${seq++}`, { labels: manyKeys(50_000, 'label-key-') })) },
  { name: 'create, 50,000 short labels (stored)', method: 'POST', path: () => base, body: () => JSON.stringify(notebook(`short-${seq++}`, { labels: manyKeys(50_000, 'l') })) },
  { name: 'merge patch, 1 label on 50,000 stored', method: 'PATCH', target: true, targetLabels: 50_000, path: () => `${base}/target`, contentType: 'application/merge-patch+json', body: () => JSON.stringify({ metadata: { labels: { extra: 'x' } } }) },
  { name: 'apply JSON, 1 label on 50,000 stored', method: 'PATCH', target: true, targetLabels: 50_000, path: () => `${base}/target?fieldManager=bench`, contentType: 'application/apply-patch+yaml', body: () => JSON.stringify(notebook('target', { labels: { extra: 'x' } })) },
  { name: 'create, 40,000 env entries in any order', method: 'POST', path: () => base, body: () => JSON.stringify(notebook(`env-${seq++}`, {}, { template: { spec: { containers: [{ name: 'main', image: 'jupyter:1', env: Array.from({ length: 40_000 }, (_, i) => ({ name: `E${(i * 7919) % 40_000}`, value: 'v' })) }] } } })) },
  { name: 'create, 100,000 repeated labels, Strict', method: 'POST', path: () => `${base}?fieldValidation=Strict`, body: () => JSON.stringify(notebook('dups', { labels: { a: '1' } })).replace('{"a":"1"}', `{${Array(100_000).fill('"a":"1"').join(',')}}`) },
  // The body itself and spec take two of the 10,000 levels JSON may nest.
  { name: 'create, 10,000 levels deep (an unknown field)', method: 'POST', path: () => base, body: () => JSON.stringify(notebook(`deep-${seq++}`)).replace('"spec":{', `"spec":{"x":${nested(9_998)},`) },
  { name: 'create, 10,001 levels deep (past the limit)', method: 'POST', path: () => base, body: () => JSON.stringify(notebook('deeper')).replace('"spec":{', `"spec":{"x":${nested(9_999)},`) },
  { name: 'list, label selector of 20,000 terms', method: 'GET', path: () => `${base}?labelSelector=${Array.from({ length: 20_000 }, (_, i) => `k${i}=v`).join(',')}` },
];

async function eventLoopMaxSeconds(): Promise<number> {
  const res = await probe('/metrics');
  const match = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(res.body);
  return match ? Number(match[1]) : NaN;
}

try {
  const rows: Array<{ name: string; status: string; requestMs: number; readyzMaxMs: number; loopMaxMs: number; sizeKb: number }> = [];
  // BENCH_ONLY=text runs only the classes whose name contains it.
  for (const c of classes.filter((k) => k.name.includes(process.env.BENCH_ONLY ?? ''))) {
    progress(c.name);
    const requestMs: number[] = [];
    const readyzMs: number[] = [];
    const loopMs: number[] = [];
    const statuses = new Set<number>();
    for (let round = 0; round < rounds; round++) {
      if (c.target) {
        await work(`${base}/target`, { method: 'DELETE' });
        const labels = c.targetLabels ? manyKeys(c.targetLabels, 'l') : { app: 'a' };
        const created = await work(base, { method: 'POST', body: JSON.stringify(notebook('target', { labels })) });
        if (created.status !== 201) throw new Error(`target: ${created.status} ${created.body}`);
      }
      const path = c.path();
      const body = c.body?.();
      await eventLoopMaxSeconds();
      let running = true;
      let worstReadyz = 0;
      const prober = (async () => {
        while (running) {
          const started = performance.now();
          await probe('/readyz');
          worstReadyz = Math.max(worstReadyz, performance.now() - started);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const started = performance.now();
      const res = await work(path, { method: c.method, ...(body === undefined ? {} : { body }), ...(c.contentType ? { contentType: c.contentType } : {}) });
      requestMs.push(performance.now() - started);
      running = false;
      await prober;
      loopMs.push((await eventLoopMaxSeconds()) * 1000);
      readyzMs.push(worstReadyz);
      statuses.add(res.status);
      if (res.status === 201) {
        const name = (JSON.parse(res.body) as { metadata: { name: string } }).metadata.name;
        await work(`${base}/${name}`, { method: 'DELETE' });
      }
    }
    rows.push({
      name: c.name,
      status: [...statuses].join('/'),
      requestMs: median(requestMs),
      readyzMaxMs: median(readyzMs),
      loopMaxMs: median(loopMs),
      sizeKb: Math.round(Buffer.byteLength(c.body?.() ?? c.path()) / 1024),
    });
  }
  const pad = (s: string | number, n: number): string => String(s).padStart(n);
  console.log(`\nworst-case inputs, medians of ${rounds} rounds (server process, SQLite store, 2 cores)`);
  console.log(`${'input'.padEnd(52)} ${pad('KiB', 6)} ${pad('status', 8)} ${pad('request ms', 11)} ${pad('/readyz max ms', 15)} ${pad('loop stall ms', 14)}`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(52)} ${pad(r.sizeKb, 6)} ${pad(r.status, 8)} ${pad(r.requestMs.toFixed(0), 11)} ${pad(r.readyzMaxMs.toFixed(0), 15)} ${pad(r.loopMaxMs.toFixed(0), 14)}`);
  }
  const whole = (n: number): string => Math.round(n).toLocaleString('en-US');
  const worstLoop = rows.reduce((a, b) => (b.loopMaxMs > a.loopMaxMs ? b : a));
  const worstReadyz = rows.reduce((a, b) => (b.readyzMaxMs > a.readyzMaxMs ? b : a));
  replaceBlock(out.readme, 'bench:hostile', [
    `From the run of ${machine(startLoad)}; each figure is the median of ${rounds} round${rounds === 1 ? '' : 's'}. ` +
      'The stall is the longest event-loop delay the server saw during the request (its own monitor, read from ' +
      '`/metrics`); the wait is the longest `/readyz` answer, probed every 20 ms on a connection of its own.',
    '',
    '| input | KiB sent | status | request ms | longest `/readyz` wait ms | longest event-loop stall ms |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${whole(r.sizeKb)} | ${r.status} | ${whole(r.requestMs)} | ${whole(r.readyzMaxMs)} | ${whole(r.loopMaxMs)} |`),
    '',
    `The longest stall of any class is ${worstLoop.loopMaxMs.toFixed(0)} ms (${worstLoop.name}) against a goal of ${goal.loopMs} ms: ` +
      `${worstLoop.loopMaxMs <= goal.loopMs ? 'met' : '**missed**'}. The longest \`/readyz\` wait is ${worstReadyz.readyzMaxMs.toFixed(0)} ms ` +
      `(${worstReadyz.name}) against ${goal.readyzMs / 1000} s: ${worstReadyz.readyzMaxMs <= goal.readyzMs ? 'met' : '**missed**'}.`,
  ]);
} finally {
  workAgent.destroy();
  probeAgent.destroy();
  await server.stop();
}
