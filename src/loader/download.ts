// One object into the claim, resumably: bytes go to the file's hidden partial name; an interrupted attempt keeps them
// and the next asks only for the rest, on condition that the object is unchanged (its ETag or Last-Modified, kept
// beside the partial file, so a retried pod resumes too). The size is checked against what the source announced
// before the file is committed under its own name.
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Committed, Destination } from './destination.js';
import { LoadError, isTransient, oneLine } from './errors.js';

export interface Opened {
  /** Offset of the body's first byte: 0 when the source sends the whole object, the offset asked for when it resumes. */
  start: number;
  /** The whole object's size when the source announces it (Content-Length of a whole answer, a range's total). */
  total?: number;
  /** What a later resume is conditioned on (a strong ETag or a Last-Modified date); without one nothing resumes. */
  validator?: string;
  etag?: string;
  body: Readable;
}

/**
 * Asks the source for the object from offset on, conditioned on validator when resuming. Returns 'complete' when
 * the source says there is nothing after offset (HTTP 416 for a range that starts at the end). Throws a LoadError
 * for refusals (permanent) and server errors (transient); network errors pass through and are retried.
 */
export type Open = (offset: number, validator: string | undefined, signal: AbortSignal) => Promise<Opened | 'complete'>;

export interface DownloadOptions {
  /** Failed attempts before giving up; an attempt that added bytes to the file counts as the first of a new series. */
  attempts: number;
  /** The first retry's delay; each further one doubles it, up to 30 s. */
  backoffMs: number;
  signal: AbortSignal;
  log: Logger;
  /** Called with each chunk's length as it is written. */
  progress?: (bytes: number) => void;
}

export interface Wanted {
  /** The file's path inside the dataset, '/'-separated. */
  path: string;
  /** Where it comes from, to tell a partial file of this object from one of another. */
  source: string;
  /** The size a listing announced, checked once the file is complete. */
  size?: number;
}

export async function download(destination: Destination, wanted: Wanted, openObject: Open, options: DownloadOptions): Promise<Committed> {
  const { partial, state } = destination.partialOf(wanted.path);
  await mkdir(dirname(partial), { recursive: true });
  const { log, signal } = options;
  let failures = 0;
  let etag: string | undefined;
  let announced: number | undefined;
  let have = 0;
  for (;;) {
    const previous = await destination.readPartialState(state);
    have = previous?.source === wanted.source && previous.validator ? await sizeOf(partial) : 0;
    const before = have;
    let receiving = false;
    try {
      const opened = await openObject(have, have > 0 ? previous?.validator : undefined, signal);
      if (opened === 'complete') {
        if (previous?.total !== have) throw new LoadError(`the source has no bytes after ${have}, short of the ${previous?.total ?? 'unknown'} it announced`, false);
      } else {
        if (opened.start !== 0 && opened.start !== have) throw new LoadError(`asked for bytes from ${have}, got bytes from ${opened.start}`, false);
        if (opened.start === 0 && have > 0) log.info({ path: wanted.path, kept: have }, 'the object changed or cannot be resumed: starting it again');
        if (opened.start > 0) log.info({ path: wanted.path, from: have, total: opened.total }, 'resuming');
        etag = opened.etag;
        announced = opened.total;
        await destination.writePartialState(state, { source: wanted.source, validator: opened.validator, total: opened.total });
        // Each chunk is written before the next is read (backpressure), and a body that fails midway leaves every
        // byte received before the failure in the partial file for the next attempt.
        const file = await open(partial, opened.start === 0 ? 'w' : 'a');
        receiving = true;
        try {
          for await (const chunk of opened.body as AsyncIterable<Buffer>) {
            signal.throwIfAborted();
            await file.write(chunk);
            options.progress?.(chunk.length);
          }
        } finally {
          await file.close();
          have = await sizeOf(partial);
        }
        if (opened.total !== undefined && have !== opened.total) {
          if (have > opened.total) await rm(partial, { force: true });
          throw new LoadError(`size mismatch: ${have} bytes received of the ${opened.total} announced`, false);
        }
      }
      if (wanted.size !== undefined && have !== wanted.size) {
        await rm(partial, { force: true });
        throw new LoadError(`size mismatch: ${have} bytes received, the listing announced ${wanted.size}`, false);
      }
      break;
    } catch (error) {
      if (signal.aborted) throw error;
      if (!isTransient(error)) throw error;
      failures = have > before ? 1 : failures + 1;
      const reason = receiving && prematureEnd(error) ? `size mismatch: the connection ended after ${have} bytes of ${announced ?? 'an unannounced size'}` : oneLine(error);
      if (failures >= options.attempts) throw new LoadError(`${reason}; gave up after ${failures} attempt${failures === 1 ? '' : 's'}`, false);
      const delay = Math.min(30_000, options.backoffMs * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
      log.warn({ path: wanted.path, bytes: have, attempt: failures, retryInMs: Math.round(delay), err: reason }, 'download interrupted');
      await sleep(delay, undefined, { signal });
    }
  }
  const committed: Committed = { path: wanted.path, source: wanted.source, bytes: have, ...(etag ? { etag } : {}) };
  await destination.commit(wanted.path, committed);
  return committed;
}

/** Node's words for a body that ended before its Content-Length. */
function prematureEnd(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.message === 'aborted';
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
