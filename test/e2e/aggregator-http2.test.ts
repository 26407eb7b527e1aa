// kube-apiserver's proxy to this server over HTTP/2: the aggregator negotiates h2 (the server counts connections by
// the protocol ALPN chose), multiplexes many watches on a few connections (at most 100 streams each, as announced),
// and every watch still gets every event.
import assert from 'node:assert/strict';
import type { ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, beforeEach, describe, it } from 'node:test';
import { users, type LocalCluster } from '../support/cluster.js';
import { until } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const ns = 'h2-watches';
const bed = testBed({ name: 'aggregator-http2', serverArgs: ['--no-controllers', '--enable-http2-serving'], namespaces: [ns] });
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

/** A series of the server's own /metrics, read straight from it as the front proxy would. */
async function metric(series: string): Promise<number> {
  const res = await cluster.direct('/metrics', { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' }, cluster.frontProxyClient);
  assert.equal(res.status, 200, res.body);
  const line = res.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

interface Watch {
  request: ClientRequest;
  added: string[];
}

/** A watch through kube-apiserver on a connection of its own (a client of kube-apiserver's), once its headers are in. */
function watch(path: string): Promise<Watch> {
  return new Promise((resolve, reject) => {
    const w: Watch = { request: undefined as unknown as ClientRequest, added: [] };
    w.request = httpsRequest(`${cluster.apiserverUrl}${path}`, { agent: false, ca: cluster.caPem, headers: { authorization: `Bearer ${users.admin.token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch ${path}: ${res.statusCode}`));
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          const event = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
          if (event.type === 'ADDED') w.added.push(event.object.metadata.name);
        }
      });
      res.on('error', () => undefined);
      resolve(w);
    });
    w.request.on('error', () => undefined);
    w.request.end();
  });
}

const watchSeries = 'apiserver_longrunning_requests{verb="watch",resource="notebooks",subresource=""}';

describe('kube-apiserver to this server over HTTP/2', () => {
  it('negotiates h2, and 150 watches through it share a few connections and each get every event', async () => {
    // Anything through the aggregator: kube-apiserver is the one client of this server that speaks h2 here (the
    // suite's own reads of /metrics are HTTP/1.1).
    await cluster.ok('admin', ['get', 'notebooks', '-n', ns]);
    assert.ok((await metric('ai_apiserver_http_connections_total{protocol="h2"}')) >= 1);
    assert.ok((await metric('ai_apiserver_http_open_connections{protocol="h2"}')) >= 1);

    const before = await metric(watchSeries);
    const count = 150;
    const rv = JSON.parse((await cluster.request('admin', 'GET', `/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks`)).body) as { metadata: { resourceVersion: string } };
    const watches: Watch[] = [];
    try {
      for (let i = 0; i < count; i += 25) {
        watches.push(...(await Promise.all(Array.from({ length: 25 }, () => watch(`/apis/ai.example.io/v1alpha1/namespaces/${ns}/notebooks?watch=true&resourceVersion=${rv.metadata.resourceVersion}`)))));
      }
      await until(async () => (await metric(watchSeries)) === before + count, `${count} watches open on the server`, 60_000, { everyMs: 250 });
      // 150 streams need two connections at 100 each; the aggregator's discovery and OpenAPI clients may hold more.
      const open = await metric('ai_apiserver_http_open_connections{protocol="h2"}');
      assert.ok(open >= 2 && open <= 6, `${count} watches on ${open} HTTP/2 connections`);
      await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebookYaml('seen-by-all'));
      await until(() => watches.every((w) => w.added.includes('seen-by-all')), 'every watch to see the new notebook', 60_000, { everyMs: 100 });
    } finally {
      for (const w of watches) w.request.destroy();
    }
    await until(async () => (await metric(watchSeries)) === before, 'the watches to end on the server', 60_000, { everyMs: 250 });
  });
});
