// Waiting for a condition rather than for a fixed time: what every suite does while a server, a controller or the
// control plane catches up. On a timeout the failure says what was awaited, what was last seen and, if given, more
// (a server's last log lines), since a wait that timed out on a loaded machine is read long after the fact.
import assert from 'node:assert/strict';

export interface Patience {
  /** The pause between two tries: short where a try reads memory, longer where it runs kubectl. */
  everyMs?: number;
  /** Said after the failure, e.g. the last log lines of the server the wait depended on. */
  context?: () => string;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function timedOut(timeoutMs: number, what: string | (() => string), seen: string, context: (() => string) | undefined): never {
  const more = context ? `\n${context()}` : '';
  assert.fail(`timed out after ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}${seen}${more}`);
}

function shown(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return String(JSON.stringify(value)).slice(0, 2000);
}

/**
 * Reads until `ok` holds for what was read and returns it. A read that throws counts as not yet (kubectl against
 * a control plane still converging fails now and then); the timeout reports the last value or error read.
 * Tries every 500 ms unless told otherwise.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string | (() => string),
  timeoutMs = 60_000,
  { everyMs = 500, context }: Patience = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) timedOut(timeoutMs, what, `; last saw ${shown(last)}`, context);
    await pause(everyMs);
  }
}

/**
 * Checks until `check` gives something other than false or undefined, and returns that (true for a plain
 * condition). Unlike eventually, a check that throws fails the wait at once: these checks read the test's own
 * state or a server that must not fail. Tries every 20 ms unless told otherwise.
 */
export async function until<T>(
  check: () => T | false | undefined | Promise<T | false | undefined>,
  what: string | (() => string),
  timeoutMs = 60_000,
  { everyMs = 20, context }: Patience = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return value;
    if (Date.now() > deadline) timedOut(timeoutMs, what, '', context);
    await pause(everyMs);
  }
}
