// A worker's side of --workers (see primary.ts): its audit lines go to the primary's one log, its /metrics answer is
// the primary's sum over every process, it answers the primary's collections with its own metrics, and it stops when
// the primary is gone (a primary killed outright must not leave workers serving on its port).
import type { Registry } from 'prom-client';
import type { AuditSink } from '../audit/audit.js';
import { isPrimaryMessage, workerMessage, type WorkerMessage } from './messages.js';

/** A scrape the primary has not answered by then fails, as an unreachable replica's would. */
const scrapeTimeoutMs = 10_000;

export class WorkerChannel {
  private scrape = 0;
  private readonly scrapes = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();

  constructor(registry: Registry, onPrimaryGone: () => void) {
    process.on('message', (message: unknown) => {
      if (!isPrimaryMessage(message)) return;
      if (message.type === 'collect-metrics') {
        void registry.getMetricsAsJSON().then((metrics) => this.send({ type: 'collected-metrics', id: message.id, metrics }));
        return;
      }
      const pending = this.scrapes.get(message.id);
      this.scrapes.delete(message.id);
      if (message.text !== undefined) pending?.resolve(message.text);
      else pending?.reject(new Error(message.error ?? 'the primary sent no metrics'));
    });
    process.on('disconnect', onPrimaryGone);
  }

  /** Every process's metrics, summed by the primary. */
  metrics(): Promise<string> {
    const id = ++this.scrape;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.scrapes.delete(id);
        reject(new Error('the primary did not answer for the metrics in time'));
      }, scrapeTimeoutMs);
      this.scrapes.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.send({ type: 'metrics', id });
    });
  }

  /** The audit log's sink in a worker: the line is written by the primary. */
  readonly auditSink: AuditSink = { write: (line) => this.send({ type: 'audit', line }) };

  private send(message: Parameters<typeof workerMessage>[0]): void {
    const tagged: WorkerMessage = workerMessage(message);
    // Gone primary: the 'disconnect' handler is stopping this worker.
    if (process.connected) process.send?.(tagged, undefined, {}, (error: Error | null) => void error);
  }
}
