// The etcd backend on the `etcd3` client, made safe for an API server: no blind client-side retries of writes (a
// retried txn must not apply twice), paginated ranges at a fixed revision, and watches on raw gRPC streams that
// resume from the last *delivered* revision. With several members it rides out the loss of one: a member that
// cannot be reached is skipped for a while, and a call that failed on the way is tried again on another member
// (see call()).
import { Etcd3, GRPCCancelledError, GRPCDeadlineExceededError, GRPCOutOfRangeError, GRPCUnavailableError, type IOptions } from 'etcd3';
import type { IKeyValue, IResponseHeader, IWatchResponse } from 'etcd3/lib/rpc.js';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, isBrokenCircuitError, noop } from 'cockatiel';
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
  /** Deadline of one storage call, every attempt at it included. */
  requestTimeoutMs?: number;
  /**
   * With several members, the deadline of a first attempt, doubling with each next one: a request a follower
   * forwarded to a leader that then died is never answered (etcd gives up only after its own 7 s), so it is sent
   * again, to any member, after this. The doubling keeps an overloaded etcd from being sent every slow write
   * many times over.
   */
  attemptTimeoutMs?: number;
  /** With several members, how long a member that could not be reached is skipped before it is tried again. */
  memberRetryMs?: number;
  /** Client TLS: the CA that signed the members' certificates, and this client's certificate and key. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
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
  private readonly timeoutMs: number;
  /** Undefined with one member: there is nowhere else to send a call, so it fails as it is (and at once). */
  private readonly attemptTimeoutMs: number | undefined;

  constructor(options: EtcdStorageOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    const several = options.endpoints.length > 1;
    this.attemptTimeoutMs = several ? Math.min(options.attemptTimeoutMs ?? 1_000, this.timeoutMs) : undefined;
    const memberRetryMs = options.memberRetryMs ?? 1_000;
    const clientOptions: IOptions = {
      hosts: options.endpoints,
      dialTimeout: 3_000,
      grpcOptions: {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': 8 * 1024 * 1024,
        // gRPC's default reconnect backoff grows to 120 s: far too long to stay away from a restarted etcd.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2_000,
        // A member whose node vanished sends no reset: pings find a dead watch stream within 15 s (etcd accepts a
        // ping every 5 s, --grpc-keepalive-min-time).
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      ...(options.tls ? { credentials: { rootCertificate: options.tls.ca, certChain: options.tls.cert, privateKey: options.tls.key } } : {}),
      // etcd3's own retry would send a txn twice blindly, and its breaker (3 failures, 5 s open) would shut the one
      // member out for 5 s. With several members a member the client cannot reach is skipped (the pool moves on to
      // the next) from its first transport failure until a probe after memberRetryMs, doubling while it stays down.
      faultHandling: {
        global: noop,
        host: () =>
          several
            ? circuitBreaker(handleWhen(isTransportFailure), {
                halfOpenAfter: new ExponentialBackoff({ initialDelay: memberRetryMs, maxDelay: 30_000 }),
                breaker: new ConsecutiveBreaker(1),
              })
            : noop,
      },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
    };
    this.client = new Etcd3(clientOptions);
    this.pageSize = options.pageSize ?? 1000;
    this.watchRetryInitialMs = options.watchRetryInitialMs ?? 100;
    this.log = options.logger.child({ component: 'etcd-storage' });
  }

  /** etcd's server version, e.g. "3.6.16". */
  async serverVersion(): Promise<string> {
    const status = await this.call('', (o) => this.client.maintenance.status(o));
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
    const res = await this.call('', (o) => this.client.kv.range({ key: Buffer.from('\0'), count_only: true }, o));
    return headerRevision(res.header);
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const res = await this.call(key, (o) => this.client.kv.range({ key: Buffer.from(key) }, o));
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
      const res = await this.call(prefix, (o) =>
        this.client.kv.range({ key: start, range_end: end, limit: pageLimit, revision: revision || undefined }, o),
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
    let retried = false;
    const res = await this.call(key, (o, attempt) => {
      retried = attempt > 1;
      return this.client.kv.txn(
        {
          compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: k, value } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      );
    });
    if (!res.succeeded) {
      // A lost answer was retried: the key holding exactly these bytes (they carry the new object's uid) is the
      // first attempt's create having applied, not somebody else's object.
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (retried && kv?.value.equals(value)) return toStored(kv);
      throw new StorageError('AlreadyExists', key, `key ${key} already exists`);
    }
    const revision = headerRevision(res.header);
    return { key, value, modRevision: revision, createRevision: revision };
  }

  guaranteedUpdate(key: string, tryUpdate: TryUpdate, options: GuaranteedUpdateOptions = {}): Promise<StoredValue> {
    return guaranteedUpdateLoop(key, tryUpdate, options, (k) => this.get(k), async (current, next) => {
      const k = Buffer.from(key);
      let retried = false;
      const res = await this.call(key, (o, attempt) => {
        retried = attempt > 1;
        return this.client.kv.txn(
          {
            compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: current.modRevision }],
            success: [{ request_put: { key: k, value: next } }],
            failure: [{ request_range: { key: k } }],
          },
          o,
        );
      });
      if (res.succeeded) {
        return { stored: { key, value: next, modRevision: headerRevision(res.header), createRevision: current.createRevision } };
      }
      const kv = res.responses[0]?.response_range?.kvs[0];
      // The compare guards a retry from applying twice; finding our own bytes at a newer revision is the lost
      // answer's write having applied.
      if (retried && kv && kv.value.equals(next) && Number(kv.mod_revision) > current.modRevision) return { stored: toStored(kv) };
      return { current: kv ? toStored(kv) : undefined };
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ deleted: StoredValue; revision: number }> {
    const k = Buffer.from(key);
    let retried = false;
    const res = await this.call(key, (o, attempt) => {
      retried = attempt > 1;
      return this.client.kv.txn(
        {
          compare:
            expectedModRevision === undefined
              ? [{ key: k, target: 'Create', result: 'Greater', create_revision: 0 }]
              : [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
          success: [{ request_delete_range: { key: k, prev_kv: true } }],
          failure: [{ request_range: { key: k } }],
        },
        o,
      );
    });
    if (!res.succeeded) {
      const exists = (res.responses[0]?.response_range?.kvs.length ?? 0) > 0;
      // Gone after an attempt whose answer was lost: most likely that attempt deleted it, but what it deleted is
      // not known, so the caller is told to ask again rather than told the key never existed.
      if (!exists && retried) throw new StorageError('Timeout', key, `the outcome of deleting ${key} is unknown: its answer was lost`);
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
    let retried = false;
    try {
      await this.call('', (o, attempt) => {
        retried = attempt > 1;
        return this.client.kv.compact({ revision, physical: true }, o);
      });
    } catch (error) {
      // A compaction sent again finds the first attempt's done.
      if (retried && error instanceof StorageError && error.code === 'Gone') return;
      throw error;
    }
  }

  async close(): Promise<void> {
    for (const watch of [...this.watches]) watch.close();
    this.client.close();
  }

  /**
   * Runs one call; with several members, again (on whichever member the pool picks, never one it is skipping)
   * while it fails in a way another attempt can mend: a member unreachable or dead mid-call, no leader yet, a
   * leader change, or no answer within the attempt's deadline (attemptTimeoutMs, twice that after an attempt that
   * ran out of time, and so on). Every call here is safe to send twice: reads trivially, and each txn compares a
   * revision, so a second attempt after the first applied fails its compare and finds what the first wrote (the
   * callers check for that). The whole call stays within requestTimeoutMs.
   */
  private async call<T>(key: string, operation: (options: { deadline: number }, attempt: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    let pauseMs = 0;
    let timedOut = 0;
    for (let attempt = 1; ; attempt++) {
      const attemptDeadline =
        this.attemptTimeoutMs === undefined ? deadline : Math.min(deadline, Date.now() + this.attemptTimeoutMs * 2 ** Math.min(timedOut, 10));
      try {
        return await operation({ deadline: attemptDeadline }, attempt);
      } catch (error) {
        if (this.attemptTimeoutMs === undefined || !isRetriable(error) || Date.now() + pauseMs >= deadline) {
          throw toStorageError(error, key);
        }
        this.log.debug({ err: error, key, attempt }, 'etcd call failed; trying again');
        if (error instanceof GRPCDeadlineExceededError) timedOut++;
        // A member found unreachable is now skipped, so the next attempt goes elsewhere at once; anything else
        // (an election under way) is given time, up to half a second between attempts.
        pauseMs = isTransportFailure(error) ? 0 : Math.min(Math.max(pauseMs * 2, 50), 500);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
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

/** The member could not be reached, or went away mid-call: nothing it says, so nothing about the cluster. */
function isTransportFailure(error: unknown): boolean {
  return error instanceof GRPCUnavailableError && !error.message.includes('etcdserver:');
}

/** Failures another attempt can mend; never an answer etcd gave about the data (compacted, future revision…). */
function isRetriable(error: unknown): boolean {
  // Cancelled: this client cancels no unary call, but etcd3 closes a member's channels after a failure on it, and
  // calls on them end so.
  if (error instanceof GRPCUnavailableError || error instanceof GRPCDeadlineExceededError || error instanceof GRPCCancelledError) return true;
  if (isBrokenCircuitError(error)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /etcdserver: (too many requests|leader changed|no leader|request timed out)|raft proposal dropped/.test(message);
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
  if (error instanceof GRPCUnavailableError || isBrokenCircuitError(error) || /ECONNREFUSED|UNAVAILABLE|No connection established/i.test(message)) {
    return new StorageError('Unreachable', key, message, undefined, { cause: error });
  }
  return new StorageError('Internal', key, message, undefined, { cause: error });
}

