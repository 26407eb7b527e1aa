// --workers: one server process per worker behind one port, on one etcd. Each connection is served by one worker
// (the primary hands accepted connections out in turn), so a client with several connections talks to every worker;
// which worker answered is read from the server's own request log (debug level, with each worker's pid).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { startServer, type ServerProcess } from '../support/server.js';

const workers = 2;
const connections = 6;
const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-workers-'));
const auditLog = join(dir, 'audit.log');
const policy = join(dir, 'policy.json');
writeFileSync(policy, JSON.stringify({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata', resources: [{ group: 'ai.example.io' }] }] }));

let server: ServerProcess;
const agents = Array.from({ length: connections }, () => new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false }));
const base = '/apis/ai.example.io/v1alpha1/namespaces/default/notebooks';

before(async () => {
  server = await startServer({ extraArgs: ['--workers', String(workers), '--log-level', 'debug', '--audit-policy-file', policy, '--audit-log-path', auditLog] });
  await eventually(async () => server.logs(), (logs) => logs.includes('every worker is serving'), 'every worker serving', 60_000);
});
after(async () => {
  for (const agent of agents) agent.destroy();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
}

function call(agent: Agent, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, agent, headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function notebook(name: string): string {
  return JSON.stringify({ apiVersion: 'ai.example.io/v1alpha1', kind: 'Notebook', metadata: { name }, spec: { template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook' }] } } } });
}

interface LogLine {
  msg?: string;
  pid?: number;
  worker?: number;
  url?: string;
  verb?: string;
}

function logLines(): LogLine[] {
  return server
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The workers' pids, from their own log lines. */
function workerPids(): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of logLines()) if (line.worker !== undefined && line.pid !== undefined) pids.set(line.worker, line.pid);
  return pids;
}

describe('--workers', () => {
  it('a write acknowledged by one worker is seen by a consistent GET and LIST on every other worker at once', async () => {
    for (const [i, writer] of agents.entries()) {
      const name = `nb-${i}`;
      const created = await call(writer, 'POST', base, notebook(name));
      assert.equal(created.status, 201, created.body);
      for (const reader of agents) {
        const got = await call(reader, 'GET', `${base}/${name}`);
        assert.equal(got.status, 200, got.body);
        const list = JSON.parse((await call(reader, 'GET', base)).body) as { items: { metadata: { name: string } }[] };
        assert.deepEqual(list.items.map((n) => n.metadata.name).sort(), agents.slice(0, i + 1).map((_, j) => `nb-${j}`).sort());
      }
    }
    // Every worker served some of those requests.
    const servedBy = new Set(logLines().filter((l) => l.msg === 'request' && l.url?.startsWith(base)).map((l) => l.pid));
    assert.equal(servedBy.size, workers, `requests served by ${[...servedBy].join(', ')}`);
  });

  it('watches opened on every worker see every event once, in order, whichever worker made the write', async () => {
    const list = JSON.parse((await call(agents[0]!, 'GET', base)).body) as { metadata: { resourceVersion: string } };
    const watchers = agents.map((agent) => {
      const events: { type: string; rv: string; name: string }[] = [];
      const req = request(`${server.url}${base}?watch=1&resourceVersion=${list.metadata.resourceVersion}`, { agent: new Agent({ rejectUnauthorized: false }), headers: { Authorization: `Bearer ${server.token}` } }, (res) => {
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
            const event = JSON.parse(buffered.slice(0, end)) as { type: string; object: { metadata: { name: string; resourceVersion: string } } };
            buffered = buffered.slice(end + 1);
            events.push({ type: event.type, rv: event.object.metadata.resourceVersion, name: event.object.metadata.name });
          }
        });
      });
      req.end();
      return { events, req };
    });
    const writes: { type: string; rv: string; name: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const agent = agents[i % agents.length]!;
      const name = `w-${i}`;
      const answer = i % 3 === 2 ? await call(agent, 'DELETE', `${base}/w-${i - 1}`) : await call(agent, 'POST', base, notebook(name));
      assert.ok(answer.status === 200 || answer.status === 201, answer.body);
      const object = JSON.parse(answer.body) as { metadata: { name: string; resourceVersion: string } };
      // A delete answers with the object as it was last stored; its event carries the deletion's revision.
      if (i % 3 !== 2) writes.push({ type: 'ADDED', rv: object.metadata.resourceVersion, name });
      else writes.push({ type: 'DELETED', rv: '', name: `w-${i - 1}` });
    }
    try {
      for (const watcher of watchers) {
        await eventually(async () => watcher.events.length, (n) => n >= writes.length, 'every event on every watcher', 30_000);
        assert.deepEqual(watcher.events.map((e) => [e.type, e.name]), writes.map((w) => [w.type, w.name]));
        const revisions = watcher.events.map((e) => Number(e.rv));
        assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'in revision order');
        for (const [k, write] of writes.entries()) if (write.rv) assert.equal(watcher.events[k]!.rv, write.rv);
      }
      assert.deepEqual(new Set(watchers.map((w) => JSON.stringify(w.events))).size, 1, 'every watcher saw the same events');
    } finally {
      for (const watcher of watchers) watcher.req.destroy();
    }
  });

  it('/metrics on any worker counts every worker\'s requests', async () => {
    const count = (text: string): number =>
      text
        .split('\n')
        .filter((line) => line.startsWith('apiserver_request_total{verb="get",resource="notebooks"'))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    const before = count((await call(agents[0]!, 'GET', '/metrics')).body);
    for (const agent of agents) assert.equal((await call(agent, 'GET', `${base}/nb-0`)).status, 200);
    for (const agent of agents) {
      assert.equal(count((await call(agent, 'GET', '/metrics')).body), before + connections, 'the same sum from every worker');
    }
  });

  it('writes every worker\'s audit events to the one log', async () => {
    const pids = workerPids();
    assert.equal(pids.size, workers);
    const names = new Set<string>();
    for (const [i, agent] of agents.entries()) {
      const answer = await call(agent, 'POST', base, notebook(`audited-${i}`));
      assert.equal(answer.status, 201);
      names.add(`audited-${i}`);
    }
    const events = await eventually(
      async () =>
        readFileSync(auditLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { stage: string; verb: string; objectRef?: { name?: string } }),
      (all) => [...names].every((name) => all.some((e) => e.stage === 'ResponseComplete' && e.verb === 'create' && e.objectRef?.name === name)),
      'a ResponseComplete create event for each notebook',
      30_000,
    );
    assert.ok(events.length > 0);
  });

  it('forks again a worker that dies, and stops every worker on SIGTERM', async () => {
    const [index, pid] = [...workerPids()][1]!;
    process.kill(pid, 'SIGKILL');
    const replaced = await eventually(async () => workerPids().get(index), (next) => next !== undefined && next !== pid, `worker ${index} forked again`, 60_000);
    await eventually(async () => server.logs(), (logs) => logs.includes('"msg":"a worker died: it is forked again"'), 'the death logged');
    for (const agent of agents) assert.equal((await call(agent, 'GET', base)).status, 200);
    const pids = [...workerPids().values()];
    assert.ok(pids.includes(replaced!));
    assert.equal(await server.terminate(), 0);
    for (const worker of pids) assert.throws(() => process.kill(worker, 0), { code: 'ESRCH' }, `worker ${worker} gone`);
  });

  it('workers stop by themselves when the primary is killed outright, leaving nothing on the port', async () => {
    const before = new Set(workerPids().values());
    await server.restart();
    await eventually(async () => server.logs(), (logs) => (logs.match(/every worker is serving/g) ?? []).length >= 2, 'every worker serving again', 60_000);
    const pids = [...workerPids().values()].filter((pid) => !before.has(pid));
    assert.equal(pids.length, workers);
    await server.crash();
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await eventually(async () => pids.filter(alive), (left) => left.length === 0, 'no worker left', 60_000);
  });
});
