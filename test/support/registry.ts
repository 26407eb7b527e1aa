// A real registry over a real etcd for integration tests; fixtures for the three kinds.
import pino from 'pino';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import { Registry } from '../../src/registry/registry.js';
import type { WatchCacheOptions } from '../../src/storage/watch-cache.js';
import type { KubeObject } from '../../src/api/meta/types.js';
import { startEtcd, type EtcdProcess } from './etcd.js';

export interface RegistryFixture {
  etcd: EtcdProcess;
  storage: EtcdStorage;
  registry: Registry;
  close(): Promise<void>;
}

export async function startRegistry(
  cache?: WatchCacheOptions,
  storageOptions: { watchRetryInitialMs?: number } = {},
  binary?: string,
): Promise<RegistryFixture> {
  const etcd = await startEtcd(binary);
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const storage = new EtcdStorage({ endpoints: [etcd.endpoint], logger, ...storageOptions });
  const consistentListFromCache = await storage.hasReliableProgressNotify();
  const registry = new Registry({ storage, etcdPrefix: '/registry', logger, cache, consistentListFromCache });
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
