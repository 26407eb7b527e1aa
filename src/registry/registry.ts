// Wires one Store per resource over a shared storage, and its subresources: a watch cache each, one schema
// validator for all. Which resources is the caller's to say (src/resources/ lists them).
import type { Logger } from 'pino';
import { SchemaValidator } from '../api/schema-validator.js';
import type { JsonSchema } from '../api/v1alpha1/schemas.js';
import { SmdSchema } from '../fieldmanager/schema.js';
import { CachedStorage } from '../storage/cached-storage.js';
import type { Storage } from '../storage/interface.js';
import { WatchCache, type WatchCacheOptions } from '../storage/watch-cache.js';
import type { AdmissionChain } from './admission.js';
import { cacheDecoder } from './codec.js';
import { Informer } from './informer.js';
import { Store } from './store.js';
import type { NamespaceLifecycle, Strategy } from './strategy.js';
import { ProgressSubresource } from './progress.js';
import { ScaleSubresource, StatusSubresource, type Subresource } from './subresources.js';

export interface RegistryOptions {
  /** The resources to serve, from their definitions (see definition.ts). */
  strategies: readonly Strategy[];
  storage: Storage;
  /** Root of every key this server writes, e.g. "/registry" (kube-apiserver's --etcd-prefix). */
  etcdPrefix: string;
  logger: Logger;
  cache?: WatchCacheOptions;
  namespaces?: NamespaceLifecycle;
  /**
   * Serve consistent LISTs (resourceVersion "") from the watch cache after a progress check against storage (see
   * CachedStorageOptions.consistentReadsFromCache); otherwise they are read from storage. On by default.
   */
  consistentListFromCache?: boolean;
  /** The admission chain every store calls for a user's writes. */
  admission?: AdmissionChain;
  /** At most one stored write of an object's progress per this many milliseconds (5 s when left out). */
  progressWriteIntervalMs?: number;
}

export class Registry {
  readonly stores = new Map<string, Store>();
  private readonly subresourceMaps = new Map<string, ReadonlyMap<string, Subresource>>();
  private readonly caches: WatchCache[] = [];
  private readonly progress: ProgressSubresource[] = [];
  private readonly informers = new Map<string, Informer>();
  /** The one group-version every resource is in. */
  readonly groupVersion: { group: string; version: string };

  constructor(options: RegistryOptions) {
    const first = options.strategies[0];
    if (!first) throw new Error('a registry needs at least one resource');
    this.groupVersion = { group: first.info.group, version: first.info.version };
    for (const { info } of options.strategies) {
      if (info.group !== first.info.group || info.version !== first.info.version) {
        throw new Error(`${info.resource} is in ${info.group}/${info.version}, not ${first.info.group}/${first.info.version}`);
      }
    }
    const schemas: Record<string, JsonSchema> = Object.create(null) as Record<string, JsonSchema>;
    for (const strategy of options.strategies) {
      for (const [name, schema] of Object.entries(strategy.schemas)) {
        if (Object.hasOwn(schemas, name) && schemas[name] !== schema) throw new Error(`schema ${name} is defined twice, differently`);
        schemas[name] = schema;
      }
    }
    const validator = new SchemaValidator(schemas);
    const smd = new SmdSchema(schemas);
    const root = options.etcdPrefix.replace(/\/+$/, '');
    for (const strategy of options.strategies) {
      const prefix = `${root}/${strategy.info.group}/${strategy.info.resource}/`;
      const cache = new WatchCache(options.storage, prefix, cacheDecoder(strategy.fieldValues), options.logger, options.cache);
      this.caches.push(cache);
      this.informers.set(strategy.info.resource, new Informer(cache, options.logger.child({ component: 'informer', resource: strategy.info.resource })));
      const storage = new CachedStorage(options.storage, cache, { consistentReadsFromCache: options.consistentListFromCache ?? true, logger: options.logger });
      const store = new Store({ prefix, strategy, storage, validator, smd, logger: options.logger, namespaces: options.namespaces, admission: options.admission });
      this.stores.set(strategy.info.resource, store);
      const subresources: Subresource[] = [new StatusSubresource(store)];
      if (strategy.scale) subresources.push(new ScaleSubresource(store, strategy.scale, smd, options.logger.child({ component: 'store', resource: strategy.info.resource })));
      if (strategy.progress) {
        const log = options.logger.child({ component: 'progress', resource: strategy.info.resource });
        const progress = new ProgressSubresource(store, strategy.progress, { intervalMs: options.progressWriteIntervalMs ?? 5000, logger: log });
        this.progress.push(progress);
        subresources.push(progress);
      }
      this.subresourceMaps.set(strategy.info.resource, new Map(subresources.map((sub) => [sub.name, sub])));
    }
  }

  /** The subresources of a resource that read and write its objects, by name ("status", "scale"). */
  subresources(resource: string): ReadonlyMap<string, Subresource> {
    return this.subresourceMaps.get(resource) ?? new Map();
  }

  /** The strategies of the resources, in the order they were given. */
  get strategies(): Strategy[] {
    return [...this.stores.values()].map((store) => store.strategy);
  }

  store(resource: string): Store {
    const store = this.stores.get(resource);
    if (!store) throw new Error(`no store for ${resource}`);
    return store;
  }

  /** What the controllers read a resource through: its watch cache, as an informer. */
  informer(resource: string): Informer {
    const informer = this.informers.get(resource);
    if (!informer) throw new Error(`no informer for ${resource}`);
    return informer;
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
    for (const progress of this.progress) progress.stop();
  }
}
