// Opens the backend the flags chose: etcd, or the embedded SQLite file.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { EtcdStorage } from './etcd/etcd-storage.js';
import type { Storage } from './interface.js';
import { SqliteStorage } from './sqlite/sqlite-storage.js';

/** Where objects are kept: etcd, or the embedded SQLite file (one replica). */
export type StorageOptions =
  | { kind: 'etcd'; servers: string[]; tls?: { caFile: string; certFile?: string; keyFile?: string } }
  | { kind: 'sqlite'; path: string };

export interface OpenedStorage {
  storage: Storage;
  /**
   * Whether the backend's progress reports prove a watch has caught up, so consistent LISTs may be served from the
   * watch cache: always for SQLite (every commit reaches the watches before it is acknowledged), for etcd from 3.5.13.
   */
  consistentListFromCache: boolean;
}

export async function openStorage(options: StorageOptions, logger: Logger): Promise<OpenedStorage> {
  if (options.kind === 'sqlite') {
    return { storage: new SqliteStorage({ path: options.path, logger }), consistentListFromCache: true };
  }
  const tls = options.tls && {
    ca: readFileSync(options.tls.caFile),
    cert: options.tls.certFile === undefined ? undefined : readFileSync(options.tls.certFile),
    key: options.tls.keyFile === undefined ? undefined : readFileSync(options.tls.keyFile),
  };
  const etcd = new EtcdStorage({ endpoints: options.servers, logger, tls });
  const consistentListFromCache = await etcd.hasReliableProgressNotify().catch((error: unknown) => {
    logger.warn({ err: error }, 'etcd version unknown: consistent LISTs are read from etcd');
    return false;
  });
  return { storage: etcd, consistentListFromCache };
}
