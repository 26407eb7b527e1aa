// jobs/logs for real: kwok serves each rank pod's container log from a file (test/support/kwok-logs.ts),
// kube-apiserver's pods/log reads it, and this server merges the ranks.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { criLine, rankPods as kwokRankPods, serveLogs as kwokServeLogs, type RankPod } from '../support/kwok-logs.js';
import { jobYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const ns = 'logs';
let cluster: LocalCluster;
const dir = mkdtempSync(join(tmpdir(), 'job-logs-'));
const rankPods = (job: string, count: number): Promise<RankPod[]> => kwokRankPods(cluster, ns, job, count);
const serveLogs = (pods: RankPod[], lines: (rank: string) => string[]): Promise<void> => kwokServeLogs(cluster, ns, dir, pods, lines);

/** How many namespaced LISTs of pods kube-apiserver has answered: the server's polls while it follows a job. */
async function podLists(): Promise<number> {
  const metrics = await cluster.ok('admin', ['get', '--raw', '/metrics']);
  return [...metrics.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)]
    .filter(([, labels]) => /resource="pods"/.test(labels!) && /scope="namespace"/.test(labels!) && /subresource=""/.test(labels!) && /verb="LIST"/.test(labels!))
    .reduce((sum, [, , value]) => sum + Number(value), 0);
}

const logsPath = (job: string, query = ''): string => `/apis/ai.example.io/v1alpha1/namespaces/${ns}/jobs/${job}/logs${query}`;

/**
 * A streaming GET through kube-apiserver: resolves once `until` holds for what has arrived, then closes.
 * `onOpen` runs when the response starts, `onData` with all that has arrived after each chunk.
 */
function streamUntil(
  path: string,
  until: (text: string) => boolean,
  on: { onOpen?: () => void; onData?: (text: string) => void } = {},
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = httpsRequest(new URL(path, cluster.apiserverUrl), { ca: cluster.caPem, headers: { authorization: 'Bearer alice-token' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      on.onOpen?.();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        on.onData?.(text);
        if (until(text)) {
          clearTimeout(timer);
          req.destroy();
          resolve(text);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out; received: ${JSON.stringify(text)}`));
    }, timeoutMs);
    req.on('error', (error) => {
      if (!until(text)) reject(error);
    });
    req.end();
  });
}

const bed = testBed({
  name: 'job-logs',
  namespaces: [ns],
  async setup(cluster) {
    await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', ns]);
    await cluster.ok('admin', ['create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob', '-n', ns]);
  },
});
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  await bed.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('jobs/logs through kube-apiserver', () => {
  let pods: RankPod[];

  it('a 3-rank job\'s logs arrive merged, in rank order, each line prefixed with its rank', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], jobYaml('train', 3));
    pods = await rankPods('train', 3);
    await serveLogs(pods, (rank) => [`rank ${rank} starting`, `rank ${rank} epoch 1`]);
    const res = await cluster.request('alice', 'GET', logsPath('train'));
    assert.equal(res.status, 200, res.body);
    assert.equal(
      res.body,
      ['0', '1', '2'].map((r) => `[rank ${r}] rank ${r} starting\n[rank ${r}] rank ${r} epoch 1\n`).join(''),
    );
  });

  it('tailLines and rank filter; view may read logs, a user without a role may not', async () => {
    assert.equal((await cluster.request('alice', 'GET', logsPath('train', '?tailLines=1'))).body, '[rank 0] rank 0 epoch 1\n[rank 1] rank 1 epoch 1\n[rank 2] rank 2 epoch 1\n');
    assert.equal((await cluster.request('alice', 'GET', logsPath('train', '?rank=1'))).body, '[rank 1] rank 1 starting\n[rank 1] rank 1 epoch 1\n');
    assert.equal((await cluster.request('bob', 'GET', logsPath('train', '?rank=2&tailLines=1'))).body, '[rank 2] rank 2 epoch 1\n');
    const carol = await cluster.request('carol', 'GET', logsPath('train'));
    assert.equal(carol.status, 403, carol.body);
    const bad = await cluster.request('alice', 'GET', logsPath('train', '?tailLines=-1'));
    assert.equal(bad.status, 422, bad.body);
    const missing = await cluster.request('alice', 'GET', logsPath('nope'));
    assert.equal(missing.status, 404, missing.body);
    assert.equal(JSON.parse(missing.body).message, 'jobs.ai.example.io "nope" not found');
  });

  it('follow streams lines appended after the request', async () => {
    const rank2 = pods.find((p) => p.rank === '2')!;
    let appended = false;
    // The line is written only once the stream has sent everything already there, so it can only arrive by following.
    const text = await streamUntil(logsPath('train', '?follow=true'), (t) => t.includes('[rank 2] rank 2 epoch 2\n'), {
      onData(t) {
        if (appended || !t.includes('[rank 2] rank 2 epoch 1\n')) return;
        appended = true;
        appendFileSync(join(dir, `${rank2.name}.log`), criLine('rank 2 epoch 2'));
      },
    });
    for (const r of ['0', '1', '2']) assert.ok(text.includes(`[rank ${r}] rank ${r} starting\n`), text);
    assert.ok(text.indexOf('[rank 2] rank 2 epoch 2') > text.indexOf('[rank 2] rank 2 epoch 1'), text);
  });

  it('a job with no pods yet gives an empty stream that follows once its pods appear, and new ranks join', async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], jobYaml('later', 1, '  suspend: true\n  elastic:\n    minReplicas: 1\n    maxReplicas: 2\n'));
    let received = '';
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const listsBefore = await podLists();
    const done = streamUntil(logsPath('later', '?follow=true'), (t) => t.includes('[rank 1] rank 1 hello\n'), {
      onOpen: opened,
      onData: (t) => void (received = t),
    }, 120_000);
    await open;
    // The server looks for the job's pods again and again while it follows: once it has looked twice and found
    // none, nothing may have arrived.
    const deadline = Date.now() + 30_000;
    while ((await podLists()) < listsBefore + 2) {
      assert.ok(Date.now() < deadline, 'the server never listed the job\'s pods');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(received, '', 'nothing before the job has pods');
    await cluster.ok('admin', ['patch', 'aijob', 'later', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    const first = await rankPods('later', 1);
    await serveLogs(first, (rank) => [`rank ${rank} hello`]);
    await cluster.ok('admin', ['scale', 'aijob', 'later', '-n', ns, '--replicas=2']);
    const both = await rankPods('later', 2);
    await serveLogs(both.filter((p) => !first.some((f) => f.name === p.name)), (rank) => [`rank ${rank} hello`]);
    const text = await done;
    assert.ok(text.includes('[rank 0] rank 0 hello\n'), text);
    assert.ok(text.includes('[rank 1] rank 1 hello\n'), text);
  });
});
