// A real registry over a real etcd (or the embedded SQLite store) for integration tests; fixtures for the three kinds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import type { Storage } from '../../src/storage/interface.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { Registry } from '../../src/registry/registry.js';
import { resources } from '../../src/resources/index.js';
import type { WatchCacheOptions } from '../../src/storage/watch-cache.js';
import type { KubeObject } from '../../src/api/meta/types.js';
import { startEtcd, type EtcdProcess } from './etcd.js';

export interface RegistryFixture {
  etcd: EtcdProcess;
  storage: EtcdStorage;
  registry: Registry;
  close(): Promise<void>;
}

export type Backend = 'etcd' | 'sqlite';

export interface AnyRegistryFixture {
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

const testLogger = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export async function startRegistry(
  cache?: WatchCacheOptions,
  storageOptions: { watchRetryInitialMs?: number } = {},
  binary?: string,
): Promise<RegistryFixture> {
  const etcd = await startEtcd(binary);
  const logger = testLogger();
  const storage = new EtcdStorage({ endpoints: [etcd.endpoint], logger, ...storageOptions });
  const consistentListFromCache = await storage.hasReliableProgressNotify();
  const registry = new Registry({ strategies: resources.strategies, storage, etcdPrefix: '/registry', logger, cache, consistentListFromCache });
  await registry.start();
  return {
    etcd,
    storage,
    registry,
    close: async () => {
      registry.stop();
      await storage.close();
      await etcd.destroy();
    },
  };
}

/** The registry on either backend, for suites that hold every backend to the same behaviour. */
export async function startRegistryOn(backend: Backend, cache?: WatchCacheOptions): Promise<AnyRegistryFixture> {
  if (backend === 'etcd') return startRegistry(cache);
  const dir = mkdtempSync(join(tmpdir(), 'ai-apiserver-registry-'));
  const logger = testLogger();
  const storage = new SqliteStorage({ path: join(dir, 'state.db'), logger, compactIntervalMs: 0 });
  const registry = new Registry({ strategies: resources.strategies, storage, etcdPrefix: '/registry', logger, cache, consistentListFromCache: true });
  await registry.start();
  return {
    storage,
    registry,
    close: async () => {
      registry.stop();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function notebook(name: string, extra: Partial<KubeObject> & { labels?: Record<string, string> } = {}): KubeObject {
  const { labels, ...rest } = extra;
  return {
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Notebook',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: {
      template: { spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook:2024-01-01' }] } },
      workspace: { size: '10Gi' },
    },
    ...rest,
  };
}

export function job(name: string): KubeObject {
  return {
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Job',
    metadata: { name },
    spec: {
      elastic: { minReplicas: 1, maxReplicas: 4 },
      template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0' }] } },
    },
  };
}

export function dataset(name: string): KubeObject {
  return {
    apiVersion: 'ai.example.io/v1alpha1',
    kind: 'Dataset',
    metadata: { name },
    spec: { source: { uri: 's3://bucket/imagenet' }, size: '100Gi' },
  };
}
