// Charges creates to quotas as kube's quotaEvaluator does: per namespace one batch at a time, so creates racing in
// this process are checked against each other, each batch checked in order against the running totals and written
// with one status update per quota it changed. Replicas and kube-apiserver itself race through the quotas'
// resourceVersions: a 409 rereads the quotas that failed and checks the batch again, three times at most.
import { StatusError } from '../../kube/status-error.js';
import { checkRequest, QuotaRefusal, sameUsage } from './check.js';
import type { QuotaAccess } from './quota-access.js';
import type { ResourceList, ResourceQuota } from './resource-list.js';

export interface QuotaRequest {
  namespace: string;
  usage: ResourceList;
  /** Checked, never charged. */
  dryRun: boolean;
}

interface Waiter {
  request: QuotaRequest;
  /** undefined until decided: kube's "default deny", turned into success once the writes succeed. */
  result: Error | null | undefined;
  settle(error: Error | null): void;
}

const retries = 3;

export class QuotaEvaluator {
  private readonly queued = new Map<string, Waiter[]>();
  private readonly busy = new Set<string>();

  constructor(private readonly access: QuotaAccess) {}

  /** Resolves when the create fits and is charged; rejects with QuotaRefusal, or the error that kept it from being charged. */
  evaluate(request: QuotaRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { request, result: undefined, settle: (error) => (error ? reject(error) : resolve()) };
      const queue = this.queued.get(request.namespace);
      if (queue) queue.push(waiter);
      else this.queued.set(request.namespace, [waiter]);
      if (!this.busy.has(request.namespace)) void this.drain(request.namespace);
    });
  }

  private async drain(namespace: string): Promise<void> {
    this.busy.add(namespace);
    try {
      for (let batch = this.take(namespace); batch.length > 0; batch = this.take(namespace)) {
        try {
          await this.checkBatch(namespace, batch);
        } catch (error) {
          // The quotas could not be read: kube's quota admission fails the batch with this wording.
          const failure = new Error(`error resolving quota: ${error instanceof Error ? error.message : String(error)}`);
          for (const waiter of batch) if (waiter.result === undefined) waiter.result = failure;
        }
        for (const waiter of batch) waiter.settle(waiter.result ?? null);
      }
    } finally {
      this.busy.delete(namespace);
    }
  }

  private take(namespace: string): Waiter[] {
    const batch = this.queued.get(namespace) ?? [];
    this.queued.delete(namespace);
    return batch;
  }

  private async checkBatch(namespace: string, batch: Waiter[]): Promise<void> {
    const quotas = await this.access.quotas(namespace);
    if (quotas.length === 0) {
      for (const waiter of batch) waiter.result = null;
      return;
    }
    await this.checkQuotas(quotas, batch, retries);
  }

  private async checkQuotas(start: ResourceQuota[], batch: Waiter[], remaining: number): Promise<void> {
    let quotas = start;
    let changed = false;
    for (const waiter of batch) {
      let next: ResourceQuota[];
      try {
        next = checkRequest(quotas, waiter.request.usage);
      } catch (error) {
        if (!(error instanceof QuotaRefusal)) throw error;
        waiter.result = error;
        continue;
      }
      if (waiter.request.dryRun) {
        waiter.result = null;
        continue;
      }
      const charged = next.some((quota, i) => !sameUsage(quota, quotas[i]!));
      if (charged) changed = true;
      else waiter.result = null;
      quotas = next;
    }
    if (!changed) return;

    const failed: ResourceQuota[] = [];
    let lastError: Error | undefined;
    for (const [i, quota] of quotas.entries()) {
      if (sameUsage(quota, start[i]!)) continue;
      try {
        await this.access.updateStatus(quota);
      } catch (error) {
        if (!(error instanceof StatusError)) throw error;
        failed.push(quota);
        lastError = error;
      }
    }
    if (failed.length === 0) {
      for (const waiter of batch) if (waiter.result === undefined) waiter.result = null;
      return;
    }
    if (remaining <= 0) {
      for (const waiter of batch) if (waiter.result === undefined) waiter.result = lastError!;
      return;
    }
    // Only the quotas whose writes failed are checked again: the others hold the batch's charges already.
    const fresh = await this.access.liveQuotas(start[0]!.metadata.namespace);
    const names = new Set(failed.map((quota) => quota.metadata.name));
    await this.checkQuotas(
      fresh.filter((quota) => names.has(quota.metadata.name)),
      batch,
      remaining - 1,
    );
  }
}
