// The kustomize trees in deploy/ render with the installed kubectl, and each is what it says: two replicas on etcd,
// or one replica on SQLite with its data on a claim and no etcd.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { parseAllDocuments } from 'yaml';

const repo = fileURLToPath(new URL('../..', import.meta.url));

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: {
    replicas?: number;
    strategy?: { type: string };
    template?: { spec: { containers: { args: string[] }[]; volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[] } };
  };
}

function render(dir: string): Manifest[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { cwd: repo, encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => doc.toJSON() as Manifest);
}

const server = (manifests: Manifest[]): Manifest => manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'ai-apiserver')!;

it('deploy/: two replicas on the server\'s own etcd, with a disruption budget', () => {
  const manifests = render('deploy');
  assert.equal(server(manifests).spec?.replicas, 2);
  assert.ok(server(manifests).spec?.template?.spec.containers[0]!.args.some((a) => a.startsWith('--etcd-servers=')));
  assert.ok(manifests.some((m) => m.kind === 'StatefulSet' && m.metadata.name === 'etcd'));
  assert.ok(manifests.some((m) => m.kind === 'PodDisruptionBudget'));
  assert.ok(manifests.some((m) => m.kind === 'APIService'));
});

it('deploy/single-replica/: one replica on SQLite on a claim, recreated rather than rolled, and no etcd', () => {
  const manifests = render('deploy/single-replica');
  const deployment = server(manifests);
  assert.equal(deployment.spec?.replicas, 1);
  assert.equal(deployment.spec?.strategy?.type, 'Recreate');
  const args = deployment.spec?.template?.spec.containers[0]!.args ?? [];
  assert.ok(args.includes('--storage=sqlite:/var/lib/ai-apiserver/ai-apiserver.db'), args.join(' '));
  assert.ok(!args.some((a) => a.startsWith('--etcd-servers')));
  const claim = deployment.spec?.template?.spec.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName;
  assert.ok(manifests.some((m) => m.kind === 'PersistentVolumeClaim' && m.metadata.name === claim));
  assert.ok(!manifests.some((m) => m.kind === 'StatefulSet' || m.kind === 'PodDisruptionBudget'));
  assert.ok(manifests.some((m) => m.kind === 'APIService'));
});
