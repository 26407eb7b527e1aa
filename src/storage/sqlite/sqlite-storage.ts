// The embedded backend: etcd's data model in one SQLite file, so a single replica runs with nothing else installed.
// Every write appends a row to a revision log (one counter shared by all keys, as etcd's revision); `live` points
// at each existing key's newest row. Writes queued in the same turn of the event loop commit in one transaction
// (group commit: one fsync for the lot), each checked and applied in order, so compare-and-swap holds exactly as
// in an etcd txn. Watches replay the log from their revision, then receive each commit's events as it lands.
// The file is opened with an exclusive lock: a second process on the same file is refused.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { guaranteedUpdateLoop, type SwapOutcome } from '../guaranteed-update.js';
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

export interface SqliteStorageOptions {
  path: string;
  logger: Logger;
  /**
   * How often history is compacted, each time up to the revision current at the previous run, so at least one
   * interval of history stays for watches to resume from (kube-apiserver compacts etcd every 5 minutes). 0: never.
   */
  compactIntervalMs?: number;
  /** Log rows read per step when a watch replays history (the event loop runs between steps). */
  replayBatchSize?: number;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  rev        INTEGER PRIMARY KEY,
  key        BLOB    NOT NULL,
  create_rev INTEGER NOT NULL,
  prev_rev   INTEGER,
  deleted    INTEGER NOT NULL,
  value      BLOB
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS live (
  key        BLOB    PRIMARY KEY,
  rev        INTEGER NOT NULL,
  create_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
`;

interface LogRow {
  rev: number;
  key: Buffer;
  create_rev: number;
  deleted: number;
  value: Buffer | null;
  prev_value: Buffer | null;
}

interface ValueRow {
  key: Buffer;
  rev: number;
  create_rev: number;
  value: Buffer;
}

function prepareStatements(db: Database.Database) {
  const valueColumns = 'live.key AS key, live.rev AS rev, live.create_rev AS create_rev, log.value AS value';
  return {
    meta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare('UPDATE meta SET value = ? WHERE name = ?'),
    getLive: db.prepare(`SELECT ${valueColumns} FROM live JOIN log ON log.rev = live.rev WHERE live.key = ?`),
    rangeLive: db.prepare(
      `SELECT ${valueColumns} FROM live JOIN log ON log.rev = live.rev WHERE live.key >= ? AND live.key < ? ORDER BY live.key LIMIT ?`,
    ),
    countLive: db.prepare('SELECT COUNT(*) FROM live WHERE live.key > ? AND live.key < ?').pluck(),
    // The newest row of each key at or below the snapshot revision, unless that row is a delete.
    rangeAt: db.prepare(
      `SELECT l.key AS key, l.rev AS rev, l.create_rev AS create_rev, l.value AS value FROM log l
       WHERE l.key >= @start AND l.key < @end AND l.rev <= @rev AND l.deleted = 0
         AND NOT EXISTS (SELECT 1 FROM log n WHERE n.key = l.key AND n.rev > l.rev AND n.rev <= @rev)
       ORDER BY l.key LIMIT @limit`,
    ),
    countAt: db
      .prepare(
        `SELECT COUNT(*) FROM log l
         WHERE l.key > @after AND l.key < @end AND l.rev <= @rev AND l.deleted = 0
           AND NOT EXISTS (SELECT 1 FROM log n WHERE n.key = l.key AND n.rev > l.rev AND n.rev <= @rev)`,
      )
      .pluck(),
    append: db.prepare('INSERT INTO log (rev, key, create_rev, prev_rev, deleted, value) VALUES (?, ?, ?, ?, ?, ?)'),
    putLive: db.prepare('INSERT OR REPLACE INTO live (key, rev, create_rev) VALUES (?, ?, ?)'),
    deleteLive: db.prepare('DELETE FROM live WHERE key = ?'),
    replay: db.prepare(
      `SELECT l.rev AS rev, l.key AS key, l.create_rev AS create_rev, l.deleted AS deleted, l.value AS value,
              p.value AS prev_value
       FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
       WHERE l.rev > ? AND l.key >= ? AND l.key < ? ORDER BY l.rev LIMIT ?`,
    ),
    // Compaction keeps, for every key, its newest row at or below the compacted revision (the snapshot there),
    // and every later row with the row it replaced (a later event's prevValue); deletes at or below it go.
    compactSuperseded: db.prepare(
      'DELETE FROM log WHERE rev <= @rev AND EXISTS (SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= @rev)',
    ),
    compactDeletes: db.prepare('DELETE FROM log WHERE rev <= @rev AND deleted = 1'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** One queued write: runs inside the batch transaction; a StorageError it throws fails only this write. */
interface PendingWrite {
  apply(): unknown;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

export class SqliteStorage implements Storage {
  private readonly db: Database.Database;
  private readonly log: Logger;
  private readonly statements: Statements;
  private readonly watches = new Set<SqliteWatch>();
  private readonly replayBatchSize: number;
  private revision: number;
  private compactedRevision: number;
  private queue: PendingWrite[] = [];
  private flushScheduled = false;
  private batchEvents: StorageEvent[] = [];
  private compactTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: SqliteStorageOptions) {
    this.log = options.logger.child({ component: 'sqlite-storage' });
    this.replayBatchSize = options.replayBatchSize ?? 1000;
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: 0 });
    try {
      // Exclusive before WAL: the lock is held for the life of the connection and WAL needs no shared memory,
      // so no other process can read a half-known state or write beside us.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      // FULL: the WAL is fsynced at every commit, so an acknowledged write survives a crash of the machine too.
      this.db.pragma('synchronous = FULL');
      this.db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      this.db.close();
      if (error instanceof Database.SqliteError && /BUSY|LOCKED/.test(error.code)) {
        throw new StorageError(
          'Unreachable',
          '',
          `${options.path} is in use by another ai-apiserver process. The embedded SQLite store serves exactly one ` +
            'replica; to run several replicas, store objects in etcd with --etcd-servers',
          undefined,
          { cause: error },
        );
      }
      throw error;
    }
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new StorageError('Internal', '', `${options.path} has storage schema ${version}; this server knows up to ${SCHEMA_VERSION}`);
    }
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.statements = prepareStatements(this.db);
    this.revision = this.statements.meta.get('revision') as number;
    this.compactedRevision = this.statements.meta.get('compacted') as number;
    const interval = options.compactIntervalMs ?? 5 * 60_000;
    if (interval > 0) this.scheduleCompaction(interval, this.revision);
    this.log.info({ path: options.path, revision: this.revision, compacted: this.compactedRevision }, 'sqlite storage open');
  }

  async currentRevision(): Promise<number> {
    this.assertOpen('');
    return this.revision;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.assertOpen(key);
    const row = this.statements.getLive.get(Buffer.from(key)) as ValueRow | undefined;
    return row ? toStored(row) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.assertOpen(prefix);
    const revision = options.revision ?? this.revision;
    if (revision < this.compactedRevision) {
      throw new StorageError('Gone', prefix, `required revision ${revision} has been compacted`, this.compactedRevision);
    }
    if (revision > this.revision) {
      throw new StorageError('FutureRevision', prefix, `required revision ${revision} is a future revision (current ${this.revision})`);
    }
    const start = Buffer.from(options.startKey ?? prefix);
    const end = prefixEnd(prefix);
    const limit = options.limit && options.limit > 0 ? options.limit : -1;
    // One row past the limit tells whether more remain without counting them.
    const fetch = limit > 0 ? limit + 1 : -1;
    const latest = revision === this.revision;
    const rows = (
      latest
        ? this.statements.rangeLive.all(start, end, fetch)
        : this.statements.rangeAt.all({ start, end, rev: revision, limit: fetch })
    ) as ValueRow[];
    if (limit < 0 || rows.length <= limit) return { items: rows.map(toStored), revision, more: false, remaining: 0 };
    const items = rows.slice(0, limit).map(toStored);
    const last = rows[limit - 1]!.key;
    const remaining = (
      latest ? this.statements.countLive.get(last, end) : this.statements.countAt.get({ after: last, end, rev: revision })
    ) as number;
    return { items, revision, more: true, remaining };
  }

  create(key: string, value: Buffer): Promise<StoredValue> {
    const k = Buffer.from(key);
    return this.enqueue(key, () => {
      if (this.statements.getLive.get(k)) throw new StorageError('AlreadyExists', key, `key ${key} already exists`);
      const revision = this.write(k, key, value, undefined);
      return { key, value, modRevision: revision, createRevision: revision };
    });
  }

  guaranteedUpdate(key: string, tryUpdate: TryUpdate, options: GuaranteedUpdateOptions = {}): Promise<StoredValue> {
    return guaranteedUpdateLoop(key, tryUpdate, options, (k) => this.get(k), (current, next) =>
      this.enqueue(key, (): SwapOutcome => {
        const k = Buffer.from(key);
        const row = this.statements.getLive.get(k) as ValueRow | undefined;
        if (!row || row.rev !== current.modRevision) return { current: row ? toStored(row) : undefined };
        const revision = this.write(k, key, next, row);
        return { stored: { key, value: next, modRevision: revision, createRevision: row.create_rev } };
      }),
    );
  }

  delete(key: string, expectedModRevision?: number): Promise<{ deleted: StoredValue; revision: number }> {
    const k = Buffer.from(key);
    return this.enqueue(key, () => {
      const row = this.statements.getLive.get(k) as ValueRow | undefined;
      if (!row) throw new StorageError('NotFound', key, `key ${key} not found`);
      if (expectedModRevision !== undefined && row.rev !== expectedModRevision) {
        throw new StorageError('Conflict', key, `key ${key} was modified`);
      }
      const revision = this.write(k, key, undefined, row);
      return { deleted: toStored(row), revision };
    });
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch {
    const watch = new SqliteWatch(this, prefix, afterRevision, handlers, this.log);
    setImmediate(() => watch.replay(this.replayBatchSize));
    return watch;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen('');
    if (revision > this.revision) {
      throw new StorageError('FutureRevision', '', `compaction revision ${revision} is a future revision (current ${this.revision})`);
    }
    if (revision <= this.compactedRevision) return;
    const started = performance.now();
    const removed = this.db.transaction(() => {
      const superseded = this.statements.compactSuperseded.run({ rev: revision }).changes;
      const deletes = this.statements.compactDeletes.run({ rev: revision }).changes;
      this.statements.setMeta.run(revision, 'compacted');
      return superseded + deletes;
    })();
    this.compactedRevision = revision;
    this.log.debug({ revision, removed, ms: Math.round(performance.now() - started) }, 'compacted');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.compactTimer);
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    for (const watch of [...this.watches]) watch.close();
    this.db.close();
  }

  /** The oldest revision a watch may resume after. */
  get compacted(): number {
    return this.compactedRevision;
  }

  get current(): number {
    return this.revision;
  }

  /** Rows after `afterRevision` under the range, in revision order (a watch's replay). */
  readLog(afterRevision: number, start: Buffer, end: Buffer, limit: number): StorageEvent[] {
    return (this.statements.replay.all(afterRevision, start, end, limit) as LogRow[]).map((row) => ({
      type: row.deleted ? 'delete' : 'put',
      key: row.key.toString(),
      value: row.deleted ? undefined : row.value!,
      prevValue: row.prev_value ?? undefined,
      revision: row.rev,
      created: !row.deleted && row.create_rev === row.rev,
    }));
  }

  /** A watch that has replayed the log receives each later commit's events from here on. */
  follow(watch: SqliteWatch): void {
    this.watches.add(watch);
  }

  unfollow(watch: SqliteWatch): void {
    this.watches.delete(watch);
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Appends one row for `key` (a put when `value` is given, else a delete) and moves the revision on. */
  private write(k: Buffer, key: string, value: Buffer | undefined, previous: ValueRow | undefined): number {
    const revision = ++this.revision;
    const createRevision = value === undefined ? previous!.create_rev : (previous?.create_rev ?? revision);
    this.statements.append.run(revision, k, createRevision, previous?.rev ?? null, value === undefined ? 1 : 0, value ?? null);
    if (value === undefined) this.statements.deleteLive.run(k);
    else this.statements.putLive.run(k, revision, createRevision);
    this.batchEvents.push({
      type: value === undefined ? 'delete' : 'put',
      key,
      value,
      prevValue: previous?.value,
      revision,
      created: value !== undefined && previous === undefined,
    });
    return revision;
  }

  private enqueue<T>(key: string, apply: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StorageError('Unreachable', key, 'sqlite storage is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ apply, resolve: resolve as (result: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every queued write in one transaction, then answers them and tells the watches. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const startRevision = this.revision;
    const outcomes: Array<{ ok: true; result: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const write of batch) {
          try {
            outcomes.push({ ok: true, result: write.apply() });
          } catch (error) {
            // A refused write (exists, conflict, missing) checks before it writes, so the batch goes on without it.
            if (!(error instanceof StorageError)) throw error;
            outcomes.push({ ok: false, error });
          }
        }
        if (this.revision !== startRevision) this.statements.setMeta.run(this.revision, 'revision');
      })();
    } catch (error) {
      this.revision = startRevision;
      this.batchEvents = [];
      const failure = new StorageError('Internal', '', `sqlite write failed: ${(error as Error).message}`, undefined, { cause: error });
      this.log.error({ err: error, writes: batch.length }, 'sqlite transaction rolled back');
      for (const write of batch) write.reject(failure);
      return;
    }
    const events = this.batchEvents;
    this.batchEvents = [];
    if (events.length > 0) for (const watch of this.watches) watch.deliver(events);
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.result);
      else write.reject(outcome.error);
    });
  }

  private scheduleCompaction(intervalMs: number, target: number): void {
    this.compactTimer = setTimeout(() => {
      const next = this.revision;
      this.compact(target).catch((error: unknown) => this.log.error({ err: error, revision: target }, 'compaction failed'));
      if (!this.closed) this.scheduleCompaction(intervalMs, next);
    }, intervalMs);
    this.compactTimer.unref();
  }

  private assertOpen(key: string): void {
    if (this.closed) throw new StorageError('Unreachable', key, 'sqlite storage is closed');
  }
}

/**
 * One watch: replays the log after its revision in steps, then — in the same synchronous step that found the end
 * of the log — joins the storage's followers, so no commit can fall between replay and live delivery.
 */
class SqliteWatch implements Watch {
  private lastDelivered: number;
  private following = false;
  private progressWanted = false;
  private closed = false;
  private readonly start: Buffer;
  private readonly end: Buffer;

  constructor(
    private readonly storage: SqliteStorage,
    private readonly prefix: string,
    afterRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly log: Logger,
  ) {
    this.lastDelivered = afterRevision;
    this.start = Buffer.from(prefix);
    this.end = prefixEnd(prefix);
  }

  replay(batchSize: number): void {
    if (this.closed || this.storage.isClosed()) return;
    if (this.lastDelivered < this.storage.compacted) {
      this.close();
      this.handlers.onError(
        new StorageError(
          'Gone',
          this.prefix,
          `watch from ${this.lastDelivered + 1} compacted at ${this.storage.compacted}`,
          this.storage.compacted,
        ),
      );
      return;
    }
    let events: StorageEvent[];
    try {
      events = this.storage.readLog(this.lastDelivered, this.start, this.end, batchSize);
    } catch (error) {
      this.close();
      this.handlers.onError(new StorageError('Internal', this.prefix, `watch replay failed: ${(error as Error).message}`, undefined, { cause: error }));
      return;
    }
    if (events.length > 0) this.emit(events);
    if (this.closed) return;
    if (events.length === batchSize) {
      setImmediate(() => this.replay(batchSize));
      return;
    }
    this.following = true;
    this.storage.follow(this);
    if (this.progressWanted) this.requestProgress();
  }

  deliver(events: StorageEvent[]): void {
    const mine = events.filter((event) => event.revision > this.lastDelivered && event.key.startsWith(this.prefix));
    if (mine.length > 0) this.emit(mine);
  }

  requestProgress(): void {
    if (this.closed) return;
    if (!this.following) {
      this.progressWanted = true;
      return;
    }
    this.progressWanted = false;
    // Every commit so far reached this watch synchronously when it landed, so the current revision is covered.
    setImmediate(() => {
      if (!this.closed) this.handlers.onProgress(this.storage.current);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.storage.unfollow(this);
  }

  private emit(events: StorageEvent[]): void {
    this.lastDelivered = events[events.length - 1]!.revision;
    try {
      this.handlers.onEvents(events);
    } catch (error) {
      this.log.error({ err: error, prefix: this.prefix }, 'watch handler failed');
    }
  }
}

function toStored(row: ValueRow): StoredValue {
  return { key: row.key.toString(), value: row.value, modRevision: row.rev, createRevision: row.create_rev };
}
