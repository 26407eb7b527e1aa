// The read–modify–compare-and-swap loop every backend's guaranteedUpdate shares (k8s.io/apiserver's
// GuaranteedUpdate): the backend supplies the read and the swap.
import { skipUpdate, StorageError, type GuaranteedUpdateOptions, type StoredValue, type TryUpdate } from './interface.js';

export interface SwapOutcome {
  /** The value written, when the swap won. */
  stored?: StoredValue;
  /** The value the swap found instead (undefined: the key is gone), when it lost. */
  current?: StoredValue;
}

export async function guaranteedUpdateLoop(
  key: string,
  tryUpdate: TryUpdate,
  options: GuaranteedUpdateOptions,
  read: (key: string) => Promise<StoredValue | undefined>,
  /** Writes `next` if `key` is still at `current.modRevision`. */
  swap: (current: StoredValue, next: Buffer) => Promise<SwapOutcome>,
): Promise<StoredValue> {
  let current = options.suggestion ?? (await read(key));
  let fromSuggestion = options.suggestion !== undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    if (!current) throw new StorageError('NotFound', key, `key ${key} not found`);
    let next: Buffer | typeof skipUpdate;
    try {
      next = await tryUpdate(current);
    } catch (error) {
      // A suggestion from the cache may be stale: judge the real current value before failing the caller.
      if (fromSuggestion) {
        fromSuggestion = false;
        const fresh = await read(key);
        if (!fresh || fresh.modRevision !== current.modRevision) {
          current = fresh;
          continue;
        }
      }
      throw error;
    }
    if (next === skipUpdate || next.equals(current.value)) {
      if (!fromSuggestion) return current;
      // An unchanged result proves nothing if the suggestion was stale; confirm against the store.
      fromSuggestion = false;
      const fresh = await read(key);
      if (fresh && fresh.modRevision === current.modRevision) return current;
      current = fresh;
      continue;
    }
    fromSuggestion = false;
    const outcome = await swap(current, next);
    if (outcome.stored) return outcome.stored;
    current = outcome.current;
  }
}
