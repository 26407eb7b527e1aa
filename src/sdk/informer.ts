// A cache of one resource kept by list + watch, with event handlers: what client-go's informers give a controller.
import type { KubeObject } from '../api/meta/types.js';
import type { ResourceClient, WatchEvent } from './resource.js';

type Handler<T> = (object: T) => void;

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers = { add: [] as Handler<T>[], update: [] as Handler<T>[], delete: [] as Handler<T>[] };
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: ResourceClient<T>,
    private readonly namespace?: string,
    private readonly selectors: { labelSelector?: string; fieldSelector?: string } = {},
  ) {}

  on(event: 'add' | 'update' | 'delete', handler: Handler<T>): this {
    this.handlers[event].push(handler);
    return this;
  }

  /** Lists, fills the cache (calling add handlers), then keeps it current; resolves once the first list is in. */
  async start(): Promise<void> {
    const first = await this.client.list(this.namespace, { ...this.selectors });
    for (const item of first.items) this.apply({ type: 'ADDED', object: item });
    const events = this.client.watch(this.namespace, {
      ...this.selectors,
      resourceVersion: first.metadata.resourceVersion ?? '',
      known: first.items,
      signal: this.abort.signal,
    });
    this.running = (async () => {
      for await (const event of events) this.apply(event);
    })().catch((error: unknown) => {
      if (!this.abort.signal.aborted) throw error;
    });
  }

  private apply(event: WatchEvent<T>): void {
    const key = `${event.object.metadata.namespace ?? ''}/${event.object.metadata.name ?? ''}`;
    if (event.type === 'DELETED') {
      this.cache.delete(key);
      for (const h of this.handlers.delete) h(event.object);
      return;
    }
    const existed = this.cache.has(key);
    this.cache.set(key, event.object);
    for (const h of existed ? this.handlers.update : this.handlers.add) h(event.object);
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}
