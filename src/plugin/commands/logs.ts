// `kubectl ai logs <job>`: jobs/logs, every rank's lines merged and prefixed with the rank, streamed to stdout.
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transport } from '../../kube/transport.js';
import type { UserKubeConfig } from '../kubeconfig.js';
import { objectPath } from '../paths.js';

export interface LogsOptions {
  follow: boolean;
  rank?: number;
  tail?: number;
  signal?: AbortSignal;
}

export async function jobLogs({ kubeConfig, namespace }: UserKubeConfig, job: string, options: LogsOptions, out: Writable): Promise<void> {
  const res = await new Transport(kubeConfig).open({
    method: 'GET',
    path: `${objectPath('jobs', namespace, job)}/logs`,
    query: { follow: options.follow || undefined, rank: options.rank, tailLines: options.tail },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await pipeline(res, out, { end: false });
}
