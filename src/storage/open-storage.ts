// Opens the backend the flags chose: etcd, or the embedded SQLite file.
import type { Logger } from 'pino';
import type { StorageConfig } from '../config.js';
import { EtcdStorage } from './etcd/etcd-storage.js';
import type { Storage } from './interface.js';
import { SqliteStorage } from './sqlite/sqlite-storage.js';

export interface OpenedStorage {
  storage: Storage;
  /**
   * Whether the backend's progress reports prove a watch has caught up, so consistent LISTs may be served from the
   * watch cache: always for SQLite (every commit reaches the watches before it is acknowledged), for etcd from 3.5.13.
   */
  consistentListFromCache: boolean;
}

export async function openStorage(config: StorageConfig, logger: Logger): Promise<OpenedStorage> {
  if (config.kind === 'sqlite') {
    return { storage: new SqliteStorage({ path: config.path, logger }), consistentListFromCache: true };
  }
  const etcd = new EtcdStorage({ endpoints: config.servers, logger });
  const consistentListFromCache = await etcd.hasReliableProgressNotify().catch((error: unknown) => {
    logger.warn({ err: error }, 'etcd version unknown: consistent LISTs are read from etcd');
    return false;
  });
  return { storage: etcd, consistentListFromCache };
}
