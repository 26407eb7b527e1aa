// Runs one reconciler: workers take keys from the queue, reconcile them, and requeue with backoff on error or
// after the delay the reconciler asks for. Level-triggered: a key means "look at this object again".
import type { Logger } from 'pino';
import type { ControllerMetrics } from './metrics.js';
import { WorkQueue } from './work-queue.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface Reconciler {
  readonly name: string;
  /** Makes the world match the object named by `key` ("namespace/name"). Idempotent; may run any number of times. */
  reconcile(key: string): Promise<ReconcileResult | void>;
  /** Tells the object named by `key` why its last reconcile failed, before the retry. */
  failed?(key: string, error: unknown): Promise<void>;
}

export class Controller {
  readonly queue = new WorkQueue();
  private readonly log: Logger;
  private running = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly metrics: ControllerMetrics,
    logger: Logger,
    private readonly workers = 2,
  ) {
    this.log = logger.child({ component: 'controller', controller: reconciler.name });
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.metrics.depth.set({ controller: this.reconciler.name }, this.queue.depth);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.workers; i++) void this.work();
  }

  stop(): void {
    this.running = false;
    this.queue.shutdown();
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const labels = { controller: this.reconciler.name };
      this.metrics.depth.set(labels, this.queue.depth);
      const started = performance.now();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        this.metrics.errors.inc(labels);
        this.log.warn({ err: error, key }, 'reconcile failed; retrying with backoff');
        await this.reconciler.failed?.(key, error).catch((e: unknown) => this.log.warn({ err: e, key }, 'reporting the failure on the object failed'));
        this.queue.addRateLimited(key);
      } finally {
        this.metrics.latency.observe(labels, (performance.now() - started) / 1000);
        this.queue.done(key);
      }
    }
  }
}
