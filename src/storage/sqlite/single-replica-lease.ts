// The embedded store lives in one replica's file: a second replica with its own file would serve a different set
// of objects behind the same Service. In delegated mode the SQLite-backed server therefore holds a Lease in
// kube-apiserver for as long as it serves, refuses to start while another replica holds it, and stops if it loses it.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { LeaderElector } from '../../controllers/runtime/leader-election.js';

export const singleReplicaLeaseName = 'ai-apiserver-sqlite-store';
const leaseDurationSeconds = 15;

export class SingleReplicaRefused extends Error {
  override name = 'SingleReplicaRefused';
}

/** Resolves once this process holds the Lease; rejects with SingleReplicaRefused when it cannot take it in time. */
export async function holdSingleReplicaLease(
  kubeConfig: KubeConfig,
  namespace: string,
  logger: Logger,
  onLost: () => void,
): Promise<LeaderElector> {
  let held = false;
  let resolveHeld: () => void = () => undefined;
  const acquired = new Promise<void>((resolve) => (resolveHeld = resolve));
  const elector = new LeaderElector(
    kubeConfig,
    {
      namespace,
      name: singleReplicaLeaseName,
      leaseDurationSeconds,
      onStartedLeading: () => {
        held = true;
        resolveHeld();
      },
      onStoppedLeading: () => {
        if (held) onLost();
      },
    },
    logger,
  );
  elector.start();
  // A replica that crashed leaves its Lease behind until it expires; wait that long before calling it a second one.
  const waitMs = (leaseDurationSeconds + 5) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
  const outcome = await Promise.race([acquired, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    await elector.stop();
    throw new SingleReplicaRefused(
      `another replica holds Lease ${namespace}/${singleReplicaLeaseName} (or it cannot be written: see the log). ` +
        'The embedded SQLite store serves exactly one replica; to run several, store objects in etcd with --etcd-servers',
    );
  }
  return elector;
}
