// The same 10,000 notebooks through the HTTP surface: the server process in --standalone mode on a real etcd,
// driven over HTTPS with keep-alive. Prints create throughput at 64 in flight, GET p50/p99, and LIST times as JSON,
// Table (what kubectl get asks for) and paginated by 500 (kubectl's default chunking).
// Run: npm run bench:http   (BENCH_OBJECTS changes the size, BENCH_SERVER_ARGS adds server flags)
import { Agent, request } from 'node:https';
import { startServer } from '../test/support/server.js';
import { median, percentile, progress } from './objects.js';

const objects = Number(process.env.BENCH_OBJECTS ?? 10_000);
const repeats = 5;
const inFlight = 64;

// BENCH_SERVER_ARGS: server flags, e.g. "--workers=2" to compare with one worker.
const serverArgs = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
const server = await startServer({ extraArgs: serverArgs });
const agent = new Agent({ keepAlive: true, maxSockets: inFlight, rejectUnauthorized: false });
const call = (method: string, path: string, body?: string, accept = 'application/json'): Promise<{ status: number; bytes: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, agent, headers: { Authorization: `Bearer ${server.token}`, Accept: accept, ...(body ? { 'Content-Type': 'application/json' } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, bytes: all.length, body: all.toString() });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const notebook = (i: number): string =>
  JSON.stringify({
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name: `nb-${String(i).padStart(5, '0')}`, labels: { team: `t${i % 10}` }, annotations: { 'example.io/description': 'x'.repeat(1280) } },
    spec: {
      template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/scipy-notebook:2024-01-01', resources: { limits: { cpu: '2', memory: '8Gi' } } }] } },
      workspace: { size: '10Gi' },
    },
  });

try {
  const base = '/apis/ai.example.io/v1alpha1/namespaces/bench/notebooks';
  progress(`creating ${objects} notebooks`);
  const rates: number[] = [];
  const batch = Math.floor(objects / repeats);
  let next = 0;
  for (let r = 0; r < repeats; r++) {
    const end = r === repeats - 1 ? objects : next + batch;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < end) {
          const res = await call('POST', base, notebook(next++));
          if (res.status !== 201) throw new Error(`create: ${res.status} ${res.body}`);
        }
      }),
    );
    rates.push((batch / (performance.now() - started)) * 1000);
  }
  progress('GETs');
  const gets: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await call('GET', `${base}/nb-${String((i * 7919) % objects).padStart(5, '0')}`);
    gets.push(performance.now() - t);
  }
  progress('LISTs');
  const time = async (f: () => Promise<unknown>): Promise<number> => {
    const samples: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      await f();
      samples.push(performance.now() - t);
    }
    return median(samples);
  };
  let listBytes = 0;
  const listJson = await time(async () => (listBytes = (await call('GET', base)).bytes));
  const table = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  const listTable = await time(() => call('GET', base, undefined, table));
  const listChunked = await time(async () => {
    let token = '';
    let rows = 0;
    do {
      const res = await call('GET', `${base}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`, undefined, table);
      const page = JSON.parse(res.body) as { metadata: { continue?: string }; rows: unknown[] };
      rows += page.rows.length;
      token = page.metadata.continue ?? '';
    } while (token);
    if (rows !== objects) throw new Error(`paged through ${rows} rows, want ${objects}`);
  });
  const metrics = (await call('GET', '/metrics')).body;
  const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(metrics)?.[1] ?? 0) / 1024 / 1024;
  console.log(`HTTPS, standalone server process${serverArgs.length > 0 ? ` (${serverArgs.join(' ')})` : ''}, ${objects} notebooks, ${inFlight} in flight, medians of ${repeats}`);
  console.log(`create throughput                     ${median(rates).toFixed(0)} /s`);
  console.log(`GET p50 / p99                         ${percentile(gets, 0.5).toFixed(2)} / ${percentile(gets, 0.99).toFixed(2)} ms`);
  console.log(`LIST all as JSON (${(listBytes / 1024 / 1024).toFixed(1)} MiB)           ${listJson.toFixed(0)} ms`);
  console.log(`LIST all as Table                     ${listTable.toFixed(0)} ms`);
  console.log(`LIST all as Table, pages of 500       ${listChunked.toFixed(0)} ms`);
  console.log(`server RSS after the LISTs            ${rss.toFixed(0)} MiB`);
} finally {
  agent.destroy();
  await server.stop();
}
