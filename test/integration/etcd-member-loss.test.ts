// The server on a 3-member etcd cluster rides out the loss of one member: one member is SIGKILLed while eight
// clients create and update notebooks through the server's HTTP API and three watches follow them. Afterwards every
// acknowledged write is in the store at its resourceVersion, every watch saw every acknowledged write once and in
// order and never ended, and any error a client was given is a retriable one (503/504 with Retry-After, or 429)
// from around the kill. The member then restarts on its data dir and catches up. Run for the leader, a follower,
// and the member serving the server's watch streams; the figures of each run are printed.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { describe, it } from 'node:test';
import { until } from '../support/eventually.js';
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from '../support/etcd-cluster.js';
import { startServer, type ServerProcess } from '../support/server.js';
import { watchServer } from '../support/server-watch.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const WRITERS = 8;
const UPDATES_PER_OBJECT = 3;
const namespaces = ['loss-a', 'loss-b'];

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

interface Written {
  namespace: string;
  name: string;
  step: number;
  revision: number;
  /** When the write was sent and answered (ms since the epoch). */
  sentAt: number;
  ackedAt: number;
}

interface Refusal {
  status: number;
  reason: string;
  retryAfter: string | undefined;
  sentAt: number;
  at: number;
  verb: string;
}

interface SeenEvent {
  type: string;
  namespace: string;
  name: string;
  revision: number;
  step: string | undefined;
}

function client(server: ServerProcess) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const call = (method: string, path: string, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${server.url}${path}`,
        { method, agent, headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return { call, close: () => agent.destroy() };
}

function openWatch(server: ServerProcess, path: string, fromRevision: string) {
  const events: SeenEvent[] = [];
  let ended: string | undefined;
  const watch = watchServer(
    server,
    `${path}?watch=true&allowWatchBookmarks=true&resourceVersion=${fromRevision}`,
    (line) => {
      if (line.type === 'BOOKMARK') return;
      if (line.type === 'ERROR') {
        ended = `ERROR ${JSON.stringify(line.object)}`;
        return;
      }
      const { metadata } = line.object;
      events.push({ type: line.type, namespace: metadata.namespace!, name: metadata.name, revision: Number(metadata.resourceVersion), step: metadata.labels?.step });
    },
    (why) => (ended ??= why),
  );
  return { events, path, ended: () => ended, close: watch.close };
}

const notebookBody = (namespace: string, name: string, step: number, resourceVersion?: string) => ({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Notebook',
  metadata: { name, namespace, labels: { step: String(step) }, ...(resourceVersion ? { resourceVersion } : {}) },
  spec: { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook:2024-01-01' }] } } },
});

const collection = (namespace: string): string => `/apis/ai.example.io/v1alpha1/namespaces/${namespace}/notebooks`;

type Victim = 'leader' | 'follower' | 'watch member';

/** Which member to kill: the leader, a follower serving none of the server's watch streams if there is one, or the member serving the most. */
async function choose(cluster: EtcdCluster, victim: Victim): Promise<{ member: EtcdMember; role: string; watchStreams: number[] }> {
  const leader = await cluster.leader();
  const watchStreams = await Promise.all(cluster.members.map((m) => cluster.watchStreams(m)));
  const followers = cluster.members.filter((m) => m !== leader);
  let member: EtcdMember;
  if (victim === 'leader') member = leader;
  else if (victim === 'follower') member = followers.reduce((a, b) => (watchStreams[cluster.members.indexOf(a)]! <= watchStreams[cluster.members.indexOf(b)]! ? a : b));
  else member = cluster.members.reduce((a, b) => (watchStreams[cluster.members.indexOf(a)]! >= watchStreams[cluster.members.indexOf(b)]! ? a : b));
  return { member, role: member === leader ? 'leader' : 'follower', watchStreams };
}

async function memberLoss(victim: Victim, options: { tls?: boolean } = {}): Promise<void> {
  const cluster = await startEtcdCluster({ size: 3, tls: options.tls });
  let server: ServerProcess | undefined;
  const http: ReturnType<typeof client>[] = [];
  const watches: ReturnType<typeof openWatch>[] = [];
  try {
    const tls = cluster.clientTls;
    server = await startServer({
      etcdServers: cluster.endpoints,
      extraArgs: tls ? ['--etcd-cafile', tls.ca, '--etcd-certfile', tls.cert, '--etcd-keyfile', tls.key] : [],
    });
    const api = client(server);
    http.push(api);
    const start = JSON.parse((await api.call('GET', '/apis/ai.example.io/v1alpha1/notebooks')).body) as { metadata: { resourceVersion: string } };
    watches.push(openWatch(server, collection(namespaces[0]!), start.metadata.resourceVersion));
    watches.push(openWatch(server, collection(namespaces[1]!), start.metadata.resourceVersion));
    watches.push(openWatch(server, '/apis/ai.example.io/v1alpha1/notebooks', start.metadata.resourceVersion));

    const written: Written[] = [];
    const refusals: Refusal[] = [];
    let writing = true;
    let fatal: string | undefined;
    const progress = (condition: () => boolean) => (): boolean => {
      if (fatal) assert.fail(fatal);
      return condition();
    };
    // Each writer owns its objects: a create, then updates that carry the resourceVersion it was last given, so
    // every write is checked against the one before it. A refused write is sent again, as client-go would.
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const namespace = namespaces[w % namespaces.length]!;
      for (let object = 0; writing; object++) {
        const name = `w${w}-${object}`;
        let resourceVersion: string | undefined;
        for (let step = 0; step <= UPDATES_PER_OBJECT; step++) {
          for (;;) {
            const sentAt = Date.now();
            const verb = step === 0 ? 'create' : 'update';
            const answer =
              step === 0
                ? await api.call('POST', collection(namespace), notebookBody(namespace, name, step))
                : await api.call('PUT', `${collection(namespace)}/${name}`, notebookBody(namespace, name, step, resourceVersion));
            if (answer.status === 200 || answer.status === 201) {
              const object = JSON.parse(answer.body) as { metadata: { resourceVersion: string } };
              resourceVersion = object.metadata.resourceVersion;
              written.push({ namespace, name, step, revision: Number(resourceVersion), sentAt, ackedAt: Date.now() });
              break;
            }
            const status = JSON.parse(answer.body) as { reason?: string };
            refusals.push({ status: answer.status, reason: status.reason ?? '', retryAfter: answer.retryAfter, sentAt, at: Date.now(), verb });
            // A 4xx is an answer about the data, not the store's health: sending it again would hide the bug.
            if (answer.status < 500 && answer.status !== 429) {
              fatal ??= `a ${verb} of ${namespace}/${name} was refused with ${answer.status}: ${answer.body}`;
              return;
            }
            // The test is over (or failed): a writer still refused stops rather than keep the file's process alive.
            if (!writing) return;
            await sleep(Math.min(Number(answer.retryAfter ?? '1') * 1000, 1000));
          }
        }
      }
    });

    let killedAt = 0;
    let recoveredAt = 0;
    let restartedAt = 0;
    let rejoinedAt = 0;
    let chosen: Awaited<ReturnType<typeof choose>>;
    try {
      await until(progress(() => written.length >= 200), () => `only ${written.length} writes acknowledged before the kill`);
      chosen = await choose(cluster, victim);
      killedAt = Date.now();
      await chosen.member.kill();
      // Recovered: every writer has had a write it sent after the kill acknowledged. From then on no request may
      // fail, so the load goes on for a while with the member still dead (the client keeps probing it).
      const writersAfter = (since: number): number => new Set(written.filter((w) => w.sentAt > since).map((w) => w.name.split('-')[0])).size;
      await until(progress(() => writersAfter(killedAt) === WRITERS), () => `${writersAfter(killedAt)} of ${WRITERS} writers had a write acknowledged after the kill`);
      recoveredAt = Date.now();
      const ackedAtRecovery = written.length;
      await until(
        progress(() => Date.now() >= recoveredAt + 5_000 && written.length >= ackedAtRecovery + 200),
        () => `${written.length - ackedAtRecovery} writes acknowledged since the recovery`,
      );
      restartedAt = Date.now();
      await chosen.member.restart();
      // Rejoined: it answers, has a leader, and holds everything acknowledged while it was away.
      const target = written[written.length - 1]!.revision;
      await until(
        async () => {
          const status = await cluster.status(chosen.member).catch(() => undefined);
          return status !== undefined && status.hasLeader && status.revision >= target;
        },
        () => `${chosen.member.name} did not catch up to revision ${target}`,
      );
      rejoinedAt = Date.now();
      const ackedAtRejoin = written.length;
      await until(progress(() => written.length >= ackedAtRejoin + 100), () => `${written.length - ackedAtRejoin} writes acknowledged since the member rejoined`);
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    // Every acknowledged write, read back: the last state of each object through GET, and every write from the
    // store's own snapshot at its resourceVersion.
    const last = new Map<string, Written>();
    for (const w of written) last.set(`${w.namespace}/${w.name}`, w);
    for (const w of last.values()) {
      const answer = await api.call('GET', `${collection(w.namespace)}/${w.name}`);
      assert.equal(answer.status, 200, `${w.namespace}/${w.name}: ${answer.body}`);
      const object = JSON.parse(answer.body) as { metadata: { resourceVersion: string; labels: Record<string, string> } };
      assert.equal(object.metadata.resourceVersion, String(w.revision), `${w.namespace}/${w.name} is not at its last acknowledged write`);
      assert.equal(object.metadata.labels.step, String(w.step));
    }
    for (const w of written) {
      const answer = await api.call(
        'GET',
        `${collection(w.namespace)}?resourceVersion=${w.revision}&resourceVersionMatch=Exact&fieldSelector=metadata.name%3D${w.name}`,
      );
      assert.equal(answer.status, 200, answer.body);
      const list = JSON.parse(answer.body) as { items: { metadata: { resourceVersion: string; labels: Record<string, string> } }[] };
      assert.equal(list.items.length, 1, `${w.namespace}/${w.name} is missing at resourceVersion ${w.revision}`);
      assert.equal(list.items[0]!.metadata.resourceVersion, String(w.revision));
      assert.equal(list.items[0]!.metadata.labels.step, String(w.step));
    }

    // Every watch saw every acknowledged write in its scope once, in order, as what it was, and is still open.
    const lastRevision = written.reduce((max, w) => Math.max(max, w.revision), 0);
    let extraEvents = 0;
    for (const watch of watches) {
      const inScope = (w: { namespace: string }): boolean => watch.path === '/apis/ai.example.io/v1alpha1/notebooks' || watch.path === collection(w.namespace);
      await until(
        () => watch.ended() !== undefined || watch.events.some((e) => e.revision >= lastRevision) || !written.some((w) => inScope(w) && w.revision === lastRevision),
        () => `${watch.path}: the watch never reached resourceVersion ${lastRevision}; last seen ${watch.events.at(-1)?.revision}`,
      );
      const expected = written.filter(inScope);
      await until(
        () => watch.ended() !== undefined || watch.events.length >= expected.length,
        () => `${watch.path}: ${watch.events.length} events for ${expected.length} acknowledged writes`,
      );
      assert.equal(watch.ended(), undefined, `${watch.path}: the watch ended: ${watch.ended()}`);
      const revisions = watch.events.map((e) => e.revision);
      for (let i = 1; i < revisions.length; i++) {
        assert.ok(revisions[i]! > revisions[i - 1]!, `${watch.path}: events out of order or repeated at ${i}: ${revisions[i - 1]} then ${revisions[i]}`);
      }
      const byRevision = new Map(watch.events.map((e) => [e.revision, e]));
      for (const w of expected) {
        const event = byRevision.get(w.revision);
        assert.ok(event, `${watch.path}: no event for ${w.namespace}/${w.name} step ${w.step} at resourceVersion ${w.revision}`);
        assert.equal(event.type, w.step === 0 ? 'ADDED' : 'MODIFIED');
        assert.equal(`${event.namespace}/${event.name}/${event.step}`, `${w.namespace}/${w.name}/${w.step}`);
      }
      extraEvents += watch.events.length - expected.length;
    }

    // Refusals: only retriable ones, and only of requests sent between the kill and the recovery.
    for (const r of refusals) {
      const retriable = r.status === 429 || r.status === 504 || (r.status >= 500 && r.retryAfter !== undefined);
      assert.ok(retriable, `a ${r.verb} was refused with ${r.status} ${r.reason} (Retry-After ${r.retryAfter ?? 'absent'})`);
      assert.ok(
        r.at >= killedAt && r.sentAt <= recoveredAt,
        `a ${r.verb} sent ${r.sentAt - killedAt} ms after the kill (recovered after ${recoveredAt - killedAt} ms) was refused with ${r.status} ${r.reason}`,
      );
    }
    const gaps = written.map((w) => w.ackedAt).sort((a, b) => a - b);
    let longestGap = 0;
    for (let i = 1; i < gaps.length; i++) if (gaps[i]! >= killedAt) longestGap = Math.max(longestGap, gaps[i]! - Math.max(gaps[i - 1]!, killedAt));
    const firstAfterKill = written.filter((w) => w.sentAt >= killedAt).reduce((min, w) => Math.min(min, w.ackedAt), Infinity);
    const counts = new Map<string, number>();
    for (const r of refusals) counts.set(`${r.status} ${r.reason}`, (counts.get(`${r.status} ${r.reason}`) ?? 0) + 1);
    const figures = {
      killed: `${chosen!.member.name} (${chosen!.role}; the server's watch streams per member before: ${chosen!.watchStreams.join('/')})`,
      writesAcknowledged: written.length,
      objects: last.size,
      clientErrors: refusals.length,
      errorCodes: Object.fromEntries(counts),
      errorWindowMs: refusals.length === 0 ? 0 : Math.max(...refusals.map((r) => r.at)) - killedAt,
      longestWriteStallAfterKillMs: longestGap,
      firstWriteAfterKillAcknowledgedInMs: firstAfterKill - killedAt,
      everyWriterRecoveredInMs: recoveredAt - killedAt,
      watchEventsBeyondAcknowledgedWrites: extraEvents,
      memberRejoinedInMs: rejoinedAt - restartedAt,
    };
    console.log(`etcd member loss (${victim}${options.tls ? ', client TLS' : ''}): ${JSON.stringify(figures)}`);
  } catch (error) {
    if (server) console.log(server.logs().split('\n').slice(-20).map((line) => line.slice(0, 400)).join('\n'));
    throw error;
  } finally {
    for (const watch of watches) watch.close();
    for (const h of http) h.close();
    await server?.stop();
    await cluster.destroy();
  }
}

describe('etcd member loss under write load', () => {
  it('SIGKILL of the leader: no acknowledged write lost, watches complete and open, only retriable errors', () => memberLoss('leader'));
  it('SIGKILL of a follower: the same', () => memberLoss('follower'));
  it('SIGKILL of the member serving the server\'s watch streams: the same', () => memberLoss('watch member'));
  it('with client TLS (--etcd-cafile, --etcd-certfile, --etcd-keyfile; members require a client certificate), SIGKILL of the leader: the same', () =>
    memberLoss('leader', { tls: true }));
});
