// jobs/logs: what every rank of a distributed job prints, merged into one stream with each line prefixed by its
// rank, read through kube-apiserver's pods/log as this server (the caller was authorized for jobs/logs first).
// Without follow, ranks come one after another in rank order; with follow, lines interleave as they are written,
// ranks that appear later (an elastic job scaling up, a pod replaced) join, and the stream ends when the job has
// finished and every rank's log has ended.
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import type { PodLogs, LogOptions } from '../kube/pod-logs.js';
import { apiErrors } from '../api/meta/errors.js';
import type { Store } from '../registry/store.js';
import { parseBool, parseInteger, type Query } from './request-options.js';
import type { ConnectHandler, ConnectHandlerFactory, ConnectTarget } from './connect.js';

export interface JobLogsDeps {
  jobs: Store;
  /** Absent in standalone mode: there are no pods to read. */
  pods: PodLogs | undefined;
  logger: Logger;
  shutdown: AbortSignal;
  /** How often a following stream looks for new ranks. */
  pollMs?: number;
}

export interface JobLogsQuery extends LogOptions {
  rank?: number;
}

const completionIndex = 'batch.kubernetes.io/job-completion-index';

function rankOf(pod: V1Pod): number | undefined {
  const value = pod.metadata?.annotations?.[completionIndex] ?? pod.metadata?.labels?.[completionIndex];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** follow, tailLines, sinceSeconds and rank, validated as kube-apiserver validates PodLogOptions. */
export function parseJobLogsQuery(query: Query): JobLogsQuery {
  const errors: FieldError[] = [];
  const integer = (name: string, min: number): number | undefined => {
    const n = parseInteger(query, name);
    if (n !== undefined && n < min) errors.push(fieldErrors.invalid(name, n, `must be greater than or equal to ${min}`));
    return n;
  };
  const follow = parseBool(query, 'follow') ?? false;
  const tailLines = integer('tailLines', 0);
  const sinceSeconds = integer('sinceSeconds', 1);
  const rank = integer('rank', 0);
  if (errors.length > 0) throw apiErrors.invalid({ group: 'ai.example.io', resource: 'jobs', kind: 'JobLogOptions' }, '', errors);
  return { follow, ...(tailLines === undefined ? {} : { tailLines }), ...(sinceSeconds === undefined ? {} : { sinceSeconds }), ...(rank === undefined ? {} : { rank }) };
}

/** Writes whole lines only, each prefixed, so ranks never interleave inside a line. */
class RankLines {
  private partial = '';

  constructor(
    private readonly out: ServerResponse,
    private readonly prefix: string,
  ) {}

  push(chunk: string): void {
    const text = this.partial + chunk;
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.partial = text;
      return;
    }
    this.partial = text.slice(end + 1);
    const lines = text.slice(0, end).split('\n');
    this.out.write(lines.map((line) => `${this.prefix}${line}\n`).join(''));
  }

  flush(): void {
    if (this.partial) this.out.write(`${this.prefix}${this.partial}\n`);
    this.partial = '';
  }
}

export const jobLogs: ConnectHandlerFactory = (context) =>
  new JobLogs({ jobs: context.store, pods: context.podLogs, logger: context.logger.child({ component: 'job-logs' }), shutdown: context.shutdown });

export class JobLogs implements ConnectHandler {
  constructor(private readonly deps: JobLogsDeps) {}

  async serve(request: FastifyRequest, reply: FastifyReply, { namespace, name }: ConnectTarget): Promise<void> {
    request.apiInfo = { verb: 'get', resource: this.deps.jobs.ref.resource, subresource: 'logs' };
    const options = parseJobLogsQuery(request.query as Query);
    await this.deps.jobs.get(namespace, name, '0');
    const pods = this.deps.pods;
    // Not a passing outage: without kube-apiserver there are no pods, so nothing tells clients to retry.
    if (!pods) throw apiErrors.methodNotSupported(this.deps.jobs.ref, 'get logs', 'jobs/logs reads pods through kube-apiserver; this server runs --standalone');
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    out.flushHeaders();
    const done = new AbortController();
    const stop = (): void => done.abort();
    out.on('close', stop);
    this.deps.shutdown.addEventListener('abort', stop, { once: true });
    try {
      if (options.follow) await this.follow(namespace, name, options, pods, done.signal, out);
      else await this.once(namespace, name, options, pods, done.signal, out);
    } catch (error) {
      if (!done.signal.aborted) this.deps.logger.warn({ err: error, job: `${namespace}/${name}` }, 'job logs ended with an error');
    } finally {
      this.deps.shutdown.removeEventListener('abort', stop);
      out.end();
    }
  }

  private async rankPods(namespace: string, name: string, options: JobLogsQuery, pods: PodLogs): Promise<{ pod: V1Pod; rank: number }[]> {
    const listed = await pods.listPods(namespace, `ai.example.io/job=${name}`);
    return listed
      .map((pod) => ({ pod, rank: rankOf(pod) }))
      .filter((p): p is { pod: V1Pod; rank: number } => p.rank !== undefined && (options.rank === undefined || p.rank === options.rank))
      .sort((a, b) => a.rank - b.rank || (a.pod.metadata?.creationTimestamp?.getTime?.() ?? 0) - (b.pod.metadata?.creationTimestamp?.getTime?.() ?? 0));
  }

  private async open(namespace: string, pod: V1Pod, options: LogOptions, pods: PodLogs, signal: AbortSignal): Promise<Readable | undefined> {
    const container = pod.spec?.containers?.[0]?.name;
    if (!container || !pod.metadata?.name) return undefined;
    try {
      return await pods.stream(namespace, pod.metadata.name, container, options, signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      // A pod still waiting to start has no log yet: it is tried again.
      this.deps.logger.debug({ err: error, pod: pod.metadata.name }, 'pod log not readable yet');
      return undefined;
    }
  }

  private pipe(stream: Readable, lines: RankLines): Promise<void> {
    return new Promise((resolve) => {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => lines.push(chunk));
      stream.on('end', () => {
        lines.flush();
        resolve();
      });
      stream.on('error', () => {
        lines.flush();
        resolve();
      });
      stream.on('close', () => resolve());
    });
  }

  /** Every rank once, in rank order. */
  private async once(namespace: string, name: string, options: JobLogsQuery, pods: PodLogs, signal: AbortSignal, out: ServerResponse): Promise<void> {
    for (const { pod, rank } of await this.rankPods(namespace, name, options, pods)) {
      if (signal.aborted) return;
      const stream = await this.open(namespace, pod, { ...options, follow: false }, pods, signal);
      if (stream) await this.pipe(stream, new RankLines(out, `[rank ${rank}] `));
    }
  }

  private async follow(namespace: string, name: string, options: JobLogsQuery, pods: PodLogs, signal: AbortSignal, out: ServerResponse): Promise<void> {
    const started = new Set<string>();
    const running = new Set<Promise<void>>();
    const pollMs = this.deps.pollMs ?? 1000;
    while (!signal.aborted) {
      for (const { pod, rank } of await this.rankPods(namespace, name, options, pods)) {
        const uid = pod.metadata?.uid ?? pod.metadata?.name ?? '';
        if (started.has(uid)) continue;
        const stream = await this.open(namespace, pod, options, pods, signal);
        if (!stream) continue;
        started.add(uid);
        const piping = this.pipe(stream, new RankLines(out, `[rank ${rank}] `));
        running.add(piping);
        void piping.then(() => running.delete(piping));
      }
      if (running.size === 0 && (await this.finished(namespace, name))) return;
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  private async finished(namespace: string, name: string): Promise<boolean> {
    try {
      const { object } = await this.deps.jobs.get(namespace, name, '0');
      const phase = (object.status as { phase?: string } | undefined)?.phase;
      return phase === 'Succeeded' || phase === 'Failed';
    } catch {
      return true;
    }
  }
}
