// What the primary and its workers say to each other over the cluster's IPC channel.
import type { Registry } from 'prom-client';
import type { ServingCert } from '../serving-cert/pki.js';

/** The environment variable the primary gives each worker its identity in: "<index>/<count>". */
export const workerVariable = 'AI_APISERVER_WORKER';

/**
 * The environment variable holding, in standalone mode, the admin token (without --token-auth-file) and the
 * self-signed serving pair (without --tls-cert-file) the primary made: every worker must accept the same token and
 * serve the same pair, or a client would trust one worker and be refused by the next.
 */
export const standaloneIdentityVariable = 'AI_APISERVER_STANDALONE_IDENTITY';

export interface StandaloneIdentity {
  token?: string;
  cert?: ServingCert;
}

/** One process's metrics as prom-client aggregates them (the library does not name the type). */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** From a worker: an audit line to append; a scrape to answer; its part of a metrics collection. */
export type WorkerMessage =
  | { aiApiserver: true; type: 'audit'; line: string }
  | { aiApiserver: true; type: 'metrics'; id: number }
  | { aiApiserver: true; type: 'collected-metrics'; id: number; metrics: MetricsJson };

/** From the primary: every process's metrics for a scrape, or a request for this worker's part of them. */
export type PrimaryMessage =
  | { type: 'metrics'; id: number; text?: string; error?: string }
  | { type: 'collect-metrics'; id: number };

type Tagged<T> = T extends unknown ? Omit<T, 'aiApiserver'> : never;

export function workerMessage(message: Tagged<WorkerMessage>): WorkerMessage {
  return { aiApiserver: true, ...message } as WorkerMessage;
}

/** The cluster module sends messages of its own on the same channel: ours carry a tag. */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && (message as { aiApiserver?: unknown }).aiApiserver === true;
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
  return type === 'metrics' || type === 'collect-metrics';
}
