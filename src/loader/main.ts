// The dataset loader: the second entrypoint of the server's image, run by each Dataset's prefetch Job. It copies
// SOURCE_URI into the claim mounted at /data and ends with its termination message: {"bytes":N,"files":M} on
// success, one line saying what went wrong otherwise, which the Dataset's status shows. A program of its own, it
// reads its settings from the environment the Job gives it (src/loader/contract.ts).
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { loaderEnv, loaderExit, loaderMounts } from './contract.js';
import { LoadError, isTransient, oneLine } from './errors.js';
import { load } from './load.js';

// The kubelet keeps 4096 bytes of a termination message; a Condition's message is better kept short too.
const maxMessage = 1024;

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new LoadError(`${name}=${raw}: not a non-negative integer`, true);
  return value;
}

async function main(): Promise<number> {
  const env = process.env;
  const log = pino({ level: env.LOG_LEVEL || 'info', base: { component: 'dataset-loader' } });
  const terminationPath = env.TERMINATION_MESSAGE_PATH || '/dev/termination-log';
  const controller = new AbortController();
  const stop = (signal: string): void => {
    log.warn({ signal }, 'stopping: what is downloaded so far is kept for the next attempt');
    controller.abort(new LoadError(`interrupted by ${signal}`, false));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  const end = (message: string, code: number): number => {
    try {
      writeFileSync(terminationPath, message);
    } catch (error) {
      log.error({ err: oneLine(error), path: terminationPath }, 'could not write the termination message');
    }
    return code;
  };
  try {
    const source = env[loaderEnv.source];
    if (!source) throw new LoadError(`${loaderEnv.source} is not set: the loader needs the Dataset's source URI`, true);
    const report = await load(
      {
        source,
        dataDir: env.DATA_DIR || loaderMounts.data,
        sourceDir: env.SOURCE_DIR || loaderMounts.source,
        endpoint: env[loaderEnv.s3Endpoint] || undefined,
        region: env[loaderEnv.region] || undefined,
        attempts: integer('LOADER_ATTEMPTS', 5),
        backoffMs: integer('LOADER_BACKOFF_MS', 1000),
        idleTimeoutMs: integer('LOADER_IDLE_TIMEOUT_MS', 60_000),
        concurrency: Math.max(1, integer('LOADER_CONCURRENCY', 4)),
        progressEveryMs: Math.max(100, integer('LOADER_PROGRESS_MS', 5000)),
      },
      log,
      controller.signal,
    );
    log.info(report, 'loaded');
    return end(JSON.stringify(report), 0);
  } catch (caught) {
    const error = controller.signal.aborted ? controller.signal.reason : caught;
    const message = oneLine(error).slice(0, maxMessage);
    const permanent = error instanceof LoadError ? error.permanent : !isTransient(error);
    log.error({ err: message, permanent }, 'load failed');
    return end(message, permanent ? loaderExit.permanent : loaderExit.transient);
  }
}

process.exit(await main());
