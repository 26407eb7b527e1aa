// Leader election on a coordination.k8s.io Lease, with client-go's timings (15 s lease, renew every 2 s, give up
// after 10 s without a renewal): only the holder runs the controllers, so two replicas never act twice.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
  renewDeadlineMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  readonly identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: LeaderElectionOptions,
    logger: Logger,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.log = logger.child({ component: 'leader-election', identity: this.identity });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.ticking = this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A renewal under way would make the release's compare-and-swap fail, and the lease would then only expire.
    await this.ticking;
    if (this.leading) {
      this.setLeading(false);
      // Release the lease so another replica takes over at once instead of after the lease duration; a conflict
      // is read again, as long as the lease is still ours.
      for (let attempt = 0; attempt < 3; attempt++) {
        const released = await this.update((lease) => {
          lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1 };
        }).then(
          () => true,
          (error: unknown) => {
            if (error instanceof ApiException && error.code === 409) return false;
            this.log.warn({ err: error }, 'releasing the lease failed');
            return true;
          },
        );
        if (released) break;
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const acquired = await this.tryAcquireOrRenew();
      if (acquired) this.lastRenew = Date.now();
      if (acquired && !this.leading) this.setLeading(true);
      if (!acquired && this.leading && Date.now() - this.lastRenew > (this.options.renewDeadlineMs ?? 10_000)) this.setLeading(false);
    } catch (error) {
      this.log.warn({ err: error }, 'lease update failed');
      if (this.leading && Date.now() - this.lastRenew > (this.options.renewDeadlineMs ?? 10_000)) this.setLeading(false);
    }
    this.timer = setTimeout(() => (this.ticking = this.tick()), this.options.retryPeriodMs ?? 2_000);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.log.info({ leading }, leading ? 'became leader' : 'lost leadership');
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.options;
    const duration = this.options.leaseDurationSeconds ?? 15;
    const now = new Date();
    // Lease times are MicroTime: kube-apiserver wants six fractional digits, and client-node would send three.
    const micro = now.toISOString().replace(/Z$/, '000Z') as unknown as Date;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: this.identity, leaseDurationSeconds: duration, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
          },
        });
        return true;
      } catch (createError) {
        if (createError instanceof ApiException && createError.code === 409) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? duration) * 1000 < now.getTime();
    const mine = spec.holderIdentity === this.identity;
    if (!mine && spec.holderIdentity && !expired) return false;
    lease.spec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: duration,
      renewTime: micro,
      ...(mine ? {} : { acquireTime: micro, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      // The read's resourceVersion makes this a compare-and-swap: two replicas never both win.
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return false;
      throw error;
    }
  }

  private async update(change: (lease: V1Lease) => void): Promise<void> {
    const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
    if (lease.spec?.holderIdentity !== this.identity) return;
    change(lease);
    await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease });
  }
}
