// Our short names on a real control plane beside every built-in resource and Kueue's CRDs: kubectl resolves each to
// this group alone, and says nothing on stderr (kubectl warns when a short name could mean two resources). The other
// projects' CRDs the names were checked against (README, "A first kubectl session") are not installed here.
import assert from 'node:assert/strict';
import { after, beforeEach, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { testBed } from '../support/test-bed.js';

const ns = 'short-names';
const ours = [
  { short: 'ainb', resource: 'notebooks', kind: 'Notebook', spec: { template: { spec: { containers: [{ name: 'main', image: 'jupyter/base-notebook' }] } } } },
  { short: 'aijob', resource: 'jobs', kind: 'Job', spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'trainer' }] } } } },
  { short: 'aidata', resource: 'datasets', kind: 'Dataset', spec: { source: { uri: 's3://bucket/data' }, size: '1Gi' } },
];

const bed = testBed({
  name: 'short-names',
  serverArgs: ['--no-controllers'],
  namespaces: [ns],
  async setup(cluster) {
    await cluster.installKueueCrds();
    for (const { kind, spec } of ours) {
      const object = { apiVersion: 'ai.example.io/v1alpha1', kind, metadata: { name: 'short', namespace: ns }, spec };
      await cluster.ok('admin', ['create', '-f', '-'], JSON.stringify(object));
    }
  },
});
let cluster: LocalCluster;
beforeEach(async () => void (cluster = await bed.ready()));
after(() => bed.stop());

/** `kubectl api-resources` as rows of resource, group and short names, read by the columns of its header. */
async function apiResources(): Promise<{ name: string; group: string; shortNames: string[] }[]> {
  const [header, ...lines] = (await cluster.ok('admin', ['api-resources'])).trimEnd().split('\n');
  const column = (title: string): number => {
    const at = header!.search(new RegExp(`\\b${title}\\b`));
    assert.ok(at >= 0, `no ${title} column in: ${header}`);
    return at;
  };
  const [shortAt, versionAt, namespacedAt] = [column('SHORTNAMES'), column('APIVERSION'), column('NAMESPACED')];
  return lines.map((line) => {
    const apiVersion = line.slice(versionAt, namespacedAt).trim();
    return {
      name: line.slice(0, shortAt).trim(),
      group: apiVersion.includes('/') ? apiVersion.split('/')[0]! : '',
      shortNames: line.slice(shortAt, versionAt).trim().split(',').filter(Boolean),
    };
  });
}

it('no built-in resource and no Kueue CRD on the control plane has one of our short names', async () => {
  const resources = await apiResources();
  const owners = (short: string): string[] => resources.filter((r) => r.shortNames.includes(short)).map((r) => `${r.name}.${r.group}`);
  // What the check sees: the built-ins (ds, the short name datasets had, is daemonsets') and Kueue's CRDs.
  assert.deepEqual(owners('ds'), ['daemonsets.apps']);
  assert.deepEqual(owners('lq'), ['localqueues.kueue.x-k8s.io']);
  for (const { short, resource } of ours) assert.deepEqual(owners(short), [`${resource}.ai.example.io`], short);
});

for (const { short, kind } of ours) {
  it(`kubectl get ${short} lists ${kind} objects of ai.example.io, with nothing on stderr`, async () => {
    const res = await cluster.kubectl('admin', ['get', short, '-n', ns, '-o', 'name']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `${kind.toLowerCase()}.ai.example.io/short\n`);
    assert.equal(res.stderr, '');
  });
}
