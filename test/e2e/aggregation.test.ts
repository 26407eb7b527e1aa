// Aggregation for real: kube-apiserver, its controllers and kwok, with this server behind an APIService in
// delegated mode. Admin and tenants use the installed kubectl through kube-apiserver; a client-go program uses the
// dynamic client and an informer; forged identities go straight to the server.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, beforeEach, describe, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { freePort } from '../support/etcd.js';
import { until } from '../support/eventually.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const bed = testBed({
  name: 'aggregation',
  // The client-go program asserts the exact sequence of its own writes; a controller writing status alongside
  // would make its UpdateStatus race. The controllers have their own suite.
  serverArgs: ['--no-controllers'],
  namespaces: ['team-a', 'team-b'],
  async setup(cluster) {
    await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', 'team-a']);
    await cluster.ok('admin', ['create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob', '-n', 'team-b']);
  },
});
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

const notebook = (name: string, metadata = ''): string => notebookYaml(name, { metadata });

describe('through kube-apiserver', () => {
  it('as admin: the APIService is Available, discovery lists the group, and every verb works', async () => {
    const available = await cluster.ok('admin', ['get', 'apiservice', 'v1alpha1.ai.example.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
    assert.equal(available, 'True');
    const resources = await cluster.ok('admin', ['api-resources', '--api-group=ai.example.io', '-o', 'name']);
    assert.deepEqual(resources.trim().split('\n'), ['datasets.ai.example.io', 'jobs.ai.example.io', 'notebooks.ai.example.io']);
    await cluster.ok('admin', ['create', 'namespace', 'admin-ns']);
    await cluster.ok('admin', ['create', '-n', 'admin-ns', '-f', '-'], notebook('nb'));
    assert.match(await cluster.ok('admin', ['get', 'ainb', '-n', 'admin-ns']), /^NAME\s+PHASE\s+READY\s+IMAGE\s+AGE\nnb\s/);
    await cluster.ok('admin', ['patch', 'ainb', 'nb', '-n', 'admin-ns', '--type=merge', '-p', '{"spec":{"stopped":true}}']);
    assert.equal(await cluster.ok('admin', ['get', 'ainb', 'nb', '-n', 'admin-ns', '-o', 'jsonpath={.spec.stopped} {.metadata.generation}']), 'true 2');
    assert.match(await cluster.ok('admin', ['explain', 'notebooks.spec.idle']), /timeoutSeconds/);
    const watch = await cluster.ok('admin', ['get', 'ainb', '-n', 'admin-ns', '-w', '--request-timeout=2s', '-o', 'name']).catch((e: Error) => e.message);
    assert.match(watch, /notebook\.ai\.example\.io\/nb/);
    assert.match(await cluster.ok('admin', ['delete', 'ainb', 'nb', '-n', 'admin-ns']), /deleted/);
  });

  it('multi-tenancy: alice edits team-a only, bob reads team-b only, carol nothing; auth can-i agrees', async () => {
    await cluster.ok('alice', ['create', '-n', 'team-a', '-f', '-'], notebook('alices'));
    assert.match(await cluster.ok('alice', ['get', 'ainb', '-n', 'team-a', '-o', 'name']), /alices/);
    await cluster.ok('admin', ['create', '-n', 'team-b', '-f', '-'], notebook('bobs'));
    const cases: { user: 'alice' | 'bob' | 'carol'; args: string[]; allowed: boolean; can: string[] }[] = [
      { user: 'alice', args: ['get', 'ainb', '-n', 'team-b'], allowed: false, can: ['list', 'notebooks', '-n', 'team-b'] },
      { user: 'alice', args: ['get', 'ainb', '-A'], allowed: false, can: ['list', 'notebooks', '-A'] },
      { user: 'alice', args: ['delete', 'ainb', 'alices', '-n', 'team-a', '--dry-run=server'], allowed: true, can: ['delete', 'notebooks', '-n', 'team-a'] },
      { user: 'bob', args: ['get', 'ainb', 'bobs', '-n', 'team-b'], allowed: true, can: ['get', 'notebooks', '-n', 'team-b'] },
      { user: 'bob', args: ['create', '-n', 'team-b', '-f', '-'], allowed: false, can: ['create', 'notebooks', '-n', 'team-b'] },
      { user: 'bob', args: ['get', 'ainb', '-n', 'team-a'], allowed: false, can: ['list', 'notebooks', '-n', 'team-a'] },
      { user: 'carol', args: ['get', 'ainb', '-n', 'team-a'], allowed: false, can: ['list', 'notebooks', '-n', 'team-a'] },
      { user: 'carol', args: ['get', 'ainb', '-n', 'team-b'], allowed: false, can: ['list', 'notebooks', '-n', 'team-b'] },
    ];
    for (const tc of cases) {
      const res = await cluster.kubectl(tc.user, tc.args, notebook('new'));
      assert.equal(res.code === 0, tc.allowed, `${tc.user} ${tc.args.join(' ')}: ${res.stderr}`);
      if (!tc.allowed) assert.match(res.stderr, new RegExp(`Forbidden.*User "${tc.user}" cannot`));
      const can = await cluster.kubectl(tc.user, ['auth', 'can-i', ...tc.can]);
      assert.equal(can.stdout.trim(), tc.allowed ? 'yes' : 'no', `auth can-i ${tc.can.join(' ')} as ${tc.user}`);
    }
  });

  it('namespaces: a create in a missing namespace is 404, in a terminating one 403 NamespaceTerminating; deletion completes', async () => {
    const missing = await cluster.kubectl('admin', ['create', '-n', 'no-such-ns', '-f', '-'], notebook('x'));
    assert.match(missing.stderr, /namespaces "no-such-ns" not found/);
    await cluster.ok('admin', ['create', 'namespace', 'doomed']);
    await cluster.ok('admin', ['create', '-n', 'doomed', '-f', '-'], notebook('held', '  finalizers: ["example.io/hold"]\n'));
    await cluster.ok('admin', ['apply', '-n', 'doomed', '-f', join(fileURLToPath(new URL('../../examples', import.meta.url)))]);
    await cluster.ok('admin', ['delete', 'namespace', 'doomed', '--wait=false']);
    await until(
      async () => (await cluster.ok('admin', ['get', 'ainb', '-n', 'doomed', '-o', 'name'])).trim() === 'notebook.ai.example.io/held',
      'the namespace controller to delete everything but the held notebook',
      60_000,
      { everyMs: 500 },
    );
    const terminating = await cluster.kubectl('admin', ['create', '-n', 'doomed', '-f', '-'], notebook('late'));
    assert.match(terminating.stderr, /Forbidden.*unable to create new content in namespace doomed because it is being terminated/);
    await cluster.ok('admin', ['patch', 'ainb', 'held', '-n', 'doomed', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await until(async () => (await cluster.kubectl('admin', ['get', 'namespace', 'doomed'])).code !== 0, 'namespace doomed to be gone', 90_000, { everyMs: 500 });
  });

  it('garbage collection: a ConfigMap owned by a notebook goes with it, in background and foreground', async () => {
    await cluster.ok('admin', ['create', 'namespace', 'gc']);
    for (const [name, cascade] of [['bg', 'background'], ['fg', 'foreground']] as const) {
      await cluster.ok('admin', ['create', '-n', 'gc', '-f', '-'], notebook(name));
      const uid = await cluster.ok('admin', ['get', 'ainb', name, '-n', 'gc', '-o', 'jsonpath={.metadata.uid}']);
      await cluster.ok('admin', ['apply', '-n', 'gc', '-f', '-'], `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-child
  ownerReferences:
    - apiVersion: ai.example.io/v1alpha1
      kind: Notebook
      name: ${name}
      uid: ${uid}
      blockOwnerDeletion: true
data:
  a: b
`);
      await cluster.ok('admin', ['delete', 'ainb', name, '-n', 'gc', `--cascade=${cascade}`, '--timeout=90s']);
      await until(async () => (await cluster.kubectl('admin', ['get', 'configmap', `${name}-child`, '-n', 'gc'])).code !== 0, `${name}-child to be collected`, 60_000, { everyMs: 500 });
      assert.notEqual((await cluster.kubectl('admin', ['get', 'ainb', name, '-n', 'gc'])).code, 0);
    }
  });
});

describe('straight to the server: forged identities are never trusted', () => {
  const path = '/apis/ai.example.io/v1alpha1/namespaces/team-a/notebooks';
  const forged = { 'X-Remote-User': 'system:admin', 'X-Remote-Group': 'system:masters' };

  it('without a front-proxy certificate the headers are ignored: the request is anonymous', async () => {
    const res = await cluster.direct(path, forged);
    assert.equal(res.status, 403);
    assert.match(res.body, /User \\"system:anonymous\\" cannot list/);
  });

  it('a certificate from another CA with the front proxy\'s CN is ignored', async () => {
    const rogueCa = cluster.pki.ca('rogue-ca', 'rogue-ca');
    const rogue = cluster.pki.issue('rogue-client', rogueCa, { cn: 'front-proxy-client', usage: 'client' });
    const res = await cluster.direct(path, forged, rogue);
    assert.equal(res.status, 403);
    assert.match(res.body, /system:anonymous/);
  });

  it('a front-proxy-CA certificate whose CN is not in allowed-names is ignored', async () => {
    const intruder = cluster.pki.issue('intruder', cluster.frontProxyCa, { cn: 'intruder', usage: 'client' });
    const res = await cluster.direct(path, forged, intruder);
    assert.equal(res.status, 403);
    assert.match(res.body, /system:anonymous/);
  });

  it('the real front-proxy certificate carries the user, every group line and extras', async () => {
    const res = await cluster.direct(path, { 'X-Remote-User': 'alice', 'X-Remote-Group': 'tenants', 'X-Remote-Extra-Scopes': 'a' }, cluster.frontProxyClient);
    assert.equal(res.status, 200, res.body);
    const denied = await cluster.direct('/apis/ai.example.io/v1alpha1/namespaces/team-b/notebooks', { 'X-Remote-User': 'alice' }, cluster.frontProxyClient);
    assert.equal(denied.status, 403);
    assert.match(denied.body, /User \\"alice\\" cannot list resource \\"notebooks\\" in API group \\"ai.example.io\\" in the namespace \\"team-b\\"/);
  });

  it('extras named like Object.prototype members (__proto__, constructor) are extras like any other', async () => {
    const res = await cluster.direct(path, { 'X-Remote-User': 'alice', 'X-Remote-Group': 'tenants', 'X-Remote-Extra-__proto__': 'a', 'X-Remote-Extra-Constructor': 'b' }, cluster.frontProxyClient);
    assert.equal(res.status, 200, res.body);
  });
});

describe('client-go and availability', () => {
  it('a client-go program: discovery, dynamic client, UpdateStatus, RetryOnConflict, an informer across a server restart', async () => {
    const dir = fileURLToPath(new URL('./clientgo', import.meta.url));
    const binary = join(cluster.dir, 'clientgo');
    execFileSync('go', ['build', '-o', binary, '.'], { cwd: dir, env: { ...process.env, GOFLAGS: '-mod=mod' }, stdio: ['ignore', 'ignore', 'inherit'] });
    await cluster.ok('admin', ['create', 'namespace', 'clientgo']);
    const child = spawn(binary, [cluster.kubeconfig('admin'), 'clientgo'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let restarting = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('restart-now\n') && !restarting) {
        restarting = true;
        void (async () => {
          await cluster.stopServer();
          await cluster.startServer();
          child.stdin.write('restarted\n');
        })();
      }
    });
    const code = await exited;
    assert.equal(code, 0, `client-go program failed:\n${stderr}\n${stdout}`);
    const events = JSON.parse(stdout.split('\n').filter((l) => l.startsWith('[')).pop()!) as string[];
    assert.equal(events[0], 'ADDED go-nb ');
    for (const event of ['MODIFIED go-nb 1', 'MODIFIED go-nb 2', 'ADDED go-after ', 'DELETED go-nb 2']) assert.ok(events.includes(event), `${event} in ${events.join(', ')}`);
  });

  it('stop the server: the APIService goes unavailable and kubectl errors cleanly; start it: everything is back', async () => {
    await cluster.ok('admin', ['create', 'namespace', 'avail']);
    // The previous test restarted the server: kube-apiserver's availability probe may still flip the APIService
    // once (seen as a 503 on the OpenAPI download kubectl validates with), so the first create waits for it.
    await until(async () => {
      const res = await cluster.kubectl('admin', ['create', '-n', 'avail', '-f', '-'], notebook('kept'));
      return res.code === 0 || /AlreadyExists/.test(res.stderr);
    }, 'a create after the restart', 60_000, { everyMs: 500 });
    await cluster.stopServer();
    await cluster.waitAvailable(false, 90_000);
    const down = await cluster.kubectl('admin', ['get', 'ainb', '-n', 'avail']);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /the server is currently unable to handle the request|ServiceUnavailable|503/);
    await cluster.startServer();
    await cluster.waitAvailable(true, 90_000);
    assert.match(await cluster.ok('admin', ['get', 'ainb', 'kept', '-n', 'avail', '-o', 'name']), /notebook\.ai\.example\.io\/kept/);
  });

  it('on the embedded SQLite store the server serves through the aggregator, and a second replica is refused', async () => {
    const data = mkdtempSync(join(cluster.dir, 'sqlite-'));
    await cluster.stopServer();
    try {
      await cluster.startServer(undefined, [`--storage=sqlite:${join(data, 'a.db')}`]);
      await cluster.waitAvailable(true, 90_000);
      await cluster.ok('admin', ['create', 'namespace', 'embedded']);
      await until(async () => (await cluster.kubectl('admin', ['create', '-n', 'embedded', '-f', '-'], notebook('on-sqlite'))).code === 0, 'a create on SQLite', 60_000, { everyMs: 500 });
      assert.match(await cluster.ok('admin', ['get', 'ainb', '-n', 'embedded', '-o', 'name']), /notebook\.ai\.example\.io\/on-sqlite/);

      // A second replica with a file of its own would serve other objects behind the same Service.
      const second = spawn(process.execPath, cluster.serverCommand(await freePort(), [`--storage=sqlite:${join(data, 'b.db')}`]), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      second.stdout.on('data', (d: Buffer) => (output += d.toString()));
      second.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
      assert.equal(code, 1, output);
      assert.match(output, /another replica holds Lease ai-system\/ai-apiserver-sqlite-store.*--etcd-servers/);
      assert.match(await cluster.ok('admin', ['get', 'ainb', '-n', 'embedded', '-o', 'name']), /on-sqlite/);
    } finally {
      await cluster.stopServer();
      await cluster.startServer();
    }
  });
});
