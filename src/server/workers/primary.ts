// --workers N: the primary process forks N server processes that share the port (Node's cluster module hands each
// accepted connection to the next worker), each with its own storage client and watch cache, as N replicas behind one
// Service each have theirs. The primary serves nothing itself. It:
// - starts the workers and, once all are serving, forks again any that dies, as a kubelet restarts a container;
//   a worker that fails before it ever served fails the whole server (a bad flag, an unreachable store);
// - passes SIGTERM and SIGINT on, and exits once every worker has finished its graceful shutdown;
// - writes the audit log (one writer, so one file is appended to and rotated) from the lines the workers send;
// - answers a worker's /metrics with every process's metrics added up (counters and histograms summed, gauges as
//   each metric says), so a scrape sees the replica whichever worker it reaches.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { AuditLogWriter } from '../audit/log-writer.js';
import type { ServerMetrics } from '../metrics.js';
import { isWorkerMessage, workerVariable, type MetricsJson, type PrimaryMessage } from './messages.js';

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** The primary's own metrics: its process, and audit lines it failed to write. */
  metrics: ServerMetrics;
  /** Given to every worker besides its identity (what standalone workers must share). */
  env: Record<string, string>;
  /** --audit-log-path and its rotation: the primary writes the one log. */
  audit?: { logPath: string; maxAgeDays: number; maxBackups: number; maxSizeMB: number };
}

/** A worker that has not answered a metrics collection by then is left out of that scrape. */
const collectTimeoutMs = 5_000;
/** A worker that died is forked again after this, doubled while it keeps dying young, up to the maximum. */
const restartDelayMs = { first: 1_000, max: 30_000 };
/** A worker that served this long is healthy again: its next death restarts it after the first delay. */
const healthyAfterMs = 60_000;

export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger, metrics } = options;
  const log = logger.child({ component: 'workers' });
  const auditLog = options.audit ? new AuditLogWriter({ ...options.audit, path: options.audit.logPath, failed: auditFailed(metrics, log) }) : undefined;
  await auditLog?.open();

  const workers = new Map<number, Worker>();
  const serving = new Set<number>();
  const delays = new Map<number, number>();
  let stopping = false;
  let exitCode = 0;
  let collection = 0;
  const collections = new Map<number, { parts: MetricsJson[]; waiting: Set<number>; done: () => void }>();

  const finish = async (): Promise<void> => {
    await auditLog?.close();
    log.info({ exitCode }, 'every worker stopped');
    process.exit(exitCode);
  };

  let stopSignal: NodeJS.Signals | undefined;
  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true;
    stopSignal ??= signal;
    for (const worker of workers.values()) worker.process.kill(signal);
    if (workers.size === 0) void finish();
  };

  const collect = async (): Promise<string> => {
    const id = ++collection;
    const parts: MetricsJson[] = [await metrics.registry.getMetricsAsJSON()];
    const waiting = new Set(workers.keys());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, collectTimeoutMs);
      collections.set(id, { parts, waiting, done: () => (clearTimeout(timer), resolve()) });
      for (const worker of workers.values()) send(worker, { type: 'collect-metrics', id });
      if (waiting.size === 0) collections.get(id)!.done();
    });
    collections.delete(id);
    return AggregatorRegistry.aggregate(parts).metrics();
  };

  const fork = (index: number): void => {
    const started = Date.now();
    const worker = cluster.fork({ ...options.env, [workerVariable]: `${index}/${options.workers}` });
    workers.set(index, worker);
    worker.on('listening', () => {
      const first = serving.size === 0;
      serving.add(index);
      // The others start once the first serves: it alone writes --write-kubeconfig, before it answers anything.
      if (first) for (let next = 1; next < options.workers; next++) fork(next);
      if (serving.size === options.workers) log.info({ workers: options.workers }, 'every worker is serving');
    });
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      switch (message.type) {
        case 'audit':
          auditLog?.write(message.line);
          return;
        case 'metrics':
          collect().then(
            (text) => send(worker, { type: 'metrics', id: message.id, text }),
            (error: unknown) => send(worker, { type: 'metrics', id: message.id, error: String(error) }),
          );
          return;
        case 'collected-metrics': {
          const pending = collections.get(message.id);
          if (!pending || !pending.waiting.delete(index)) return;
          pending.parts.push(message.metrics);
          if (pending.waiting.size === 0) pending.done();
          return;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      workers.delete(index);
      for (const [, pending] of collections) if (pending.waiting.delete(index) && pending.waiting.size === 0) pending.done();
      if (stopping) {
        // A worker still starting has no handler yet, and ends by the signal passed on: that is its stop too.
        if (code !== 0 && signal !== stopSignal) exitCode = 1;
        if (workers.size === 0) void finish();
        return;
      }
      if (!serving.has(index)) {
        log.fatal({ worker: index, code, signal }, 'a worker failed before it served: stopping');
        exitCode = 1;
        stopAll('SIGTERM');
        return;
      }
      const lived = Date.now() - started;
      const delay = lived >= healthyAfterMs ? restartDelayMs.first : Math.min((delays.get(index) ?? restartDelayMs.first / 2) * 2, restartDelayMs.max);
      delays.set(index, delay);
      log.error({ worker: index, code, signal, restartInMs: delay }, 'a worker died: it is forked again');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay);
    });
  };

  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));
  fork(0);
}

function send(worker: Worker, message: PrimaryMessage): void {
  // A worker that is gone cannot be answered; its exit is handled where it is seen.
  if (worker.isConnected()) worker.send(message, (error: Error | null) => void error);
}

function auditFailed(metrics: ServerMetrics, log: Logger): (error: Error) => void {
  let lastLogged = 0;
  return (error) => {
    metrics.auditErrors.inc({ plugin: 'log' });
    // One line a second at most: a full disk fails every event.
    if (Date.now() - lastLogged < 1_000) return;
    lastLogged = Date.now();
    log.error({ err: error, component: 'audit' }, 'audit event lost');
  };
}
