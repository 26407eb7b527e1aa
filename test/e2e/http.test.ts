// The HTTP surface over raw HTTPS, no kubectl: Status errors for bad input (and nothing stored), discovery and
// OpenAPI caching rules, watch streams, metrics, and a graceful shutdown.
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import { until } from '../support/eventually.js';
import { lazyServer, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
const base = '/apis/ai.example.io/v1alpha1';
const nbPath = `${base}/namespaces/http/notebooks`;
const json = { 'Content-Type': 'application/json' };

const notebook = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Notebook',
  metadata: { name },
  spec: { template: { spec: { containers: [{ name: 'nb', image: 'jupyter' }] } }, workspace: { size: '1Gi' } },
  ...extra,
});

interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: { causes?: { field: string }[] };
}

function status(res: { status: number; body: string; headers: Record<string, unknown> }, code: number, reason: string): StatusBody {
  assert.equal(res.status, code, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as StatusBody;
  assert.equal(body.kind, 'Status');
  assert.equal(body.apiVersion, 'v1');
  assert.equal(body.status, 'Failure');
  assert.equal(body.reason, reason);
  assert.equal(body.code, code);
  return body;
}

async function count(): Promise<number> {
  const res = await server.http('GET', nbPath);
  return (JSON.parse(res.body) as { items: unknown[] }).items.length;
}

const lazy = lazyServer({
  // Writes before the server starts, then a compaction, put etcd's history after revision 1: a watch from 1 is too old.
  beforeStart: async (etcd) => {
    const storage = new EtcdStorage({ endpoints: [etcd.endpoint], logger: pino({ level: 'silent' }) });
    await storage.create('/warmup/a', Buffer.from('1'));
    await storage.create('/warmup/b', Buffer.from('2'));
    await storage.compact(await storage.currentRevision());
    await storage.close();
  },
  setup: async (started) => {
    const res = await started.http('POST', nbPath, { body: JSON.stringify(notebook('existing')), headers: json });
    assert.equal(res.status, 201, res.body);
  },
});
beforeEach(async () => void (server = await lazy.ready()));
after(() => lazy.stop());

describe('bad input gets a Status and changes nothing', () => {
  const cases: { name: string; method?: string; path?: string; body: string | Buffer; headers?: Record<string, string>; code: number; reason: string; message?: RegExp }[] = [
    { name: 'malformed JSON', body: '{"apiVersion": ', code: 400, reason: 'BadRequest', message: /json parse error/ },
    { name: 'the wrong apiVersion', body: JSON.stringify(notebook('a', { apiVersion: 'ai.example.io/v9' })), code: 422, reason: 'Invalid' },
    { name: 'the wrong kind', body: JSON.stringify(notebook('a', { kind: 'Pod' })), code: 422, reason: 'Invalid' },
    { name: 'a namespace that is not the URL\'s', body: JSON.stringify(notebook('a', { metadata: { name: 'a', namespace: 'other' } })), code: 400, reason: 'BadRequest' },
    {
      name: 'a body over 3 MiB',
      body: JSON.stringify(notebook('a', { metadata: { name: 'a', annotations: { big: 'x'.repeat(3 * 1024 * 1024) } } })),
      code: 413,
      reason: 'RequestEntityTooLarge',
    },
    {
      name: 'unknown fields under Strict',
      path: `${nbPath}?fieldValidation=Strict`,
      body: JSON.stringify(notebook('a', { spec: { ...(notebook('a').spec as object), bogus: 1 } })),
      code: 400,
      reason: 'BadRequest',
      message: /^strict decoding error: unknown field "spec.bogus"$/,
    },
    { name: 'an invalid dryRun', path: `${nbPath}?dryRun=Sometimes`, body: JSON.stringify(notebook('a')), code: 422, reason: 'Invalid' },
    { name: 'a content type nobody registered', body: 'a: b', headers: { 'Content-Type': 'text/plain' }, code: 415, reason: 'UnsupportedMediaType' },
    { name: 'an object that already exists', body: JSON.stringify(notebook('existing')), code: 409, reason: 'AlreadyExists' },
  ];
  for (const tc of cases) {
    it(`${tc.name}: ${tc.code} ${tc.reason}`, async () => {
      const before = await count();
      const res = await server.http(tc.method ?? 'POST', tc.path ?? nbPath, { body: tc.body, headers: tc.headers ?? json });
      const body = status(res, tc.code, tc.reason);
      if (tc.message) assert.match(body.message, tc.message);
      assert.equal(await count(), before);
    });
  }

  it('selectors that do not parse, unknown paths, methods and media types', async () => {
    status(await server.http('GET', `${nbPath}?labelSelector=${encodeURIComponent('a in (')}`), 400, 'BadRequest');
    const field = status(await server.http('GET', `${nbPath}?fieldSelector=spec.stopped%3Dtrue`), 400, 'BadRequest');
    assert.equal(field.message, 'field label not supported: spec.stopped');
    status(await server.http('GET', `${base}/namespaces/http/pods`), 404, 'NotFound');
    status(await server.http('GET', '/nothing/here'), 404, 'NotFound');
    status(await server.http('POST', `${nbPath}/existing`, { body: '{}', headers: json }), 405, 'MethodNotAllowed');
    status(await server.http('GET', `${nbPath}/existing`, { headers: { Accept: 'application/vnd.kubernetes.protobuf' } }), 406, 'NotAcceptable');
    status(await server.http('GET', `${nbPath}/missing`), 404, 'NotFound');
    const res = await server.http('GET', nbPath, { headers: { Authorization: 'Bearer wrong' } });
    status(res, 401, 'Unauthorized');
  });

  it('a watch from a resourceVersion older than the history is 200 with one ERROR event: 410 Expired', async () => {
    const res = await server.http('GET', `${nbPath}?watch=true&resourceVersion=1`);
    assert.equal(res.status, 200);
    const lines = res.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: StatusBody });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.type, 'ERROR');
    assert.equal(lines[0]!.object.code, 410);
    assert.equal(lines[0]!.object.reason, 'Expired');
    assert.match(lines[0]!.object.message, /^too old resource version: 1 \(\d+\)$/);
  });
});

describe('discovery and OpenAPI', () => {
  it('aggregated discovery on /apis echoes its content type and answers 304 to a matching ETag', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
    const res = await server.http('GET', '/apis', { headers: { Accept: accept } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const body = JSON.parse(res.body) as { items: { versions: { resources: { resource: string; subresources: { subresource: string }[] }[] }[] }[] };
    const resources = body.items[0]!.versions[0]!.resources;
    assert.deepEqual(resources.map((r) => [r.resource, r.subresources.map((s) => s.subresource)]), [
      ['notebooks', ['status', 'proxy']],
      ['jobs', ['status', 'scale', 'progress', 'logs']],
      ['datasets', ['status']],
    ]);
    const again = await server.http('GET', '/apis', { headers: { Accept: accept, 'If-None-Match': String(res.headers.etag) } });
    assert.equal(again.status, 304);
    const legacy = JSON.parse((await server.http('GET', '/apis')).body) as { kind: string };
    assert.equal(legacy.kind, 'APIGroupList');
  });

  it('OpenAPI v3: hash URLs, 301 from a stale hash, immutable caching, ETag, 406 for protobuf', async () => {
    const index = JSON.parse((await server.http('GET', '/openapi/v3')).body) as { paths: Record<string, { serverRelativeURL: string }> };
    const url = index.paths['apis/ai.example.io/v1alpha1']!.serverRelativeURL;
    const current = await server.http('GET', url);
    assert.equal(current.status, 200);
    assert.equal(current.headers['cache-control'], 'public, immutable');
    assert.equal(current.headers.etag, `"${url.split('hash=')[1]}"`);
    const stale = await server.http('GET', '/openapi/v3/apis/ai.example.io/v1alpha1?hash=ABC');
    assert.equal(stale.status, 301);
    assert.equal(stale.headers.location, url);
    const cached = await server.http('GET', '/openapi/v3/apis/ai.example.io/v1alpha1', { headers: { 'If-None-Match': String(current.headers.etag) } });
    assert.equal(cached.status, 304);
    const proto = await server.http('GET', url, { headers: { Accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf' } });
    assert.equal(proto.status, 406);
    const v2 = await server.http('GET', '/openapi/v2');
    assert.equal((JSON.parse(v2.body) as { swagger: string }).swagger, '2.0');
  });

  it('health endpoints answer without credentials, with per-check detail on ?verbose', async () => {
    const res = await server.http('GET', '/readyz?verbose', { headers: { Authorization: '' } });
    assert.equal(res.status, 200);
    assert.match(res.body, /\[\+\]etcd ok\n[\s\S]*\[\+\]watch-cache-sync ok[\s\S]*readyz check passed/);
  });
});

describe('negotiation and watch streams', () => {
  it('Table and PartialObjectMetadata representations of gets, lists and watches', async () => {
    const table = JSON.parse((await server.http('GET', `${nbPath}/existing`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } })).body) as {
      kind: string;
      columnDefinitions: { name: string; priority: number }[];
      rows: { cells: unknown[]; object: { kind: string } }[];
    };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name), ['Name', 'Phase', 'Ready', 'Image', 'Age']);
    assert.equal(table.rows.length, 1);
    assert.equal(table.rows[0]!.object.kind, 'PartialObjectMetadata');
    const list = JSON.parse(
      (await server.http('GET', nbPath, { headers: { Accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' } })).body,
    ) as { kind: string; items: { kind: string; metadata: { name: string } }[] };
    assert.equal(list.kind, 'PartialObjectMetadataList');
    assert.ok(list.items.every((i) => i.kind === 'PartialObjectMetadata' && !('spec' in i)));
  });

  it('a watch streams one event per line, flushed, with the initial-events-end bookmark, and ends at timeoutSeconds', async () => {
    const lines: string[] = [];
    let headersAt = 0;
    const started = Date.now();
    const done = new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        `${server.url}${nbPath}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=2`,
        { rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}`, Accept: 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io' } },
        (res) => {
          headersAt = Date.now() - started;
          assert.equal(res.headers['transfer-encoding'], 'chunked');
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            const parts = buffer.split('\n');
            buffer = parts.pop()!;
            lines.push(...parts);
          });
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    // The write comes after the initial events, so it must arrive after the bookmark that ends them.
    await until(() => lines.some((l) => l.includes('"BOOKMARK"')), 'the initial-events-end bookmark', 10_000);
    await server.http('POST', nbPath, { body: JSON.stringify(notebook('watched')), headers: json });
    await done;
    assert.ok(headersAt < 1_000, `headers came after ${headersAt} ms`);
    assert.ok(Date.now() - started >= 1_900, 'the watch ended before timeoutSeconds');
    const events = lines.map((l) => JSON.parse(l) as { type: string; object: { kind: string; metadata: { name?: string; annotations?: Record<string, string> } } });
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK', 'ADDED']);
    assert.equal(events[1]!.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
    assert.equal(events[2]!.object.metadata.name, 'watched');
    assert.ok(events.every((e) => e.object.kind === 'PartialObjectMetadata'));
  });

  it('metrics count requests by verb, resource and code', async () => {
    const metrics = (await server.http('GET', '/metrics')).body;
    assert.match(metrics, /apiserver_request_total\{verb="create",resource="notebooks",subresource="",code="201"\} \d+/);
    assert.match(metrics, /apiserver_request_duration_seconds_bucket\{le="[^"]+",verb="list",resource="notebooks"/);
    assert.match(metrics, /etcd_request_duration_seconds_count\{operation="create"\} \d+/);
  });
});

describe('shutdown', () => {
  it('SIGTERM fails readyz first, ends open watches cleanly and exits 0', async () => {
    const fresh = await startServer({ extraArgs: ['--shutdown-delay-duration', '2'] });
    try {
      let watching = false;
      let watchOpen = true;
      const watchEnded = new Promise<boolean>((resolve, reject) => {
        const req = httpsRequest(
          `${fresh.url}${nbPath}?watch=true`,
          { rejectUnauthorized: false, headers: { Authorization: `Bearer ${fresh.token}` } },
          (res) => {
            watching = true;
            res.resume();
            res.on('end', () => {
              watchOpen = false;
              resolve(res.complete);
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      });
      await until(() => watching, 'the watch to be answered', 10_000);
      const exit = fresh.terminate();
      // Within the 2 s shutdown delay: readyz fails while the server still serves and the watch is still open.
      let ready = { status: 0, body: '' };
      await until(
        async () => {
          ready = await fresh.http('GET', '/readyz?verbose');
          return ready.status !== 200;
        },
        'readyz to fail after SIGTERM',
        2_000,
      );
      assert.equal(ready.status, 500);
      assert.match(ready.body, /\[-\]shutdown failed/);
      assert.ok(watchOpen, 'the watch ended before readyz failed');
      assert.equal(await watchEnded, true, 'the watch stream was cut instead of ended');
      assert.equal(await exit, 0);
    } finally {
      await fresh.stop();
    }
  });
});
