// The ResourceQuota plugin with its informer on kube-apiserver's quotas, as main builds it.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadKubeConfig } from '../../kube/kubeconfig.js';
import { Transport } from '../../kube/transport.js';
import { ResourceQuotaPlugin } from './plugin.js';
import { QuotaInformer } from './quota-access.js';

export interface ResourceQuotaAdmission {
  plugin: ResourceQuotaPlugin;
  /** Stops the informer. */
  stop(): void;
}

/**
 * `kubeconfig` is a file; without one the in-cluster service account is used. The informer starts at once. `stored`
 * reads our objects as stored, for a scale's pods.
 */
export function resourceQuotaAdmission(
  kubeconfig: string | undefined,
  metrics: Registry,
  logger: Logger,
  stored?: (resource: string, namespace: string, name: string) => unknown,
): ResourceQuotaAdmission {
  const informer = new QuotaInformer(new Transport(loadKubeConfig(kubeconfig)), logger);
  return { plugin: new ResourceQuotaPlugin(informer, metrics, stored), stop: () => informer.stop() };
}
