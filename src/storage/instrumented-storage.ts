// A Storage that times every call of the one it wraps, for the etcd latency metrics.
import { StorageError, type Storage, type WatchHandlers } from './interface.js';

export interface StorageObserver {
  observe(operation: string, seconds: number): void;
  failed(operation: string, code: string): void;
}

export function instrumentStorage(inner: Storage, observer: StorageObserver): Storage {
  const timed =
    <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await call(...args);
      } catch (error) {
        observer.failed(operation, error instanceof StorageError ? error.code : 'Unknown');
        throw error;
      } finally {
        observer.observe(operation, (performance.now() - started) / 1000);
      }
    };
  return {
    currentRevision: timed('currentRevision', () => inner.currentRevision()),
    get: timed('get', (key: string) => inner.get(key)),
    list: timed('list', (prefix: string, options?: Parameters<Storage['list']>[1]) => inner.list(prefix, options)),
    create: timed('create', (key: string, value: Buffer) => inner.create(key, value)),
    guaranteedUpdate: timed('update', (key: string, tryUpdate: Parameters<Storage['guaranteedUpdate']>[1], options?: Parameters<Storage['guaranteedUpdate']>[2]) =>
      inner.guaranteedUpdate(key, tryUpdate, options),
    ),
    delete: timed('delete', (key: string, expected?: number) => inner.delete(key, expected)),
    watch: (prefix: string, after: number, handlers: WatchHandlers) => inner.watch(prefix, after, handlers),
    compact: timed('compact', (revision: number) => inner.compact(revision)),
    close: () => inner.close(),
  };
}
