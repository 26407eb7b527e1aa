// The limiter's pieces without a server: which requests take seats, how many a LIST takes, the order in which
// queued flows get seats, and the timer that outlasts Node's 2^31 ms limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, listSeats, SeatPool } from '../../src/server/flow-control.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { longTimeout } from '../../src/server/watch-stream.js';

const base = '/apis/ai.example.io/v1alpha1';
const served = { group: 'ai.example.io', version: 'v1alpha1' };

describe('classify', () => {
  const cases: { name: string; method: string; path: string; query?: Record<string, string>; want: ReturnType<typeof classify> }[] = [
    { name: '/readyz is exempt', method: 'GET', path: '/readyz', want: { kind: 'readOnly', exempt: true } },
    { name: 'a readyz check is exempt', method: 'GET', path: '/readyz/etcd', want: { kind: 'readOnly', exempt: true } },
    { name: "the aggregator's probe is exempt", method: 'GET', path: base, want: { kind: 'readOnly', exempt: true } },
    { name: 'OpenAPI v3 is exempt', method: 'GET', path: `/openapi/v3/apis/ai.example.io/v1alpha1`, want: { kind: 'readOnly', exempt: true } },
    {
      name: 'a LIST counts its namespace and limit',
      method: 'GET',
      path: `${base}/namespaces/a/notebooks`,
      query: { limit: '500' },
      want: { kind: 'readOnly', exempt: false, list: { resource: 'notebooks', namespace: 'a', limit: 500 } },
    },
    { name: 'a cluster-wide LIST', method: 'GET', path: `${base}/jobs`, want: { kind: 'readOnly', exempt: false, list: { resource: 'jobs', namespace: undefined } } },
    {
      name: 'watch=1 is long-running',
      method: 'GET',
      path: `${base}/namespaces/a/notebooks`,
      query: { watch: '1' },
      want: { kind: 'readOnly', exempt: false, longRunning: { verb: 'watch', resource: 'notebooks', subresource: '' } },
    },
    {
      name: 'watch=yes is long-running, as kube reads query booleans',
      method: 'GET',
      path: `${base}/namespaces/a/notebooks`,
      query: { watch: 'yes' },
      want: { kind: 'readOnly', exempt: false, longRunning: { verb: 'watch', resource: 'notebooks', subresource: '' } },
    },
    {
      name: 'watch=false is a LIST',
      method: 'GET',
      path: `${base}/namespaces/a/notebooks`,
      query: { watch: 'false' },
      want: { kind: 'readOnly', exempt: false, list: { resource: 'notebooks', namespace: 'a' } },
    },
    {
      name: 'a watch of one object',
      method: 'GET',
      path: `${base}/namespaces/a/notebooks/x`,
      query: { watch: 'true' },
      want: { kind: 'readOnly', exempt: false, longRunning: { verb: 'watch', resource: 'notebooks', subresource: '' } },
    },
    {
      name: 'a POST through notebooks/proxy is long-running',
      method: 'POST',
      path: `${base}/namespaces/a/notebooks/x/proxy/api/kernels`,
      want: { kind: 'mutating', exempt: false, longRunning: { verb: 'post', resource: 'notebooks', subresource: 'proxy' } },
    },
    {
      name: 'jobs/logs is long-running, followed or not, as pods/log',
      method: 'GET',
      path: `${base}/namespaces/a/jobs/x/logs`,
      want: { kind: 'readOnly', exempt: false, longRunning: { verb: 'get', resource: 'jobs', subresource: 'logs' } },
    },
    { name: 'a GET takes a seat', method: 'GET', path: `${base}/namespaces/a/notebooks/x`, want: { kind: 'readOnly', exempt: false } },
    { name: 'a status update is mutating', method: 'PUT', path: `${base}/namespaces/a/notebooks/x/status`, want: { kind: 'mutating', exempt: false } },
  ];
  for (const { name, method, path, query, want } of cases) {
    it(name, () => assert.deepEqual(classify(method, path, query ?? {}, served), want));
  }
  it('reads watch and limit only as own query members', () => {
    const query = Object.create({ watch: 'true' }) as Record<string, string>;
    assert.equal(classify('GET', `${base}/namespaces/a/notebooks`, query, served).longRunning, undefined);
  });
});

describe('listSeats', () => {
  const cases = [
    { objects: 0, limit: undefined, want: 1 },
    { objects: 100, limit: undefined, want: 1 },
    { objects: 101, limit: undefined, want: 2 },
    { objects: 1_000, limit: undefined, want: 10 },
    { objects: 50_000, limit: undefined, want: 10 },
    { objects: 50_000, limit: 500, want: 5 },
  ];
  for (const { objects, limit, want } of cases) {
    it(`${objects} objects${limit ? `, limit ${limit}` : ''}: ${want} seats`, () => assert.equal(listSeats(objects, limit), want));
  }
});

describe('SeatPool', () => {
  const pool = (limit: number, queueing: boolean): SeatPool =>
    new SeatPool({ kind: 'readOnly', limit, ...(queueing ? { maxWaitMs: 60_000 } : {}), metrics: new ServerMetrics() });
  const signal = new AbortController().signal;

  it('without queueing, a request beyond the seats is refused at once with 429', async () => {
    const seats = pool(1, false);
    await seats.acquire('a', 1, signal);
    await assert.rejects(seats.acquire('b', 1, signal), { code: 429, reason: 'TooManyRequests' });
  });

  it("a flow holds at most half the seats, and a newcomer's request goes before its queue", async () => {
    const seats = pool(4, true);
    const flood = [await seats.acquire('flood', 1, signal), await seats.acquire('flood', 1, signal)];
    const order: string[] = [];
    const queued = Array.from({ length: 5 }, () => seats.acquire('flood', 1, signal).then((r) => (order.push('flood'), r)));
    // Two seats are free but the flood holds its half: other users go in at once.
    const others = [await seats.acquire('b', 1, signal), await seats.acquire('c', 1, signal)];
    const late = seats.acquire('d', 1, signal).then((r) => (order.push('d'), r));
    flood[0]!();
    (await late)();
    assert.equal(order[0], 'd');
    for (const release of [flood[1]!, ...others]) release();
    for (const wait of queued) (await wait)();
  });

  it('a full flow queue refuses at once; a cancelled wait leaves the queue', async () => {
    const seats = pool(1, true);
    const release = await seats.acquire('a', 1, signal);
    const waits = Array.from({ length: 50 }, () => seats.acquire('a', 1, signal));
    await assert.rejects(seats.acquire('a', 1, signal), { code: 429 });
    const cancel = new AbortController();
    const cancelled = seats.acquire('b', 1, cancel.signal);
    cancel.abort();
    await assert.rejects(cancelled, { code: 429 });
    release();
    let next = await waits[0]!;
    for (const wait of waits.slice(1)) {
      next();
      next = await wait;
    }
    next();
  });
});

describe('longTimeout', () => {
  it('waits past 2^31 ms rather than firing at once, and cancels', async () => {
    let fired = false;
    const cancel = longTimeout(() => (fired = true), 3_000_000 * 1000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fired, false);
    cancel();
  });
  it('fires after a short wait', async () => {
    await new Promise<void>((resolve) => longTimeout(resolve, 5));
  });
});
