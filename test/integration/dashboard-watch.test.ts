// The dashboard's watch loop (src/dashboard/watch.ts) as the page runs it, in Node, through the plugin's local proxy
// to the real server on real etcd: it lists, follows a watch, and after losing the server for a while resumes; when
// the resourceVersion it resumes from has been compacted away (410 Gone) it relists and lands on the same state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { Notebook } from '../../src/api/v1alpha1/types.js';
import { watchCollection, type CollectionState } from '../../src/dashboard/watch.js';
import { startLocalProxy, type LocalProxy } from '../../src/plugin/local-proxy.js';
import { until } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { startServer, type ServerProcess } from '../support/server.js';

const path = '/apis/ai.example.io/v1alpha1/namespaces/default/notebooks';
let server: ServerProcess;
let kubeConfig: KubeConfig;
let proxy: LocalProxy;
const abort = new AbortController();
let state: CollectionState<Notebook> | undefined;
const names = (): string[] => [...(state?.items.keys() ?? [])].sort();

/** etcd's revision now, and a compaction up to it, through etcd's JSON gateway. */
async function compactAll(endpoint: string): Promise<void> {
  const range = (await (await fetch(`${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as { header: { revision: string } };
  const res = await fetch(`${endpoint}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: range.header.revision, physical: true }) });
  assert.equal(res.status, 200, await res.text());
}

before(async () => {
  server = await startServer();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.kubeconfig);
  proxy = await startLocalProxy({ kubeConfig });
});
after(async () => {
  abort.abort();
  await proxy?.close();
  await server?.stop();
});

describe("the dashboard's watch", () => {
  it('lists, then follows changes as they happen', async () => {
    await server.kubectl(['apply', '-f', '-'], { input: notebookYaml('a') });
    void watchCollection<Notebook>(`${proxy.url}${path}`, (next) => void (state = next), abort.signal);
    await until(() => state?.synced && names().join() === 'a', () => `the list: ${names()}`, 30_000);
    await server.kubectl(['apply', '-f', '-'], { input: notebookYaml('b') });
    await until(() => names().join() === 'a,b', () => `b added: ${names()}`, 30_000);
  });

  it('relists after the server comes back with the resourceVersion it resumes from compacted away (410)', async () => {
    const resumeFrom = [...state!.items.values()].map((nb) => Number(nb.metadata!.resourceVersion)).reduce((a, b) => Math.max(a, b));
    // Closed: the page's watch fails and backs off while the state changes behind it.
    await proxy.close();
    await until(() => state?.error !== undefined, 'the watch reporting the lost connection', 30_000);
    await server.kubectl(['delete', 'notebook', 'a']);
    await server.kubectl(['apply', '-f', '-'], { input: notebookYaml('c') });
    // A fresh watch cache holds no history: older resourceVersions are read from etcd, which has compacted them.
    await server.terminate();
    await compactAll(server.etcd!.endpoint);
    await server.restart();
    const gone = await server.http('GET', `${path}?watch=1&resourceVersion=${resumeFrom}`);
    assert.match(gone.body, /"code":410/, 'a watch from where the page stopped is Gone');

    // The standalone server made itself a new certificate, which its kubeconfig now trusts.
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(server.kubeconfig);
    proxy = await startLocalProxy({ kubeConfig, port: Number(new URL(proxy.url).port) });
    await until(() => state?.error === undefined && names().join() === 'b,c', () => `after the relist: ${names()} (${state?.error ?? 'no error'})`, 60_000);
    await server.kubectl(['apply', '-f', '-'], { input: notebookYaml('d') });
    await until(() => names().join() === 'b,c,d', () => `d added after the relist: ${names()}`, 30_000);
  });
});
