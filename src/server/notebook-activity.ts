// Proxy traffic is notebook activity: the proxy stamps the notebook with the time it last carried a request
// (at most once a minute per notebook), and the notebook controller, on whichever replica leads, reads it.
import type { Logger } from 'pino';
import { lastActivityAnnotation } from '../api/v1alpha1/annotations.js';
import { toMetaTime } from '../api/meta/time.js';
import type { Store } from '../registry/store.js';

export class NotebookActivity {
  private readonly stamped = new Map<string, number>();

  constructor(
    private readonly notebooks: Store,
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  touch(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const now = Date.now();
    if ((this.stamped.get(key) ?? -Infinity) + this.intervalMs > now) return;
    this.stamped.set(key, now);
    const time = toMetaTime(now);
    this.notebooks
      .patch(
        namespace,
        name,
        (current) => ({ ...current, metadata: { ...current.metadata, annotations: { ...(current.metadata.annotations ?? {}), [lastActivityAnnotation]: time } } }),
        { fieldManager: 'notebook-proxy' },
      )
      .catch((error: unknown) => {
        this.stamped.delete(key);
        this.log.warn({ err: error, notebook: key }, 'could not record notebook activity');
      });
  }
}
