// The kustomize trees in deploy/ render with the installed kubectl, and each is what it says: two replicas on etcd,
// or one replica on SQLite with its data on a claim and no etcd.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { parseAllDocuments } from 'yaml';

const repo = fileURLToPath(new URL('../..', import.meta.url));

interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: {
    replicas?: number;
    strategy?: { type: string };
    template?: {
      spec: {
        containers: { args: string[]; volumeMounts?: { name: string; mountPath: string }[] }[];
        volumes: { name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string } }[];
      };
    };
    caBundle?: string;
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

it('deploy/ mounts no certificate and ships no caBundle: the server makes both; the cert-manager component mounts cert-manager\'s', () => {
  for (const manifests of [render('deploy'), render('deploy/single-replica')]) {
    const spec = server(manifests).spec?.template?.spec;
    assert.ok(!spec?.containers[0]!.args.some((a) => a.startsWith('--tls-')), spec?.containers[0]!.args.join(' '));
    assert.ok(!(spec?.volumes ?? []).some((v) => v.secret));
    assert.equal(manifests.find((m) => m.kind === 'APIService')?.spec?.caBundle, undefined);
  }
  // A component is added from a kustomization of one's own, beside the repository's.
  for (const base of ['deploy', 'deploy/single-replica']) {
    const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-kustomize-'));
    try {
      const from = relative(dir, repo);
      writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${join(from, base)}]\ncomponents: [${join(from, 'deploy/cert-manager')}]\n`);
      const manifests = render(dir);
      const spec = server(manifests).spec?.template?.spec;
      const args = spec?.containers[0]!.args ?? [];
      assert.ok(args.includes('--tls-cert-file=/etc/ai-apiserver/tls/tls.crt') && args.includes('--tls-private-key-file=/etc/ai-apiserver/tls/tls.key'), args.join(' '));
      assert.ok(args.length > 2, 'the base\'s own args are kept');
      const secretName = spec?.volumes?.find((v) => v.name === 'tls')?.secret?.secretName;
      assert.ok(spec?.containers[0]!.volumeMounts?.some((m) => m.name === 'tls' && m.mountPath === '/etc/ai-apiserver/tls'));
      if (base === 'deploy/single-replica') assert.ok(spec?.volumes?.some((v) => v.name === 'data'), 'the data volume is kept');
      const certificate = manifests.find((m) => m.kind === 'Certificate' && (m.spec as { secretName?: string } | undefined)?.secretName === secretName);
      assert.ok(certificate, `a Certificate writes Secret ${secretName}`);
      const apiService = manifests.find((m) => m.kind === 'APIService');
      assert.equal(apiService?.metadata.annotations?.['cert-manager.io/inject-ca-from'], `ai-system/${certificate.metadata.name}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

interface EtcdSet {
  spec: {
    replicas: number;
    serviceName: string;
    podManagementPolicy?: string;
    selector: { matchLabels: Record<string, string> };
    template: {
      spec: {
        topologySpreadConstraints?: { maxSkew: number; topologyKey: string; whenUnsatisfiable: string; labelSelector: { matchLabels: Record<string, string> } }[];
        containers: { command: string[]; readinessProbe?: { httpGet?: { path: string } }; livenessProbe?: { httpGet?: { path: string } } }[];
      };
    };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

const etcdParts = (manifests: Manifest[]) => {
  const set = manifests.find((m) => m.kind === 'StatefulSet' && m.metadata.name === 'etcd') as unknown as EtcdSet & Manifest;
  const headless = manifests.find((m) => m.kind === 'Service' && m.metadata.name === set.spec.serviceName) as unknown as {
    metadata: { namespace: string };
    spec: { clusterIP?: string; publishNotReadyAddresses?: boolean };
  };
  const flags = new Map(set.spec.template.spec.containers[0]!.command.filter((a) => a.startsWith('--')).map((a) => [a.split('=')[0]!, a.slice(a.indexOf('=') + 1)] as const));
  const serverArgs = server(manifests).spec?.template?.spec.containers[0]!.args ?? [];
  const etcdServers = serverArgs.find((a) => a.startsWith('--etcd-servers='))?.slice('--etcd-servers='.length).split(',') ?? [];
  return { set, headless, flags, serverArgs, etcdServers };
};

it('deploy/: etcd is three members the server lists every one of, spread strictly over nodes, drained one at a time', () => {
  const manifests = render('deploy');
  const { set, headless, flags, etcdServers } = etcdParts(manifests);
  assert.equal(set.spec.replicas, 3);
  // Members wait for each other's quorum before any is ready: they start together and are found while not ready.
  assert.equal(set.spec.podManagementPolicy, 'Parallel');
  assert.equal(headless.spec.clusterIP, 'None');
  assert.equal(headless.spec.publishNotReadyAddresses, true);
  const pods = Array.from({ length: set.spec.replicas }, (_, i) => `etcd-${i}.${set.spec.serviceName}.${headless.metadata.namespace}.svc`);
  assert.deepEqual(etcdServers, pods.map((pod) => `http://${pod}:2379`));
  assert.equal(flags.get('--initial-cluster'), pods.map((pod, i) => `etcd-${i}=http://${pod}:2380`).join(','));
  const spread = set.spec.template.spec.topologySpreadConstraints ?? [];
  assert.ok(
    spread.some(
      (c) =>
        c.topologyKey === 'kubernetes.io/hostname' &&
        c.maxSkew === 1 &&
        c.whenUnsatisfiable === 'DoNotSchedule' &&
        JSON.stringify(c.labelSelector.matchLabels) === JSON.stringify(set.spec.selector.matchLabels),
    ),
    JSON.stringify(spread),
  );
  const budget = manifests.find((m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === 'etcd') as unknown as { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } };
  assert.equal(budget.spec.maxUnavailable, 1);
  assert.deepEqual(budget.spec.selector.matchLabels, set.spec.selector.matchLabels);
  assert.ok(flags.has('--auto-compaction-mode') && flags.has('--auto-compaction-retention') && flags.has('--quota-backend-bytes'), [...flags.keys()].join(' '));
  assert.equal(set.spec.template.spec.containers[0]!.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(set.spec.template.spec.containers[0]!.livenessProbe?.httpGet?.path, '/livez');
  assert.ok(set.spec.volumeClaimTemplates?.some((claim) => claim.metadata.name === 'data'));
  assert.ok(manifests.some((m) => m.kind === 'Service' && m.metadata.name === 'etcd-client'));
});

it('the etcd-tls component: members serve https:// to clients with a certificate, and the server has its CA and certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-kustomize-'));
  try {
    const from = relative(dir, repo);
    writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${join(from, 'deploy')}]\ncomponents: [${join(from, 'deploy/etcd-tls')}]\n`);
    const manifests = render(dir);
    const { flags, serverArgs, etcdServers } = etcdParts(manifests);
    const plain = etcdParts(render('deploy'));
    assert.deepEqual(etcdServers, plain.etcdServers.map((url) => url.replace(/^http:/, 'https:')));
    assert.equal(flags.get('--listen-client-urls'), 'https://0.0.0.0:2379');
    assert.ok(flags.has('--client-cert-auth') && flags.has('--cert-file') && flags.has('--key-file') && flags.has('--trusted-ca-file'), [...flags.keys()].join(' '));
    for (const flag of ['--etcd-cafile=', '--etcd-certfile=', '--etcd-keyfile=']) assert.ok(serverArgs.some((a) => a.startsWith(flag)), serverArgs.join(' '));
    assert.ok(server(manifests).spec?.template?.spec.volumes.some((v) => v.secret?.secretName === 'etcd-client-tls'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
