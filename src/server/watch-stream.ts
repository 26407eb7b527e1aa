// Streams a watch: 200, chunked (or one HTTP/2 stream), one JSON event per line, flushed per event. Ends on
// timeoutSeconds, on client disconnect or stream reset, on server shutdown (cleanly, with the chunked terminator or
// END_STREAM), or after an ERROR event. A client that does not read is not buffered for: the watcher's bounded
// queue ends it, as kube-apiserver ends slow watchers.
import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Status } from '../api/meta/types.js';
import type { CacheEventType, CacheWatcher, WatcherEvent } from '../storage/watch-cache.js';
import { apiErrors } from '../api/meta/errors.js';
import { encodeWatchEvent, type EncodeContext } from './encoders.js';
import { contentTypes } from './negotiation.js';
import { withHttp1Headers } from './http-protocol.js';

export interface WatchStreamOptions {
  timeoutSeconds?: number;
  /** Aborted when the server shuts down: every watch ends cleanly. */
  shutdown: AbortSignal;
  onOpen(): void;
  onClose(): void;
}

function startStream(request: FastifyRequest, reply: FastifyReply, ctx: EncodeContext): NodeJS.WritableStream & FastifyReply['raw'] {
  reply.hijack();
  const res = reply.raw;
  const headers = { 'Content-Type': contentTypes[ctx.representation], 'Cache-Control': 'no-cache, private', 'Audit-Id': String(request.id) };
  res.writeHead(200, withHttp1Headers(request.raw, headers, {
    'Transfer-Encoding': 'chunked',
    // A watch's connection is not kept for another request: when a shutdown ends the stream, kube-apiserver's proxy
    // would otherwise put the connection back in its pool and may send its next request (a create, which it cannot
    // resend) into a server about to close it. A watch lasts minutes; one more handshake after it costs nothing.
    // (An HTTP/2 watch is one stream: its end leaves the connection's other streams alone.)
    Connection: 'close',
  }));
  // Without this, headers wait for the first event and clients that wait for headers hang.
  res.flushHeaders();
  return res;
}

const minRequestTimeoutSeconds = 1800;
// setTimeout fires at once for anything above 2^31-1 ms (about 24.8 days): longer waits are chained.
const maxTimerMs = 2 ** 31 - 1;

/** Calls `fn` after `ms` (Infinity: never); returns the cancel function. */
export function longTimeout(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const deadline = performance.now() + ms;
  const arm = (): void => {
    const left = deadline - performance.now();
    if (left <= maxTimerMs) timer = setTimeout(fn, Math.max(0, left));
    else timer = setTimeout(arm, maxTimerMs);
  };
  if (Number.isFinite(ms)) arm();
  return () => clearTimeout(timer);
}

function errorLine(status: Status): string {
  return `{"type":"ERROR","object":${JSON.stringify(status)}}\n`;
}

/**
 * An event's JSON line, encoded and turned into bytes once for every watcher the watch cache hands the same event
 * object (see sharedEvent there), then written as the same Buffer to each of their streams.
 */
function jsonLine(ctx: EncodeContext, event: WatcherEvent & { type: CacheEventType }): Buffer {
  return (event.jsonLine ??= Buffer.from(encodeWatchEvent(ctx, event, false)));
}

/** A watch that can only report an error (too old a resourceVersion): 200, one ERROR event, end, as kube does. */
export function streamError(request: FastifyRequest, reply: FastifyReply, ctx: EncodeContext, status: Status): void {
  const res = startStream(request, reply, ctx);
  res.end(errorLine(status));
}

export async function streamWatch(
  request: FastifyRequest,
  reply: FastifyReply,
  watcher: CacheWatcher,
  ctx: EncodeContext,
  options: WatchStreamOptions,
): Promise<void> {
  const res = startStream(request, reply, ctx);
  const done = new AbortController();
  let stopped = false;
  // Ending the watcher wakes a stream waiting for its next event, with no listener to add and remove per wait.
  const stop = (): void => {
    stopped = true;
    done.abort();
    watcher.end();
  };
  // Kube's default for an absent or zero timeoutSeconds: between --min-request-timeout (1800 s) and twice that,
  // at random, so watches do not all renew at once. Other values are honoured, however large.
  const timeoutSeconds = options.timeoutSeconds || minRequestTimeoutSeconds * (1 + Math.random());
  const cancelTimer = longTimeout(stop, timeoutSeconds * 1000);
  res.on('close', stop);
  options.shutdown.addEventListener('abort', stop, { once: true });
  options.onOpen();
  let first = true;
  try {
    for (;;) {
      // What is queued is written without a promise's round trip per event; only an empty queue is waited on.
      const event = watcher.take() ?? (await watcher.next());
      if (!event) break;
      let line: string | Buffer;
      if (event.type === 'ERROR') {
        line = errorLine(apiErrors.resourceExpired(event.error.message).status);
      } else if (event.type !== 'BOOKMARK' && ctx.representation === 'json') {
        line = jsonLine(ctx, event);
      } else {
        line = encodeWatchEvent(ctx, event, first);
        if (event.type !== 'BOOKMARK') first = false;
      }
      if (!res.write(line)) {
        await Promise.race([once(res, 'drain'), once(done.signal, 'abort')]);
      }
      if (event.type === 'ERROR' || stopped) break;
    }
  } catch (error) {
    request.log.warn({ err: error }, 'watch stream failed');
  } finally {
    cancelTimer();
    options.shutdown.removeEventListener('abort', stop);
    watcher.end();
    options.onClose();
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}
