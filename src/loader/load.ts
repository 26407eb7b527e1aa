// One load of a Dataset's source into its claim: list what the source holds, bring each file over (several at once),
// skip what an earlier attempt already committed, then write the manifest. Progress is logged as it goes.
import type { Logger } from 'pino';
import type { LoaderReport } from './contract.js';
import { Destination, type Committed } from './destination.js';
import { download, type Open, type Wanted } from './download.js';
import { LoadError } from './errors.js';
import { httpObject } from './http-source.js';
import { openPvcFile, pvcFiles } from './pvc-source.js';
import { S3Source } from './s3-source.js';

export interface LoadOptions {
  source: string;
  /** Where the Dataset's claim is mounted. */
  dataDir: string;
  /** Where a pvc:// source's claim is mounted. */
  sourceDir: string;
  endpoint?: string;
  region?: string;
  attempts: number;
  backoffMs: number;
  idleTimeoutMs: number;
  /** Files transferred at once. */
  concurrency: number;
  /** Milliseconds between progress lines. */
  progressEveryMs: number;
}

interface Item extends Wanted {
  open: Open;
  etag?: string;
}

export async function load(options: LoadOptions, log: Logger, signal: AbortSignal): Promise<LoaderReport> {
  const items = await plan(options, log, signal);
  const destination = new Destination(options.dataDir);
  await destination.begin();
  const totalBytes = items.every((i) => i.size !== undefined) ? items.reduce((sum, i) => sum + i.size!, 0) : undefined;
  log.info({ source: options.source, files: items.length, bytes: totalBytes }, 'loading');

  const started = Date.now();
  let moved = 0;
  let done = 0;
  const report = (): void => {
    const seconds = (Date.now() - started) / 1000;
    log.info({ files: done, of: items.length, bytes: moved, total: totalBytes, mibPerSecond: Number((moved / 1048576 / Math.max(seconds, 0.001)).toFixed(1)) }, 'progress');
  };
  const ticker = setInterval(report, options.progressEveryMs);
  ticker.unref();
  const committed: Committed[] = new Array(items.length);
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        const item = items[index]!;
        const have: Committed = { path: item.path, source: item.source, bytes: item.size ?? -1, ...(item.etag ? { etag: item.etag } : {}) };
        if (item.size !== undefined && (await destination.alreadyHave(have))) {
          log.debug({ path: item.path }, 'already loaded by an earlier attempt');
          committed[index] = have;
        } else {
          committed[index] = await download(destination, item, item.open, {
            attempts: options.attempts,
            backoffMs: options.backoffMs,
            signal,
            log,
            progress: (n) => void (moved += n),
          });
        }
        done++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, items.length) }, worker));
  } finally {
    clearInterval(ticker);
  }
  report();
  await destination.finish(options.source, committed);
  const bytes = committed.reduce((sum, c) => sum + c.bytes, 0);
  return { bytes, files: committed.length };
}

/** What the source holds: one file for http(s), every object under the prefix for s3, a file or tree for pvc. */
async function plan(options: LoadOptions, log: Logger, signal: AbortSignal): Promise<Item[]> {
  const scheme = /^([a-z0-9]+):\/\//.exec(options.source)?.[1];
  switch (scheme) {
    case 'http':
    case 'https': {
      const object = httpObject(options.source, options.idleTimeoutMs);
      return [{ path: object.path, source: options.source, open: object.open }];
    }
    case 's3': {
      const s3 = new S3Source(options.source, { endpoint: options.endpoint, region: options.region, idleTimeoutMs: options.idleTimeoutMs });
      const objects = await s3.list(signal);
      return objects.map((o) => ({ path: o.path, source: `s3://${s3.bucket}/${o.key}`, size: o.size, etag: o.etag, open: s3.open(o) }));
    }
    case 'pvc': {
      const files = await pvcFiles(options.source, options.sourceDir, log);
      return files.map((f) => ({ path: f.path, source: `${options.source}#${f.path}`, size: f.size, etag: f.version, open: openPvcFile(f) }));
    }
    default:
      throw new LoadError(`${options.source}: the source must be an s3://, http(s):// or pvc:// URI`, true);
  }
}
