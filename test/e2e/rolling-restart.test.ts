// Upgrades: a rolling restart of two replicas behind kube-apiserver while clients read, write and watch through the
// aggregator. The replicas sit behind test/support/balancer.ts on the port the APIService names, as a Deployment's
// pods sit behind their Service; the restart follows the Deployment's strategy (maxSurge 1, maxUnavailable 0): a
// new replica starts and becomes an endpoint, then an old one is deleted (SIGTERM, and its endpoint dropped shortly
// after, as the endpoints controller and kube-proxy would), once for each.
//
// The clients behave as client-go's: a request is retried only where k8s.io/client-go/rest (v0.32.2) retries it (a
// 429 or 5xx carrying Retry-After, after that many seconds, up to 10 times; a GET whose connection was reset or
// cut); a watch whose stream ends is resumed from the last resourceVersion it saw, as the reflector does, and a
// 410 would make it relist. Every other error is a failure.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, beforeEach, describe, it } from 'node:test';
import { users, type LocalCluster } from '../support/cluster.js';
import { Balancer } from '../support/balancer.js';
import { freePort } from '../support/etcd.js';
import { httpsCall, type HttpsAnswer } from '../support/https.js';
import { testBed } from '../support/test-bed.js';

const ns = 'rolling';
const path = `/apis/ai.example.io/v1alpha1/namespaces/${ns}/datasets`;
const seqAnnotation = 'rolling.example.io/seq';

// The Deployment's readinessProbe, scaled down: a failing replica leaves the endpoints within a second, and the
// endpoints controller's removal of a deleted pod reaches the balancer a second after the pod's SIGTERM. The
// shutdown delay outlasts both, as deploy/base/server.yaml's does kube's defaults.
const probe = { periodMs: 1_000, failureThreshold: 1, timeoutMs: 1_000 };
const endpointPropagationMs = 1_000;
const shutdownDelaySeconds = 3;
// The Deployment's terminationGracePeriodSeconds: a replica still running then is killed, and the test fails.
const terminationGraceMs = 30_000;
// kube-controller-manager's default Lease duration, which the replicas keep: a handover shorter than it shows the
// old leader released the Lease rather than letting it expire.
const leaseDurationMs = 15_000;

const writers = 4;
const readers = 2;
const watchers = 3;
const updatesPerObject = 3;

// Each replica runs two worker processes, as --workers' default does on two CPUs: a stopping replica's workers each
// drain their own connections and watches.
const workers = 2;

const bed = testBed({
  name: 'rolling-restart',
  serverArgs: [`--shutdown-delay-duration=${shutdownDelaySeconds}`, `--workers=${workers}`],
  namespaces: [ns],
});
let cluster: LocalCluster;
const balancer = new Balancer(probe);
// Stops the clients of a test that failed halfway, whose loops would otherwise run on.
let stopClients: (() => Promise<void>) | undefined;
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await stopClients?.();
  await balancer.close();
  await bed.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Answer = HttpsAnswer;

/** What the clients saw: errors client-go retries, by kind, and every other error in full, with when it came. */
class Figures {
  requests = 0;
  readonly retried = new Map<string, number>();
  readonly failures: string[] = [];
  private step = { at: Date.now(), what: 'the start' };

  /** A step of the restart, which errors are then dated from. */
  mark(what: string): void {
    this.step = { at: Date.now(), what };
  }

  fail(error: string): void {
    this.failures.push(`${error.trim()} (${((Date.now() - this.step.at) / 1000).toFixed(1)} s after ${this.step.what})`);
  }

  retry(kind: string): void {
    this.retried.set(kind, (this.retried.get(kind) ?? 0) + 1);
  }

  get retriedTotal(): number {
    return [...this.retried.values()].reduce((a, b) => a + b, 0);
  }
}

/** A transport error as Go's net package names it: client-go retries a GET after either. */
function transportKind(error: NodeJS.ErrnoException): 'connection reset' | 'EOF' | undefined {
  if (error.code === 'ECONNRESET' && error.message === 'socket hang up') return 'EOF';
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return 'connection reset';
  return undefined;
}

/** client-go's Retry-After: whole seconds, only on a 429 or a 5xx. */
function retryAfter(answer: Answer): number | undefined {
  if (answer.status !== 429 && answer.status < 500) return undefined;
  const header = answer.headers['retry-after'];
  return typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
}

class Client {
  readonly figures = new Figures();
  private readonly agent: Agent;

  constructor(private readonly cluster: LocalCluster) {
    this.agent = new Agent({ keepAlive: true, ca: cluster.caPem });
  }

  /** One request, retried as client-go's rest.Request retries it; the last answer, or undefined after a failure. */
  async send(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<Answer | undefined> {
    const what = `${method} ${url.split('?')[0]}`;
    for (let attempt = 0; ; attempt++) {
      this.figures.requests++;
      let answer: Answer;
      try {
        answer = await this.call(method, url, body === undefined ? undefined : JSON.stringify(body), contentType);
      } catch (error) {
        const kind = transportKind(error as NodeJS.ErrnoException);
        if (method === 'GET' && kind && attempt < 10) {
          this.figures.retry(`GET, ${kind}`);
          await sleep(1_000);
          continue;
        }
        this.figures.fail(`${what}: ${(error as Error).message}`);
        return undefined;
      }
      const wait = retryAfter(answer);
      if (wait !== undefined && attempt < 10) {
        this.figures.retry(`${answer.status} with Retry-After ${wait}`);
        await sleep(wait * 1_000);
        continue;
      }
      if (answer.status >= 300) {
        this.figures.fail(`${what}: ${answer.status} ${answer.headers['retry-after'] === undefined ? '' : `(Retry-After ${answer.headers['retry-after']}) `}${answer.body.slice(0, 300)}`);
        return undefined;
      }
      return answer;
    }
  }

  call(method: string, url: string, body?: string, contentType?: string): Promise<Answer> {
    const headers = { authorization: `Bearer ${users.admin.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }) };
    return httpsCall(`${this.cluster.apiserverUrl}${url}`, { method, agent: this.agent, headers }, body);
  }

  /** A watch request: the answer's status and headers, then its lines as they come, until the stream ends. */
  watch(url: string, onLine: (line: string) => void, signal: AbortSignal): Promise<{ answer?: Answer; end: 'end' | 'cut' | 'aborted'; error?: Error }> {
    return new Promise((resolve) => {
      this.figures.requests++;
      const req = request(`${this.cluster.apiserverUrl}${url}`, {
        agent: this.agent,
        headers: { authorization: `Bearer ${users.admin.token}`, accept: 'application/json' },
        signal,
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ answer: { status: res.statusCode ?? 0, headers: res.headers, body: text }, end: 'end' }));
          res.on('error', (error) => resolve({ end: signal.aborted ? 'aborted' : 'cut', error }));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let newline: number;
          while ((newline = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, newline);
            pending = pending.slice(newline + 1);
            if (line.trim() !== '') onLine(line);
          }
        });
        res.on('end', () => resolve({ end: 'end' }));
        res.on('error', (error) => resolve({ end: signal.aborted ? 'aborted' : 'cut', error }));
        res.on('aborted', () => resolve({ end: signal.aborted ? 'aborted' : 'cut' }));
      });
      req.on('error', (error) => resolve({ end: signal.aborted ? 'aborted' : 'cut', error }));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface Write {
  name: string;
  rv: number;
  seq: number;
}

interface Seen {
  type: string;
  name: string;
  rv: number;
}

const dataset = (name: string): unknown => ({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Dataset',
  metadata: { name, annotations: { [seqAnnotation]: '0' } },
  // No StorageClass serves this class: the controller's claims stay Pending and take none of the shared volumes.
  spec: { source: { uri: `s3://rolling/${name}` }, prefetch: false, size: '1Gi', storageClassName: 'rolling-restart-none' },
});

/** A reflector's ListAndWatch: list once, then watch, resuming from the last resourceVersion whenever a stream ends. */
class Watcher {
  readonly seen: Seen[] = [];
  resumes = 0;
  relists = 0;
  streamsCut = 0;
  lastRv = 0;
  private readonly stop = new AbortController();
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly client: Client) {}

  start(listRv: number): void {
    this.lastRv = listRv;
    this.done = this.loop();
  }

  async end(): Promise<void> {
    this.stop.abort();
    await this.done;
  }

  private async loop(): Promise<void> {
    const figures = this.client.figures;
    while (!this.stop.signal.aborted) {
      let expired = false;
      const result = await this.client.watch(`${path}?watch=true&allowWatchBookmarks=true&resourceVersion=${this.lastRv}`, (line) => {
        const event = JSON.parse(line) as { type: string; object: { code?: number; metadata?: { name: string; resourceVersion: string } } };
        if (event.type === 'ERROR') {
          if (event.object.code === 410) expired = true;
          else figures.fail(`watch: ERROR event ${line.slice(0, 300)}`);
          return;
        }
        const rv = Number(event.object.metadata!.resourceVersion);
        if (event.type !== 'BOOKMARK') this.seen.push({ type: event.type, name: event.object.metadata!.name, rv });
        this.lastRv = rv;
      }, this.stop.signal);
      if (result.end === 'aborted' || this.stop.signal.aborted) return;
      if (result.answer) {
        const wait = retryAfter(result.answer);
        if (wait !== undefined) {
          figures.retry(`watch, ${result.answer.status} with Retry-After ${wait}`);
          await sleep(wait * 1_000);
        } else {
          figures.fail(`watch: ${result.answer.status} ${result.answer.body.slice(0, 300)}`);
          await sleep(1_000);
        }
        continue;
      }
      if (result.error && !transportKind(result.error as NodeJS.ErrnoException) && result.end === 'cut') {
        figures.fail(`watch: ${result.error.message}`);
      }
      if (result.end === 'cut') this.streamsCut++;
      if (expired) {
        // The resourceVersion is gone: the reflector lists again and cannot tell what it missed.
        this.relists++;
        const list = await this.client.send('GET', path);
        if (list) this.lastRv = Number((JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
        continue;
      }
      this.resumes++;
    }
  }
}

describe('a rolling restart under load through kube-apiserver', () => {
  it('clients see only errors client-go retries, no acknowledged write is lost, every watcher sees every write once', async () => {
    const replicas = new Map<string, number>();
    const startReplica = async (name: string): Promise<number> => {
      const port = await freePort();
      const started = Date.now();
      await cluster.startServer(port);
      balancer.add(name, port);
      await balancer.waitEndpoint(name, 30_000);
      replicas.set(name, port);
      return Date.now() - started;
    };
    // Two replicas, endpoints of the balancer before it takes the registered port from the suite's server.
    await startReplica('a');
    await startReplica('b');
    await cluster.stopServer();
    await balancer.listen(cluster.serverPort);
    await cluster.waitAvailable(true, 90_000);

    const client = new Client(cluster);
    const figures = client.figures;
    const acked: Write[] = [];
    const latest = new Map<string, number>();
    let loading = true;

    const writer = async (w: number): Promise<void> => {
      for (let i = 0; loading; i++) {
        const name = `w${w}-${i}`;
        const created = await client.send('POST', path, dataset(name));
        if (!created) continue;
        const ack = (answer: Answer, seq: number): void => {
          acked.push({ name, seq, rv: Number((JSON.parse(answer.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion) });
          latest.set(name, seq);
        };
        ack(created, 0);
        for (let seq = 1; seq <= updatesPerObject && loading; seq++) {
          const patched = await client.send('PATCH', `${path}/${name}`, { metadata: { annotations: { [seqAnnotation]: String(seq) } } }, 'application/merge-patch+json');
          if (!patched) break;
          ack(patched, seq);
        }
        await sleep(20);
      }
    };
    const reader = async (): Promise<void> => {
      for (let i = 0; loading; i++) {
        const names = [...latest.keys()];
        if (i % 2 === 0 && names.length > 0) await client.send('GET', `${path}/${names[Math.floor(Math.random() * names.length)]}`);
        else await client.send('GET', `${path}?limit=100`);
        await sleep(10);
      }
    };

    const initial = await client.send('GET', path);
    assert.ok(initial, figures.failures.join('\n'));
    const listRv = Number((JSON.parse(initial.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    const watching = Array.from({ length: watchers }, () => new Watcher(client));
    for (const watcher of watching) watcher.start(listRv);
    const load = [...Array.from({ length: writers }, (_, w) => writer(w)), ...Array.from({ length: readers }, () => reader())];

    // Who holds the controllers' Lease, as kube-apiserver says, through the restart.
    const holders: { at: number; holder: string }[] = [];
    let polling = true;
    const pollLease = (async () => {
      while (polling) {
        const lease = await cluster.request('admin', 'GET', '/apis/coordination.k8s.io/v1/namespaces/ai-system/leases/ai-apiserver-controllers').catch(() => undefined);
        const holder = lease?.status === 200 ? ((JSON.parse(lease.body) as { spec: { holderIdentity?: string } }).spec.holderIdentity ?? '') : '?';
        if (holders.at(-1)?.holder !== holder) holders.push({ at: Date.now(), holder });
        await sleep(200);
      }
    })();
    stopClients = async () => {
      loading = false;
      polling = false;
      await Promise.all([...load, pollLease]);
      for (const watcher of watching) await watcher.end();
      client.close();
    };
    const identityOf = (port: number): string | undefined => {
      const won = cluster.logs(`ai-apiserver:${port}`).split('\n').filter((line) => line.includes('"became leader"')).pop();
      return won ? (JSON.parse(won) as { identity: string }).identity : undefined;
    };

    // Load before the restart, so every kind of request is in flight when it begins.
    const warm = Date.now() + 60_000;
    while (acked.length < 50 && Date.now() < warm) await sleep(100);

    const restartStarted = Date.now();
    const before = balancer.report();
    const steps: string[] = [];
    const handovers: number[] = [];
    const killed: string[] = [];
    const stoppedLogs = new Map<string, string>();
    for (const old of ['a', 'b']) {
      const fresh = `${old}2`;
      figures.mark(`starting ${fresh}`);
      const startMs = await startReplica(fresh);
      const port = replicas.get(old)!;
      const pid = cluster.pidOf(`ai-apiserver:${port}`);
      const identity = identityOf(port);
      const wasLeader = identity !== undefined && holders.at(-1)?.holder === identity;
      figures.mark(`${old}'s SIGTERM`);
      const sigterm = Date.now();
      const propagated = setTimeout(() => balancer.terminate(old), endpointPropagationMs);
      const kill = setTimeout(() => {
        killed.push(old);
        process.kill(pid, 'SIGKILL');
      }, terminationGraceMs);
      const stopped = cluster.stopServer(port).then(() => true);
      // The log of a stopped replica goes with it: kept as it grows, to show what its shutdown did.
      while (!(await Promise.race([stopped, sleep(100).then(() => false)]))) stoppedLogs.set(old, cluster.logs(`ai-apiserver:${port}`));
      clearTimeout(kill);
      clearTimeout(propagated);
      const exitMs = Date.now() - sigterm;
      figures.mark(`${old}'s exit`);
      balancer.remove(old);
      replicas.delete(old);
      if (wasLeader) {
        const next = await (async () => {
          const deadline = Date.now() + 2 * leaseDurationMs;
          for (;;) {
            const taken = holders.find((h) => h.at >= sigterm && h.holder !== '' && h.holder !== '?' && h.holder !== identity);
            if (taken || Date.now() > deadline) return taken;
            await sleep(100);
          }
        })();
        assert.ok(next, `no replica took the Lease after the leader ${old} stopped: ${JSON.stringify(holders)}`);
        handovers.push(next.at - sigterm);
      }
      steps.push(`${fresh} ready in ${startMs} ms; ${old}${wasLeader ? ' (leader)' : ''} exited ${exitMs} ms after SIGTERM`);
    }
    const restartMs = Date.now() - restartStarted;

    // Load after the restart too, then the writers stop and the watchers catch up with the last write.
    const restarted = acked.length;
    const more = Date.now() + 60_000;
    while (acked.length < restarted + 50 && Date.now() < more) await sleep(100);
    loading = false;
    await Promise.all(load);
    polling = false;
    await pollLease;
    const lastRv = Math.max(...acked.map((w) => w.rv));
    const caughtUp = Date.now() + 60_000;
    while (watching.some((w) => w.lastRv < lastRv) && Date.now() < caughtUp) await sleep(100);
    for (const watcher of watching) await watcher.end();

    // Every acknowledged write, read back.
    const final = await client.send('GET', path);
    assert.ok(final, figures.failures.join('\n'));
    const stored = new Map(
      (JSON.parse(final.body) as { items: { metadata: { name: string; annotations?: Record<string, string> } }[] }).items.map((o) => [
        o.metadata.name,
        Number(o.metadata.annotations?.[seqAnnotation]),
      ]),
    );
    const lost = [...latest].filter(([name, seq]) => stored.get(name) !== seq).map(([name, seq]) => `${name}: acknowledged seq ${seq}, stored ${stored.get(name)}`);

    // Every watcher saw every acknowledged write exactly once, in resourceVersion order.
    const watchProblems: string[] = [];
    watching.forEach((watcher, i) => {
      const counts = new Map<string, number>();
      for (const seen of watcher.seen) counts.set(`${seen.name}@${seen.rv}`, (counts.get(`${seen.name}@${seen.rv}`) ?? 0) + 1);
      const missed = acked.filter((w) => !counts.has(`${w.name}@${w.rv}`));
      const repeated = [...counts].filter(([, n]) => n > 1);
      const disorder = watcher.seen.filter((seen, j) => j > 0 && seen.rv <= watcher.seen[j - 1]!.rv);
      if (missed.length > 0) watchProblems.push(`watcher ${i} missed ${missed.length} writes, e.g. ${JSON.stringify(missed.slice(0, 5))}`);
      if (repeated.length > 0) watchProblems.push(`watcher ${i} saw ${repeated.length} events more than once, e.g. ${JSON.stringify(repeated.slice(0, 5))}`);
      if (disorder.length > 0) watchProblems.push(`watcher ${i} saw ${disorder.length} events out of order, e.g. ${JSON.stringify(disorder.slice(0, 5))}`);
    });

    const resumes = watching.reduce((n, w) => n + w.resumes, 0);
    const relists = watching.reduce((n, w) => n + w.relists, 0);
    const cut = watching.reduce((n, w) => n + w.streamsCut, 0);
    const report = [
      `rolling restart of 2 replicas of ${workers} workers each: ${(restartMs / 1000).toFixed(1)} s (${steps.join('; ')})`,
      `Lease handover after the leader's SIGTERM: ${handovers.map((ms) => `${ms} ms`).join(', ') || 'the leader was not restarted'}`,
      `requests: ${figures.requests} (${acked.length} writes acknowledged on ${latest.size} datasets; ${watchers} watchers saw ${watching.map((w) => w.seen.length).join('/')} events)`,
      `errors client-go retries: ${figures.retriedTotal}${figures.retriedTotal ? ` (${[...figures.retried].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`,
      `other errors: ${figures.failures.length}`,
      `watch resumes: ${resumes} (streams cut rather than ended: ${cut}); relists after 410: ${relists}`,
      `balancer: ${JSON.stringify(balancer.report())}`,
    ];
    for (const line of report) process.stdout.write(`# ${line}\n`);
    client.close();

    const shutdowns = [...stoppedLogs].map(([name, log]) => `${name}'s log:\n${log.slice(-6000)}`).join('\n');
    assert.deepEqual(killed, [], `replicas still running at the end of terminationGracePeriodSeconds\n${shutdowns}`);
    assert.deepEqual(figures.failures, [], `errors client-go does not retry\n${shutdowns}`);
    assert.deepEqual(lost, [], 'acknowledged writes lost');
    assert.deepEqual(watchProblems, [], 'watch gaps, repeats or disorder');
    assert.equal(relists, 0, 'watchers relisted: a resume from a resourceVersion the store still holds got 410');
    assert.ok(resumes >= watchers, `every watcher resumed when the replica serving it stopped (${resumes} resumes)`);
    const electionLog = (): string =>
      [...stoppedLogs.values(), cluster.logs('ai-apiserver')]
        .join('\n')
        .split('\n')
        .filter((line) => line.includes('leader-election'))
        .join('\n');
    for (const ms of handovers) assert.ok(ms < leaseDurationMs, `the Lease changed hands ${ms} ms after the leader's SIGTERM: it expired rather than being released\n${electionLog()}`);
    assert.equal(balancer.report().noEndpoint - before.noEndpoint, 0, 'connections found no ready replica during the restart');
  });
});
