// A fourth resource is a schema, a definition and a line in a list: the test-only widgets (test/fixtures/widgets.ts,
// in their own group) are handed to the same Registry and buildApp main.ts uses, over the embedded SQLite store,
// and served end to end: create, get, list as a Table with their printer columns, field selectors, watch, scale,
// discovery and OpenAPI, with nothing of ai.example.io in sight.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { TokenAuthenticator } from '../../src/auth/token-file.js';
import { Registry } from '../../src/registry/registry.js';
import { buildApp, type App } from '../../src/server/app.js';
import { loadServingCert } from '../../src/server/certs.js';
import { servedResources } from '../../src/server/connect.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { widgetDefinitions, widgetGroup, widgetVersion } from '../fixtures/widgets.js';
import { httpsCall, type HttpsAnswer } from '../support/https.js';

const token = 'widgets-admin-token';
const base = `/apis/${widgetGroup}/${widgetVersion}`;
const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io';

describe('a resource defined in a test fixture, served by the server\'s own code', () => {
  let dir: string;
  let storage: SqliteStorage;
  let registry: Registry;
  let app: App;
  let port: number;

  const send = (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpsAnswer> => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    return httpsCall(
      `https://127.0.0.1:${port}${path}`,
      {
        method,
        rejectUnauthorized: false,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...options.headers },
      },
      body,
    );
  };

  const json = async (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}, want = 200): Promise<Record<string, any>> => {
    const answer = await send(method, path, options);
    assert.equal(answer.status, want, `${method} ${path}: ${answer.body}`);
    return JSON.parse(answer.body) as Record<string, any>;
  };

  const widget = (name: string, color: string): unknown => ({
    apiVersion: `${widgetGroup}/${widgetVersion}`,
    kind: 'Widget',
    metadata: { name },
    spec: { color },
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-widgets-'));
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    storage = new SqliteStorage({ path: join(dir, 'state.db'), logger, compactIntervalMs: 0 });
    const resources = servedResources(widgetDefinitions);
    registry = new Registry({ strategies: resources.strategies, storage, etcdPrefix: '/registry', logger, consistentListFromCache: true });
    await registry.start();
    app = await buildApp({
      registry,
      connect: resources.connect,
      storage,
      metrics: new ServerMetrics(),
      authenticator: new TokenAuthenticator(new Map([[token, { name: 'admin', uid: '', groups: ['system:masters', 'system:authenticated'], extra: {} }]])),
      authorizer: { authorize: async () => ({ allowed: true, reason: '' }) },
      cert: await loadServingCert(),
      logger,
      maxRequestBodyBytes: 3 * 1024 * 1024,
      http2: false,
      notebookUpstream: 'http://127.0.0.1:1',
      limits: { maxRequestsInflight: 400, maxMutatingRequestsInflight: 200, enablePriorityAndFairness: false, requestTimeoutMs: 60_000, maxConnections: 100 },
    });
    await app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const address = app.fastify.server.address();
    assert.ok(address && typeof address === 'object');
    port = address.port;
  });

  after(async () => {
    await app?.shutdown(0);
    registry?.stop();
    await storage?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is created with its definition\'s defaults, read back, and refused by its schema when invalid', async () => {
    const created = await json('POST', `${base}/namespaces/team-a/widgets`, { body: widget('blue-one', 'blue') }, 201);
    assert.equal(created.kind, 'Widget');
    assert.equal(created.apiVersion, `${widgetGroup}/${widgetVersion}`);
    assert.equal(created.spec.replicas, 1, 'prepareForCreate of the definition ran');
    assert.equal(created.status, undefined);
    const read = await json('GET', `${base}/namespaces/team-a/widgets/blue-one`);
    assert.equal(read.metadata.uid, created.metadata.uid);

    const invalid = await json('POST', `${base}/namespaces/team-a/widgets`, { body: { ...(widget('no-color', 'x') as object), spec: {} } }, 422);
    assert.equal(invalid.kind, 'Status');
    assert.equal(invalid.reason, 'Invalid');
    assert.deepEqual(invalid.details.causes.map((c: { field: string }) => c.field), ['spec.color']);
    assert.equal(invalid.details.group, widgetGroup);
    assert.equal(invalid.details.kind, 'Widget');
  });

  it('lists as a Table with its own printer columns, and filters by its selectable field', async () => {
    await json('POST', `${base}/namespaces/team-a/widgets`, { body: widget('red-one', 'red') }, 201);
    const table = await json('GET', `${base}/namespaces/team-a/widgets`, { headers: { Accept: tableAccept } });
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Color', 'Replicas', 'Age']);
    const rows = table.rows.map((row: { cells: unknown[] }) => row.cells.slice(0, 3));
    assert.deepEqual(rows, [['blue-one', 'blue', 1], ['red-one', 'red', 1]]);

    const red = await json('GET', `${base}/namespaces/team-a/widgets?fieldSelector=${encodeURIComponent('spec.color=red')}`);
    assert.equal(red.kind, 'WidgetList');
    assert.deepEqual(red.items.map((w: { metadata: { name: string } }) => w.metadata.name), ['red-one']);
    const unknown = await json('GET', `${base}/namespaces/team-a/widgets?fieldSelector=${encodeURIComponent('status.phase=x')}`, {}, 400);
    assert.match(unknown.message, /status\.phase/);
  });

  it('streams a watch from a list\'s resourceVersion', async () => {
    const list = await json('GET', `${base}/namespaces/team-b/widgets`);
    const events: { type: string; object: { metadata: { name: string } } }[] = [];
    const controller = new AbortController();
    const watching = new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: `${base}/namespaces/team-b/widgets?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
          rejectUnauthorized: false,
          headers: { Authorization: `Bearer ${token}` },
          signal: controller.signal,
        },
        (res) => {
          assert.equal(res.statusCode, 200);
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffered += chunk;
            for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
              events.push(JSON.parse(buffered.slice(0, end)));
              buffered = buffered.slice(end + 1);
            }
            if (events.length > 0) resolve();
          });
        },
      );
      req.on('error', (error) => (controller.signal.aborted ? resolve() : reject(error)));
      req.end();
    });
    await json('POST', `${base}/namespaces/team-b/widgets`, { body: widget('green-one', 'green') }, 201);
    await watching;
    // Long-running, as a watch of the served group is: no seat held, no request timeout.
    const metrics = await send('GET', '/metrics');
    assert.match(metrics.body, /apiserver_longrunning_requests\{[^}]*resource="widgets"[^}]*\} 1/);
    controller.abort();
    assert.equal(events[0]!.type, 'ADDED');
    assert.equal(events[0]!.object.metadata.name, 'green-one');
  });

  it('serves the scale subresource its definition declares', async () => {
    const scale = await json('GET', `${base}/namespaces/team-a/widgets/blue-one/scale`);
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.deepEqual(scale.spec, { replicas: 1 });
    assert.deepEqual(scale.status, { replicas: 0, selector: 'widget=blue-one' });
    const scaled = await json('PUT', `${base}/namespaces/team-a/widgets/blue-one/scale`, {
      body: { ...scale, spec: { replicas: 4 } },
    });
    assert.deepEqual(scaled.spec, { replicas: 4 });
    const read = await json('GET', `${base}/namespaces/team-a/widgets/blue-one`);
    assert.equal(read.spec.replicas, 4);
    const status = await json('PUT', `${base}/namespaces/team-a/widgets/blue-one/status`, { body: { ...read, status: { phase: 'Ready', replicas: 4 } } });
    assert.deepEqual(status.status, { phase: 'Ready', replicas: 4 });
    assert.equal((await json('GET', `${base}/namespaces/team-a/widgets/blue-one/scale`)).status.replicas, 4);
    assert.equal((await send('GET', `${base}/namespaces/team-a/widgets/blue-one/proxy`)).status, 404);
  });

  it('is described by discovery, legacy and aggregated, and by nothing else', async () => {
    const groups = await json('GET', '/apis');
    assert.deepEqual(groups.groups.map((g: { name: string }) => g.name), [widgetGroup]);
    const list = await json('GET', base);
    assert.equal(list.groupVersion, `${widgetGroup}/${widgetVersion}`);
    assert.deepEqual(
      list.resources.map((r: { name: string; kind: string; group?: string }) => [r.name, r.kind, r.group ?? '']),
      [['widgets', 'Widget', ''], ['widgets/status', 'Widget', ''], ['widgets/scale', 'Scale', 'autoscaling']],
    );
    assert.deepEqual(list.resources[0].shortNames, ['wdg']);
    assert.deepEqual(list.resources[0].categories, ['test']);
    const aggregated = await json('GET', '/apis', { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } });
    const [resource] = aggregated.items[0].versions[0].resources;
    assert.equal(resource.resource, 'widgets');
    assert.equal(resource.scope, 'Namespaced');
    assert.deepEqual(resource.subresources.map((s: { subresource: string }) => s.subresource), ['status', 'scale']);
    assert.equal((await send('GET', '/apis/ai.example.io/v1alpha1/namespaces/team-a/notebooks')).status, 404);
  });

  it('is described by OpenAPI v3 and v2 from its own schema', async () => {
    const index = await json('GET', '/openapi/v3');
    const path = `apis/${widgetGroup}/${widgetVersion}`;
    assert.deepEqual(Object.keys(index.paths), [path]);
    const v3 = await json('GET', `/openapi/v3/${path}`);
    assert.ok(v3.paths[`${base}/namespaces/{namespace}/widgets/{name}/scale`]);
    assert.equal(v3.paths[`${base}/namespaces/{namespace}/widgets`].get['x-kubernetes-group-version-kind'].kind, 'Widget');
    assert.ok(v3.components.schemas['io.example.test.widgets.v1.Widget']);
    assert.ok(v3.components.schemas['io.example.test.widgets.v1.WidgetList']);
    assert.deepEqual(Object.keys(v3.components.schemas).filter((name) => name.startsWith('io.example.ai.')), []);
    const v2 = await json('GET', '/openapi/v2');
    assert.equal(v2.paths[`${base}/namespaces/{namespace}/widgets/{name}/scale`].put.parameters[0].schema.$ref, '#/definitions/io.k8s.api.autoscaling.v1.Scale');
  });
});
