// A serving pair given as files (--tls-cert-file, e.g. a cert-manager Secret mounted as a volume), taken into use
// again whenever the files change. A Secret volume changes by swapping its ..data symlink, which replaces no file
// in place, so the folders holding the files are watched rather than the files; a periodic re-read covers folders
// whose events do not arrive (network filesystems, a folder replaced whole).
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ServingCertMetrics } from './metrics.js';
import { refusePair, summary, type ServingCert } from './pki.js';

export interface FileSourceOptions {
  certFile: string;
  keyFile: string;
  /** How often the files are re-read whatever the watches report. */
  checkIntervalMs: number;
  logger: Logger;
  metrics: ServingCertMetrics;
}

/** Events arrive in bursts (one per file and symlink of a swap); one read after the burst is enough. */
const settleMs = 100;

export class FileServingCert {
  private currentPair!: ServingCert;
  private readonly listeners: ((cert: ServingCert) => void)[] = [];
  private readonly watchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  private lastRefused = '';
  private readonly log: Logger;

  constructor(private readonly options: FileSourceOptions) {
    this.log = options.logger.child({ component: 'serving-cert' });
  }

  get current(): ServingCert {
    return this.currentPair;
  }

  onChange(listener: (cert: ServingCert) => void): void {
    this.listeners.push(listener);
  }

  /** Reads the pair (failing when it is unusable: there is nothing older to keep), then follows the files. */
  async start(): Promise<ServingCert> {
    const pair = await this.read();
    const refusal = refusePair(pair, {});
    if (refusal) throw new Error(`${this.options.certFile}: ${refusal}`);
    this.currentPair = pair;
    this.options.metrics.served(pair);
    this.log.info({ certFile: this.options.certFile, ...summary(pair) }, 'serving certificate loaded');
    for (const dir of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        const watcher = watch(dir, () => this.soon());
        watcher.on('error', (error) => this.log.warn({ err: error, dir }, 'cannot watch the certificate folder; the periodic check remains'));
        this.watchers.push(watcher);
      } catch (error) {
        this.log.warn({ err: error, dir }, 'cannot watch the certificate folder; the periodic check remains');
      }
    }
    this.interval = setInterval(() => this.soon(), this.options.checkIntervalMs);
    this.interval.unref();
    return pair;
  }

  stop(): void {
    for (const watcher of this.watchers) watcher.close();
    clearInterval(this.interval);
    clearTimeout(this.debounce);
  }

  private soon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.reading = this.reading.then(() => this.reload());
    }, settleMs);
    this.debounce.unref();
  }

  private async read(): Promise<ServingCert> {
    const [cert, key] = await Promise.all([readFile(this.options.certFile, 'utf8'), readFile(this.options.keyFile, 'utf8')]);
    return { cert, key, ca: cert };
  }

  private async reload(): Promise<void> {
    let pair: ServingCert;
    try {
      pair = await this.read();
    } catch (error) {
      const reason = `cannot read the files: ${(error as Error).message}`;
      this.refused(reason, reason);
      return;
    }
    if (pair.cert === this.currentPair.cert && pair.key === this.currentPair.key) return;
    const refusal = refusePair(pair, {});
    if (refusal) {
      this.refused(refusal, pair.cert + pair.key);
      return;
    }
    const previous = summary(this.currentPair);
    this.currentPair = pair;
    this.lastRefused = '';
    for (const listener of this.listeners) listener(pair);
    this.options.metrics.served(pair);
    this.options.metrics.reloads.inc({ source: 'file', result: 'success' });
    this.log.info({ certFile: this.options.certFile, ...summary(pair), previousSerial: previous.serial }, 'serving certificate reloaded from its files');
  }

  /** Logged and counted once per content refused, not at every periodic check that finds it again. */
  private refused(reason: string, content: string): void {
    if (content === this.lastRefused) return;
    this.lastRefused = content;
    this.options.metrics.reloads.inc({ source: 'file', result: 'failure' });
    this.log.error({ certFile: this.options.certFile, keyFile: this.options.keyFile, reason }, 'new serving certificate refused; still serving the previous one');
  }
}
