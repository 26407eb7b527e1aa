// The installed kubectl against the real server (standalone) on each storage backend, a real etcd and the
// embedded SQLite store: every command a user runs daily.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { lazyServer, type Backend, type ServerProcess } from '../support/server.js';

let server: ServerProcess;

const notebookYaml = (name: string, size = '10Gi', labels = 'team: vision'): string => `apiVersion: ai.example.io/v1alpha1
kind: Notebook
metadata:
  name: ${name}
  labels:
    ${labels}
spec:
  template:
    spec:
      containers:
        - name: notebook
          image: jupyter/scipy-notebook:2024-01-01
  workspace:
    size: ${size}
`;

async function ok(args: string[], input?: string): Promise<string> {
  const res = await server.kubectl(args, input === undefined ? {} : { input });
  assert.equal(res.code, 0, `kubectl ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout;
}

for (const backend of ['etcd', 'sqlite'] satisfies Backend[]) describe(`kubectl on ${backend}`, () => {
  const lazy = lazyServer({ backend });
  beforeEach(async () => void (server = await lazy.ready()));
  after(() => lazy.stop());

  it('api-resources lists the group with short names and category; the server reports version 1.32', async () => {
    const out = await ok(['api-resources', '--api-group=ai.example.io', '--no-headers']);
    const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [
      ['datasets', 'aidata', 'ai.example.io/v1alpha1', 'true', 'Dataset'],
      ['jobs', 'aijob', 'ai.example.io/v1alpha1', 'true', 'Job'],
      ['notebooks', 'ainb', 'ai.example.io/v1alpha1', 'true', 'Notebook'],
    ]);
    const version = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { major: string; minor: string } };
    assert.deepEqual([version.serverVersion.major, version.serverVersion.minor], ['1', '32']);
  });

  it('create, get as a Table with the notebook columns, get -o json with the server-set fields; short names and the category', async () => {
    await ok(['create', '-n', 'basic', '-f', '-'], notebookYaml('demo'));
    const table = await ok(['get', 'notebooks', '-n', 'basic']);
    assert.match(table.split('\n')[0]!, /^NAME\s+PHASE\s+READY\s+IMAGE\s+AGE$/);
    assert.match(table, /demo\s+0\/1\s+jupyter\/scipy-notebook:2024-01-01\s+\d+s/);
    const wide = await ok(['get', 'ainb', '-n', 'basic', '-o', 'wide']);
    assert.match(wide.split('\n')[0]!, /URL\s+IDLE-TIMEOUT$/);
    const object = JSON.parse(await ok(['get', 'ainb', 'demo', '-n', 'basic', '-o', 'json'])) as { metadata: Record<string, unknown> };
    assert.match(String(object.metadata.uid), /^[0-9a-f-]{36}$/);
    assert.match(String(object.metadata.creationTimestamp), /Z$/);
    assert.equal(object.metadata.generation, 1);
    assert.match(String(object.metadata.resourceVersion), /^\d+$/);
    assert.match(await ok(['get', 'ai', '-n', 'basic']), /notebook\.ai\.example\.io\/demo/);
    await ok(['create', '-n', 'basic', '-f', '-'], 'apiVersion: ai.example.io/v1alpha1\nkind: Dataset\nmetadata:\n  name: imagenet\nspec:\n  source:\n    uri: s3://bucket/imagenet\n  size: 100Gi\n');
    assert.match(await ok(['get', 'aidata', '-n', 'basic']), /imagenet\s+100Gi\s+s3:\/\/bucket\/imagenet/);
    // No jobs in the namespace: kubectl prints nothing on stdout and says so on stderr.
    const jobs = await server.kubectl(['get', 'aijob', '-n', 'basic']);
    assert.deepEqual([jobs.code, jobs.stdout, jobs.stderr], [0, '', 'No resources found in basic namespace.\n']);
  });

  it('apply twice: the second apply is a patch carrying only what changed', async () => {
    await ok(['apply', '-n', 'apply', '-f', '-'], notebookYaml('applied'));
    const res = await server.kubectl(['apply', '-n', 'apply', '-f', '-', '-v=9'], { input: notebookYaml('applied', '20Gi') });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /PATCH https:\/\/127\.0\.0\.1:\d+\/apis\/ai\.example\.io\/v1alpha1\/namespaces\/apply\/notebooks\/applied\?fieldManager=kubectl-client-side-apply/);
    // kubectl logs the body as a quoted string; the patch is the one request body that mentions the new size.
    const bodies = [...res.stderr.matchAll(/"Request Body" body=("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
    const patch = JSON.parse(bodies.find((b) => b.includes('20Gi'))!) as { spec: unknown; metadata: { annotations: Record<string, string> } };
    assert.deepEqual(patch.spec, { workspace: { size: '20Gi' } });
    assert.deepEqual(Object.keys(patch.metadata.annotations), ['kubectl.kubernetes.io/last-applied-configuration']);
    const object = JSON.parse(await ok(['get', 'ainb', 'applied', '-n', 'apply', '-o', 'json'])) as { spec: { workspace: { size: string } }; metadata: { generation: number } };
    assert.equal(object.spec.workspace.size, '20Gi');
    assert.equal(object.metadata.generation, 2);
  });

  it('edit, label, annotate, patch --type=merge and --type=json; replace with a stale resourceVersion is a Conflict', async () => {
    await ok(['create', '-n', 'edit', '-f', '-'], notebookYaml('nb'));
    const stale = await ok(['get', 'ainb', 'nb', '-n', 'edit', '-o', 'yaml']);
    const editor = join(server.home, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/size: 10Gi/size: 15Gi/" "$1"\n');
    chmodSync(editor, 0o755);
    const edited = await server.kubectl(['edit', 'ainb', 'nb', '-n', 'edit'], { env: { KUBE_EDITOR: editor } });
    assert.equal(edited.code, 0, edited.stderr);
    await ok(['label', 'ainb', 'nb', '-n', 'edit', 'stage=dev']);
    await ok(['annotate', 'ainb', 'nb', '-n', 'edit', 'example.io/owner=alice']);
    await ok(['patch', 'ainb', 'nb', '-n', 'edit', '--type=merge', '-p', '{"spec":{"stopped":true}}']);
    await ok(['patch', 'ainb', 'nb', '-n', 'edit', '--type=json', '-p', '[{"op":"test","path":"/spec/stopped","value":true},{"op":"add","path":"/spec/idle","value":{"timeoutSeconds":3600}}]']);
    const failedTest = await server.kubectl(['patch', 'ainb', 'nb', '-n', 'edit', '--type=json', '-p', '[{"op":"test","path":"/spec/stopped","value":false}]']);
    assert.notEqual(failedTest.code, 0);
    const object = JSON.parse(await ok(['get', 'ainb', 'nb', '-n', 'edit', '-o', 'json'])) as {
      spec: { workspace: { size: string }; stopped: boolean; idle: { timeoutSeconds: number } };
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    };
    assert.equal(object.spec.workspace.size, '15Gi');
    assert.equal(object.spec.stopped, true);
    assert.equal(object.spec.idle.timeoutSeconds, 3600);
    assert.equal(object.metadata.labels.stage, 'dev');
    assert.equal(object.metadata.annotations['example.io/owner'], 'alice');
    const replaced = await server.kubectl(['replace', '-n', 'edit', '-f', '-'], { input: stale });
    assert.notEqual(replaced.code, 0);
    assert.match(replaced.stderr, /Operation cannot be fulfilled on notebooks\.ai\.example\.io "nb": the object has been modified/);
    const strategic = await server.kubectl(['patch', 'ainb', 'nb', '-n', 'edit', '-p', '{"spec":{"stopped":false}}']);
    assert.notEqual(strategic.code, 0);
    assert.match(strategic.stderr, /application\/strategic-merge-patch\+json is not supported/);
  });

  it('selectors, chunked lists, delete and delete -l', async () => {
    for (let i = 1; i <= 5; i++) await ok(['create', '-n', 'sel', '-f', '-'], notebookYaml(`nb-${i}`, '10Gi', `tier: ${i % 2 ? 'gpu' : 'cpu'}`));
    const chunked = await server.kubectl(['get', 'ainb', '-n', 'sel', '--chunk-size=2', '-v=6']);
    assert.equal(chunked.code, 0, chunked.stderr);
    assert.equal((chunked.stderr.match(/GET https:\S+notebooks\?\S*limit=2/g) ?? []).length, 3, chunked.stderr);
    assert.deepEqual(chunked.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), ['nb-1', 'nb-2', 'nb-3', 'nb-4', 'nb-5']);
    const gpu = await ok(['get', 'ainb', '-n', 'sel', '-l', 'tier=gpu', '-o', 'name']);
    assert.deepEqual(gpu.trim().split('\n'), ['notebook.ai.example.io/nb-1', 'notebook.ai.example.io/nb-3', 'notebook.ai.example.io/nb-5']);
    const byName = await ok(['get', 'ainb', '-n', 'sel', '--field-selector', 'metadata.name=nb-2', '-o', 'name']);
    assert.equal(byName.trim(), 'notebook.ai.example.io/nb-2');
    assert.match(await ok(['delete', 'ainb', 'nb-2', '-n', 'sel']), /notebook\.ai\.example\.io "nb-2" deleted/);
    assert.match(await ok(['delete', 'ainb', '-n', 'sel', '-l', 'tier=gpu']), /"nb-5" deleted/);
    assert.equal((await ok(['get', 'ainb', '-n', 'sel', '-o', 'name'])).trim(), 'notebook.ai.example.io/nb-4');
  });

  it('get -w --output-watch-events sees ADDED, MODIFIED and DELETED', async () => {
    await ok(['create', '-n', 'watch', '-f', '-'], notebookYaml('first'));
    const watcher = spawn('kubectl', ['--kubeconfig', server.kubeconfig, 'get', 'ainb', '-n', 'watch', '-w', '--output-watch-events'], {
      env: { ...process.env, HOME: server.home },
    });
    let out = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (pattern: RegExp): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await waitFor(/ADDED\s+first/);
      await ok(['create', '-n', 'watch', '-f', '-'], notebookYaml('second'));
      await ok(['label', 'ainb', 'second', '-n', 'watch', 'x=y']);
      await ok(['delete', 'ainb', 'second', '-n', 'watch']);
      await waitFor(/DELETED\s+second/);
    } finally {
      watcher.kill();
    }
    const events = out.trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(events, ['ADDED first', 'ADDED second', 'MODIFIED second', 'DELETED second']);
  });

  it('explain, describe, get --raw, --dry-run=server and diff', async () => {
    const explain = await ok(['explain', 'notebooks.spec']);
    assert.match(explain, /KIND:\s+Notebook/);
    assert.match(explain, /template\s+<PodTemplateSpec> -required-/);
    assert.match(await ok(['explain', 'notebooks.spec.template.spec.containers.image']), /Container image name/);
    await ok(['create', '-n', 'misc', '-f', '-'], notebookYaml('nb'));
    assert.match(await ok(['describe', 'ainb', 'nb', '-n', 'misc']), /Name:\s+nb[\s\S]*Kind:\s+Notebook/);
    const discovery = JSON.parse(await ok(['get', '--raw', '/apis/ai.example.io/v1alpha1'])) as { resources: { name: string }[] };
    assert.deepEqual(discovery.resources.map((r) => r.name), ['notebooks', 'notebooks/status', 'notebooks/proxy', 'jobs', 'jobs/status', 'jobs/scale', 'jobs/progress', 'jobs/logs', 'datasets', 'datasets/status']);
    const index = JSON.parse(await ok(['get', '--raw', '/openapi/v3'])) as { paths: Record<string, { serverRelativeURL: string }> };
    assert.match(index.paths['apis/ai.example.io/v1alpha1']!.serverRelativeURL, /^\/openapi\/v3\/apis\/ai\.example\.io\/v1alpha1\?hash=[0-9A-F]{128}$/);
    assert.match(await ok(['create', '-n', 'misc', '--dry-run=server', '-f', '-'], notebookYaml('dry')), /created \(server dry run\)/);
    assert.match((await server.kubectl(['get', 'ainb', 'dry', '-n', 'misc'])).stderr, /NotFound|not found/);
    const taken = await server.kubectl(['create', '-n', 'misc', '--dry-run=server', '-f', '-'], { input: notebookYaml('nb') });
    assert.match(taken.stderr, /AlreadyExists|already exists/);
    const diff = await server.kubectl(['diff', '-n', 'misc', '-f', '-'], { input: notebookYaml('nb', '50Gi') });
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /-\s+size: 10Gi\n\+\s+size: 50Gi/);
    assert.match(await ok(['get', 'ainb', 'nb', '-n', 'misc', '-o', 'jsonpath={.spec.workspace.size}']), /^10Gi$/);
  });

  it('scale reads and writes a job\'s workers through the scale subresource', async () => {
    await ok(['create', '-n', 'scale', '-f', '-'], 'apiVersion: ai.example.io/v1alpha1\nkind: Job\nmetadata:\n  name: train\nspec:\n  replicas: 2\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n        - name: trainer\n          image: pytorch/pytorch:2.4.0\n');
    assert.match(await ok(['scale', 'aijob', 'train', '-n', 'scale', '--replicas=4']), /scaled/);
    assert.equal(await ok(['get', 'aijob', 'train', '-n', 'scale', '-o', 'jsonpath={.spec.replicas}']), '4');
  });
});
