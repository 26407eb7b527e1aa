// ResourceQuotas on the test control plane, as kube-controller-manager's quota controller keeps them.
import type { LocalCluster } from './cluster.js';
import { eventually } from './eventually.js';

type Json = Record<string, any>;

export async function quotaJson(cluster: LocalCluster, namespace: string, name: string): Promise<Json> {
  return JSON.parse(await cluster.ok('admin', ['get', 'resourcequota', name, '-n', namespace, '-o', 'json'])) as Json;
}

/** Waits until the quota's status.used has every name of `used` with that value (kube-controller-manager's or admission's). */
export function usedBecomes(cluster: LocalCluster, namespace: string, name: string, used: Record<string, string>, what: string, timeoutMs = 120_000): Promise<Json> {
  return eventually(
    () => quotaJson(cluster, namespace, name),
    (q) => Object.entries(used).every(([k, v]) => q.status?.used?.[k] === v),
    what,
    timeoutMs,
    { everyMs: 1000 },
  );
}

export async function applyQuota(cluster: LocalCluster, namespace: string, name: string, hard: Record<string, string>): Promise<void> {
  await cluster.ok('admin', ['apply', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard } }));
}

/**
 * Waits until kube-controller-manager's quota controller counts `resources` in `namespace`. It learns of resources
 * through discovery every 30 s, and a quota it synced before then has no usage for them until its next full resync
 * (5 minutes), as for a CRD just installed: a quota it cannot count yet is made again until a new one is counted at once.
 */
export async function controllerCounts(cluster: LocalCluster, namespace: string, resources: string[]): Promise<void> {
  let attempt = 0;
  await eventually(
    async () => {
      const name = `probe-${attempt++}`;
      await applyQuota(cluster, namespace, name, Object.fromEntries(resources.map((r) => [r, '100'])));
      try {
        await usedBecomes(cluster, namespace, name, Object.fromEntries(resources.map((r) => [r, '0'])), `${name} counted`, 10_000);
        return true;
      } catch {
        return false;
      } finally {
        await cluster.ok('admin', ['delete', 'resourcequota', name, '-n', namespace]);
      }
    },
    (counted) => counted,
    `kube-controller-manager to count ${resources.join(', ')}`,
    // Discovery of an aggregated group is refreshed by kube-apiserver once a minute when it failed (our server was
    // not up yet), then read by the quota controller every 30 s, whose informer must then list: minutes on a loaded
    // machine, once more than three.
    360_000,
    { context: () => cluster.logs('kube-controller-manager').split('\n').filter((line) => /quota|ai\.example\.io/.test(line)).slice(-40).join('\n') },
  );
}
