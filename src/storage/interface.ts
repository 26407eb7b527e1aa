// The storage contract every backend implements (etcd now, an embedded one later), modelled on
// k8s.io/apiserver/pkg/storage.Interface. Values are opaque bytes; revisions are the backend's global,
// strictly increasing write counter (etcd's revision), which the registry exposes as resourceVersion.

export interface StoredValue {
  key: string;
  value: Buffer;
  /** The revision of the write that produced this value: the object's resourceVersion. */
  modRevision: number;
  createRevision: number;
}

export interface ListOptions {
  /** Read at this revision (a snapshot); the latest when absent. Compacted → StorageError 'Gone'. */
  revision?: number;
  /** Most items to return; all when absent or 0. */
  limit?: number;
  /** First key to return (inclusive), for continuing a paginated read. */
  startKey?: string;
}

export interface ListResult {
  items: StoredValue[];
  /** The revision the read was served at; equal to options.revision when one was given. */
  revision: number;
  /** True when keys remain after the last returned item. */
  more: boolean;
  /** How many keys remain after the last returned item, when the backend knows cheaply. */
  remaining?: number;
}

export interface StorageEvent {
  type: 'put' | 'delete';
  key: string;
  /** The value after a put; absent for a delete. */
  value?: Buffer;
  /** The value before the event: the deleted object for a delete, the previous one for an update. */
  prevValue?: Buffer;
  /** The revision of this event. */
  revision: number;
  /** For a put: true when the key did not exist before (create_revision === mod_revision). */
  created: boolean;
}

export interface WatchHandlers {
  /** Events in revision order, never repeated, never skipped. */
  onEvents(events: StorageEvent[]): void;
  /** Every event up to `revision` has been delivered (etcd progress notification). */
  onProgress(revision: number): void;
  /** The watch ended for good: 'Gone' when history was compacted past the resume point. Not called after close(). */
  onError(error: StorageError): void;
}

export interface Watch {
  /** Ask the backend to confirm progress; answered through onProgress. */
  requestProgress(): void;
  close(): void;
}

/**
 * tryUpdate receives the current value and returns the next one, or `skipUpdate` to leave the object as it is.
 * It may throw to abort (a failed precondition, a validation error); it may run several times and must be pure.
 */
export type TryUpdate = (current: StoredValue) => Buffer | typeof skipUpdate | Promise<Buffer | typeof skipUpdate>;
export const skipUpdate: unique symbol = Symbol('skipUpdate');

export interface GuaranteedUpdateOptions {
  /** A value believed current (from the watch cache) to try first, saving a read; a stale one costs one retry. */
  suggestion?: StoredValue;
  signal?: AbortSignal;
}

export interface Storage {
  /** The backend's current revision, read linearizably. */
  currentRevision(): Promise<number>;
  get(key: string): Promise<StoredValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Writes `value` only if `key` does not exist; 'AlreadyExists' otherwise. */
  create(key: string, value: Buffer): Promise<StoredValue>;
  /**
   * Read, apply tryUpdate, compare-and-swap on modRevision; on a lost race re-read and try again. 'NotFound' when
   * the key does not exist. Returns the stored value (the current one, unchanged, when tryUpdate skipped).
   */
  guaranteedUpdate(key: string, tryUpdate: TryUpdate, options?: GuaranteedUpdateOptions): Promise<StoredValue>;
  /**
   * Deletes `key` if its modRevision is `expectedModRevision` (any when absent): 'Conflict' when it changed,
   * 'NotFound' when it is gone. Returns the deleted value and the revision of the delete.
   */
  delete(key: string, expectedModRevision?: number): Promise<{ deleted: StoredValue; revision: number }>;
  /** Events for keys under `prefix` with revision > afterRevision. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watch;
  /** Discards history before `revision` (a maintenance and test operation). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type StorageErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'FutureRevision'
  | 'Unreachable'
  | 'Timeout'
  | 'Internal';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    readonly key: string,
    message: string,
    /** For 'Gone': the oldest revision still available, when known. */
    readonly compactRevision?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/**
 * A read at a revision its source has not reached: the watch cache did not get there in time, or the backend has not
 * written it yet. kube-apiserver answers it as "Too large resource version", which clients retry.
 */
export class TooLargeRevisionError extends Error {
  constructor(
    readonly wanted: number,
    readonly current: number,
  ) {
    super(`Too large resource version: ${wanted}, current: ${current}`);
    this.name = 'TooLargeRevisionError';
  }
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
