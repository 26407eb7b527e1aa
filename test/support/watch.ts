// Reads a CacheWatcher in the background so tests can wait for the events they expect.
import type { CacheWatcher, WatcherEvent } from '../../src/storage/watch-cache.js';

export function record(watcher: CacheWatcher) {
  const events: WatcherEvent[] = [];
  const controller = new AbortController();
  const done = (async () => {
    for (;;) {
      const event = await watcher.next(controller.signal);
      if (!event) return;
      events.push(event);
    }
  })();
  const until = async (predicate: (events: WatcherEvent[]) => boolean, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(events)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting; have ${JSON.stringify(summary(events))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async (): Promise<void> => {
    watcher.end();
    controller.abort();
    await done;
  };
  return { events, until, stop };
}

export function summary(events: WatcherEvent[]): string[] {
  return events.map((e) => {
    if (e.type === 'BOOKMARK') return `BOOKMARK${e.initialEventsEnd ? '(end)' : ''}`;
    if (e.type === 'ERROR') return `ERROR ${e.error.code}`;
    return `${e.type} ${e.object.object.metadata.name}`;
  });
}
