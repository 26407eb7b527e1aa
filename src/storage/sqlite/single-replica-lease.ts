// The embedded store lives in one replica's file: a second replica with its own file would serve a different set
// of objects behind the same Service. In delegated mode the SQLite-backed server therefore holds a Lease in
// kube-apiserver for as long as it serves, refuses to start while another replica holds it, and stops if it loses it.
// How the Lease is held is the caller's (main.ts gives a leader elector): storage knows only what it needs of one.

export const singleReplicaLeaseName = 'ai-apiserver-sqlite-store';
const leaseDurationSeconds = 15;

/** What the guard asks of a lease: which one, for how long, and whom to tell when it is taken or lost. */
export interface LeaseRequest {
  namespace: string;
  name: string;
  leaseDurationSeconds: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

/** A lease being contended for: start() begins trying to take and renew it; stop() gives it up (releasing it if held). */
export interface HeldLease {
  start(): void;
  stop(): Promise<void>;
}

export class SingleReplicaRefused extends Error {
  override name = 'SingleReplicaRefused';
}

/** Resolves once this process holds the Lease; rejects with SingleReplicaRefused when it cannot take it in time. */
export async function holdSingleReplicaLease(
  namespace: string,
  openLease: (request: LeaseRequest) => HeldLease,
  onLost: () => void,
): Promise<HeldLease> {
  let held = false;
  let resolveHeld: () => void = () => undefined;
  const acquired = new Promise<void>((resolve) => (resolveHeld = resolve));
  const lease = openLease({
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
  });
  lease.start();
  // A replica that crashed leaves its Lease behind until it expires; wait that long before calling it a second one.
  const waitMs = (leaseDurationSeconds + 5) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
  const outcome = await Promise.race([acquired, timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    await lease.stop();
    throw new SingleReplicaRefused(
      `another replica holds Lease ${namespace}/${singleReplicaLeaseName} (or it cannot be written: see the log). ` +
        'The embedded SQLite store serves exactly one replica; to run several, store objects in etcd with --etcd-servers',
    );
  }
  // Releasing the Lease on shutdown ends its holding too: that is no loss, and must not exit the process with 1.
  return {
    start: () => lease.start(),
    stop: () => {
      held = false;
      return lease.stop();
    },
  };
}
