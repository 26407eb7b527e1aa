// The etcd backend on the `etcd3` client, made safe for an API server: no client-side retries of writes (a retried
// txn can apply twice), no circuit breaker (one member down for 5 s would be a 5 s outage), paginated ranges at a
// fixed revision, and watches on raw gRPC streams that resume from the last *delivered* revision.
import { Etcd3, GRPCDeadlineExceededError, GRPCOutOfRangeError, GRPCUnavailableError, type IOptions } from 'etcd3';
import type { IKeyValue, IResponseHeader, IWatchResponse } from 'etcd3/lib/rpc.js';
import { noop } from 'cockatiel';
import type { Logger } from 'pino';
import { guaranteedUpdateLoop } from '../guaranteed-update.js';
import {
  prefixEnd,
  StorageError,
  type GuaranteedUpdateOptions,
  type ListOptions,
  type ListResult,
  type Storage,
  type StorageEvent,
  type StoredValue,
  type TryUpdate,
  type Watch,
  type WatchHandlers,
} from '../interface.js';

export interface EtcdStorageOptions {
  endpoints: string[];
  /** First delay before a broken watch stream is re-created; it doubles up to 2 s (or to this, if larger). */
  watchRetryInitialMs?: number;
  /** Deadline of one unary call. */
  requestTimeoutMs?: number;
  /** Keys per range call when reading a whole prefix. */
  pageSize?: number;
  logger: Logger;
}

export class EtcdStorage implements Storage {
  private readonly client: Etcd3;
  private readonly pageSize: number;
  private readonly log: Logger;
  private readonly watches = new Set<EtcdWatch>();
  private readonly watchRetryInitialMs: number;

  constructor(options: EtcdStorageOptions) {
    const timeout = options.requestTimeoutMs ?? 10_000;
    const clientOptions: IOptions = {
      hosts: options.endpoints,
      dialTimeout: 3_000,
      grpcOptions: {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': 8 * 1024 * 1024,
        // gRPC's default reconnect backoff grows to 120 s: far too long to stay away from a restarted etcd.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2_000,
      },
      faultHandling: { global: noop, host: () => noop },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    };
    this.client = new Etcd3(clientOptions);
    this.pageSize = options.pageSize ?? 1000;
    this.watchRetryInitialMs = options.watchRetryInitialMs ?? 100;
    this.log = options.logger.child({ component: 'etcd-storage' });
  }

  /** etcd's server version, e.g. "3.6.16". */
  async serverVersion(): Promise<string> {
    const status = await this.call('', () => this.client.maintenance.status());
    return status.version;
  }

  /**
   * Whether etcd's watch progress notifications can be trusted to prove a watch has caught up: fixed in 3.5.13
   * (etcd#15220, #17529), the version kube-apiserver requires before serving consistent reads from its cache.
   */
  async hasReliableProgressNotify(): Promise<boolean> {
    const [major = 0, minor = 0, patch = 0] = (await this.serverVersion()).split('.').map((part) => Number.parseInt(part, 10));
    return major > 3 || (major === 3 && (minor > 5 || (minor === 5 && patch >= 13)));
  }

  async currentRevision(): Promise<number> {
    const res = await this.call('', () => this.client.kv.range({ key: Buffer.from('\0'), count_only: true }));
    return headerRevision(res.header);
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const res = await this.call(key, () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return kv ? toStored(kv) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const end = prefixEnd(prefix);
    const wanted = options.limit && options.limit > 0 ? options.limit : Infinity;
    let start = Buffer.from(options.startKey ?? prefix);
    let revision = options.revision ?? 0;
    const items: StoredValue[] = [];
    for (;;) {
      const pageLimit = Math.min(this.pageSize, wanted - items.length);
      const res = await this.call(prefix, () =>
        this.client.kv.range({ key: start, range_end: end, limit: pageLimit, revision: revision || undefined }),
      );
      // Later pages read the same snapshot as the first, so one list never mixes revisions.
      if (revision === 0) revision = headerRevision(res.header);
      for (const kv of res.kvs) items.push(toStored(kv));
      const count = Number(res.count);
      if (!res.more || res.kvs.length === 0) return { items, revision, more: false, remaining: 0 };
      if (items.length >= wanted) {
        return { items, revision, more: true, remaining: count - res.kvs.length };
      }
      start = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  }

  async create(key: string, value: Buffer): Promise<StoredValue> {
    const k = Buffer.from(key);
    const res = await this.call(key, () =>
      this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value } }],
        failure: [],
      }),
    );
    if (!res.succeeded) throw new StorageError('AlreadyExists', key, `key ${key} already exists`);
    const revision = headerRevision(res.header);
    return { key, value, modRevision: revision, createRevision: revision };
  }

  guaranteedUpdate(key: string, tryUpdate: TryUpdate, options: GuaranteedUpdateOptions = {}): Promise<StoredValue> {
    return guaranteedUpdateLoop(key, tryUpdate, options, (k) => this.get(k), async (current, next) => {
      const k = Buffer.from(key);
      const res = await this.call(key, () =>
        this.client.kv.txn({
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: current.modRevision }],
          success: [{ request_put: { key: k, value: next } }],
          failure: [{ request_range: { key: k } }],
        }),
      );
      if (res.succeeded) {
        return { stored: { key, value: next, modRevision: headerRevision(res.header), createRevision: current.createRevision } };
      }
      const kv = res.responses[0]?.response_range?.kvs[0];
      return { current: kv ? toStored(kv) : undefined };
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ deleted: StoredValue; revision: number }> {
    const k = Buffer.from(key);
    const res = await this.call(key, () =>
      this.client.kv.txn({
        compare:
          expectedModRevision === undefined
            ? [{ key: k, target: 'Create', result: 'Greater', create_revision: 0 }]
            : [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) {
      const exists = (res.responses[0]?.response_range?.kvs.length ?? 0) > 0;
      if (!exists) throw new StorageError('NotFound', key, `key ${key} not found`);
      throw new StorageError('Conflict', key, `key ${key} was modified`);
    }
    const prev = res.responses[0]?.response_delete_range?.prev_kvs[0];
    if (!prev) throw new StorageError('NotFound', key, `key ${key} not found`);
    return { deleted: toStored(prev), revision: headerRevision(res.header) };
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    const watch = new EtcdWatch(this.client, prefix, afterRevision, handlers, this.log, this.watchRetryInitialMs, () =>
      this.watches.delete(watch),
    );
    this.watches.add(watch);
    watch.start();
    return watch;
  }

  async compact(revision: number): Promise<void> {
    await this.call('', () => this.client.kv.compact({ revision, physical: true }));
  }

  async close(): Promise<void> {
    for (const watch of [...this.watches]) watch.close();
    this.client.close();
  }

  private async call<T>(key: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw toStorageError(error, key);
    }
  }
}

/**
 * One etcd watch on its own gRPC stream. On a broken stream it reconnects from the revision after the last event
 * it delivered (never from etcd's header revision, which can skip events still being caught up), with backoff.
 */
class EtcdWatch implements Watch {
  private lastDelivered: number;
  private stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
  private closed = false;
  private backoffMs: number;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    afterRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly log: Logger,
    private readonly retryInitialMs: number,
    private readonly onClosed: () => void,
  ) {
    this.lastDelivered = afterRevision;
    this.backoffMs = retryInitialMs;
  }

  start(): void {
    const attempt = ++this.attempt;
    this.client.watchClient
      .watch()
      .then((stream) => {
        if (this.closed || attempt !== this.attempt) {
          stream.cancel();
          return;
        }
        this.stream = stream;
        stream.on('data', (res: IWatchResponse) => {
          if (attempt === this.attempt) this.handle(res);
        });
        stream.on('error', (error: unknown) => {
          if (attempt === this.attempt) this.reconnect(error);
        });
        stream.on('end', () => {
          if (attempt === this.attempt) this.reconnect(new Error('watch stream ended'));
        });
        stream.write({
          create_request: {
            key: Buffer.from(this.prefix),
            range_end: prefixEnd(this.prefix),
            start_revision: this.lastDelivered + 1,
            prev_kv: true,
            progress_notify: true,
          },
        });
      })
      .catch((error: unknown) => this.reconnect(error));
  }

  requestProgress(): void {
    if (this.closed || !this.stream) return;
    try {
      this.stream.write({ progress_request: {} });
    } catch (error) {
      this.log.debug({ err: error }, 'progress request not sent');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.stream = undefined;
    this.onClosed();
  }

  private handle(res: IWatchResponse): void {
    if (this.closed) return;
    if (res.canceled) {
      const compactRevision = Number(res.compact_revision);
      if (compactRevision > 0) {
        this.fail(
          new StorageError('Gone', this.prefix, `watch from ${this.lastDelivered + 1} compacted at ${compactRevision}`, compactRevision),
        );
      } else {
        this.reconnect(new Error(`watch canceled: ${res.cancel_reason}`));
      }
      return;
    }
    this.backoffMs = this.retryInitialMs;
    if (res.created) return;
    if (res.events.length === 0) {
      const revision = headerRevision(res.header);
      if (revision > this.lastDelivered) this.handlers.onProgress(revision);
      return;
    }
    const events: StorageEvent[] = [];
    for (const event of res.events) {
      const kv = event.kv;
      const revision = Number(kv.mod_revision);
      if (revision <= this.lastDelivered) continue;
      const isPut = event.type === 'Put';
      events.push({
        type: isPut ? 'put' : 'delete',
        key: kv.key.toString(),
        value: isPut ? kv.value : undefined,
        prevValue: event.prev_kv ? event.prev_kv.value : undefined,
        revision,
        created: isPut && kv.create_revision === kv.mod_revision,
      });
    }
    if (events.length === 0) return;
    this.lastDelivered = events[events.length - 1]!.revision;
    this.handlers.onEvents(events);
  }

  private reconnect(error: unknown): void {
    if (this.closed) return;
    this.attempt++;
    this.stream?.cancel();
    this.stream = undefined;
    this.log.warn({ err: error, prefix: this.prefix, resumeFrom: this.lastDelivered + 1 }, 'etcd watch broken, resuming');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, Math.max(2_000, this.retryInitialMs));
  }

  private fail(error: StorageError): void {
    this.close();
    this.handlers.onError(error);
  }
}

function headerRevision(header: IResponseHeader): number {
  return Number(header.revision);
}

function toStored(kv: IKeyValue): StoredValue {
  return {
    key: kv.key.toString(),
    value: kv.value,
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
}

function toStorageError(error: unknown, key: string): StorageError {
  if (error instanceof StorageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/required revision is a future revision/.test(message)) {
    return new StorageError('FutureRevision', key, message, undefined, { cause: error });
  }
  if (error instanceof GRPCOutOfRangeError || /required revision has been compacted/.test(message)) {
    return new StorageError('Gone', key, message, undefined, { cause: error });
  }
  if (error instanceof GRPCDeadlineExceededError) return new StorageError('Timeout', key, message, undefined, { cause: error });
  if (error instanceof GRPCUnavailableError || /ECONNREFUSED|UNAVAILABLE|No connection established/i.test(message)) {
    return new StorageError('Unreachable', key, message, undefined, { cause: error });
  }
  return new StorageError('Internal', key, message, undefined, { cause: error });
}

