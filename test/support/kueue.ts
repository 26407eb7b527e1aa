// Kueue's controller manager for a local control plane (see LocalCluster.startKueue): built from its Go module by
// scripts/install-kueue.sh, configured from the files its module ships, with its webhooks reached on loopback.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export const kueueNamespace = 'kueue-system';
/** Kueue's own names (its kustomize prefix): its certificate rotator finds the webhook configurations by them. */
export const kueueWebhookConfigurations = { mutating: 'kueue-mutating-webhook-configuration', validating: 'kueue-validating-webhook-configuration' };
export const kueueWebhookSecret = 'kueue-webhook-server-cert';
const webhookService = 'kueue-webhook-service';
/** The host name Kueue's rotator wants its serving certificate valid for, and the CA name it wants the CA valid for. */
export const kueueServingName = `${webhookService}.${kueueNamespace}.svc`;
export const kueueCaName = 'kueue-ca';
/**
 * Kueue's rotator replaces certificates that expire within 90 days; longer-lived ones from the test PKI are kept
 * as they are.
 */
export const kueueCertDays = 365;

/** The folder of Kueue's build: bin/kueue and src/ (the module's source, with its CRDs and webhook manifests). */
export function kueueBuild(): string {
  const script = join(repo, 'scripts/install-kueue.sh');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export interface KueuePorts {
  webhook: number;
  health: number;
  metrics: number;
}

/**
 * Kueue's Configuration: the batch/Job integration only (the wrapper kinds come through their batch Jobs), Jobs
 * without a queue-name label left alone, everything on 127.0.0.1, no leader election.
 *
 * Internal certificate management is on although the certificate comes from the test PKI: with it off, Kueue v0.11
 * reads its metrics certificate from the fixed path /etc/kueue/metrics/certs and exits without it. On, its rotator
 * keeps a valid certificate it finds in its Secret (seeded before it starts), waits for the same files in `certDir`
 * (where a Deployment mounts the Secret) for the webhook server, and metrics are served with a certificate of their own.
 *
 * The on-demand visibility API is off: Kueue v0.11 serves it on the fixed port 8082 on every interface, with
 * certificates written to /tmp and delegated authentication that needs in-cluster credentials.
 */
export function kueueConfiguration(ports: KueuePorts, certDir: string): string {
  return stringify({
    apiVersion: 'config.kueue.x-k8s.io/v1beta1',
    kind: 'Configuration',
    namespace: kueueNamespace,
    health: { healthProbeBindAddress: `127.0.0.1:${ports.health}` },
    metrics: { bindAddress: `127.0.0.1:${ports.metrics}` },
    webhook: { host: '127.0.0.1', port: ports.webhook, certDir },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: true, webhookServiceName: webhookService, webhookSecretName: kueueWebhookSecret },
    manageJobsWithoutQueueName: false,
    integrations: { frameworks: ['batch/job'] },
    featureGates: { VisibilityOnDemand: false },
  });
}

/**
 * The webhook configurations Kueue ships, with only the webhooks for batch Jobs and Kueue's own kinds (the others
 * would send every Pod, Deployment and StatefulSet of the cluster to Kueue), each calling its path on `port` of
 * 127.0.0.1 instead of Kueue's Service.
 */
export function kueueWebhooks(src: string, port: number, caPem: string): string {
  const caBundle = Buffer.from(caPem).toString('base64');
  const kept = new Set(['batch', 'kueue.x-k8s.io']);
  const names: Record<string, string> = {
    MutatingWebhookConfiguration: kueueWebhookConfigurations.mutating,
    ValidatingWebhookConfiguration: kueueWebhookConfigurations.validating,
  };
  const docs = parseAllDocuments(readFileSync(join(src, 'config/components/webhook/manifests.yaml'), 'utf8'))
    .map((doc) => doc.toJSON() as WebhookConfiguration | null)
    .filter((doc): doc is WebhookConfiguration => doc !== null);
  return docs
    .map((doc) => {
      const webhooks = doc.webhooks
        .filter((hook) => hook.rules.every((rule) => rule.apiGroups.every((group) => kept.has(group))))
        .map(({ clientConfig, ...hook }) => ({ ...hook, clientConfig: { url: `https://127.0.0.1:${port}${clientConfig.service!.path}`, caBundle } }));
      return stringify({ ...doc, metadata: { name: names[doc.kind] }, webhooks });
    })
    .join('---\n');
}

interface WebhookConfiguration {
  kind: string;
  webhooks: { clientConfig: { service?: { path: string } }; rules: { apiGroups: string[] }[] }[];
}
