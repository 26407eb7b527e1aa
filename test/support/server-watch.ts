// A watch on the server process read as a client reads it: one JSON event a line, handed over as each line
// completes, until the connection ends, fails or is closed; for suites that follow a watch across a crash or a fault.
import { request } from 'node:https';
import type { ServerProcess } from './server.js';

export interface WatchLine {
  type: string;
  /** The object, or a metav1 Status for an ERROR event. */
  object: { metadata: { namespace?: string; name: string; resourceVersion: string; labels?: Record<string, string> }; code?: number };
}

/**
 * Opens `pathAndQuery` (a watch) on `server` with its token. `onEvent` gets every line, BOOKMARK and ERROR too;
 * `onEnd` is told once why the stream stopped: it ended, it failed, or the request failed.
 */
export function watchServer(server: ServerProcess, pathAndQuery: string, onEvent: (event: WatchLine) => void, onEnd: (why: string) => void): { close(): void } {
  let told = false;
  const end = (why: string): void => {
    if (told) return;
    told = true;
    onEnd(why);
  };
  const req = request(`${server.url}${pathAndQuery}`, { rejectUnauthorized: false, headers: { Authorization: `Bearer ${server.token}` } }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as WatchLine;
        buffer = buffer.slice(newline + 1);
        onEvent(line);
      }
    });
    res.on('end', () => end('the stream ended'));
    res.on('error', (error) => end(`the stream failed: ${error.message}`));
  });
  req.on('error', (error) => end(`the request failed: ${error.message}`));
  req.end();
  return { close: () => req.destroy() };
}
