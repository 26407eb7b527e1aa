// Wires one Store per resource over a shared storage: a watch cache each, one schema validator for all.
import type { Logger } from 'pino';
import { SchemaValidator } from '../api/schema-validator.js';
import { componentSchemas } from '../api/v1alpha1/schemas.js';
import { SmdSchema } from '../fieldmanager/schema.js';
import type { Storage } from '../storage/interface.js';
import { WatchCache, type WatchCacheOptions } from '../storage/watch-cache.js';
import { decode } from './codec.js';
import { Store } from './store.js';
import type { NamespaceLifecycle, Strategy } from './strategy.js';
import { datasetStrategy } from './strategies/dataset.js';
import { jobStrategy } from './strategies/job.js';
import { notebookStrategy } from './strategies/notebook.js';

export const strategies: readonly Strategy[] = [notebookStrategy, jobStrategy, datasetStrategy];

export interface RegistryOptions {
  storage: Storage;
  /** Root of every key this server writes, e.g. "/registry" (kube-apiserver's --etcd-prefix). */
  etcdPrefix: string;
  logger: Logger;
  cache?: WatchCacheOptions;
  namespaces?: NamespaceLifecycle;
  /** See StoreOptions.consistentListFromCache. */
  consistentListFromCache?: boolean;
}

export class Registry {
  readonly stores = new Map<string, Store>();
  private readonly caches: WatchCache[] = [];

  constructor(options: RegistryOptions) {
    const validator = new SchemaValidator(componentSchemas);
    const smd = new SmdSchema(componentSchemas);
    const root = options.etcdPrefix.replace(/\/+$/, '');
    for (const strategy of strategies) {
      const prefix = `${root}/${strategy.info.group}/${strategy.info.resource}/`;
      const cache = new WatchCache(options.storage, prefix, decode, options.logger, options.cache);
      this.caches.push(cache);
      this.stores.set(strategy.info.resource, new Store({ prefix, strategy, storage: options.storage, cache, validator, smd, logger: options.logger, namespaces: options.namespaces, consistentListFromCache: options.consistentListFromCache }));
    }
  }

  store(resource: string): Store {
    const store = this.stores.get(resource);
    if (!store) throw new Error(`no store for ${resource}`);
    return store;
  }

  /** Starts every watch cache and resolves once each has listed. */
  async start(): Promise<void> {
    for (const cache of this.caches) cache.start();
    await Promise.all(this.caches.map((cache) => cache.ready()));
  }

  /** Whether every watch cache has listed, for the readiness check. */
  get synced(): boolean {
    return this.caches.every((cache) => cache.synced);
  }

  stop(): void {
    for (const cache of this.caches) cache.stop();
  }
}
