// Overload protection as kube-apiserver does it: --max-requests-inflight and --max-mutating-requests-inflight seats,
// held from authentication to the end of the response, shared fairly between users as API Priority and Fairness
// shares them (a flow per user, fair queuing by virtual finish time, bounded queues, a bounded wait, then 429).
import { queryBoolean } from '../api/meta/query-bool.js';
import { ApiError } from '../api/meta/errors.js';
import type { ServerMetrics } from './metrics.js';

export type RequestKind = 'readOnly' | 'mutating';

/** The 429 of k8s.io/apiserver's maxinflight and priority-and-fairness filters, as a Status. */
export function tooManyRequests(): ApiError {
  return new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
}

/** The 504 of k8s.io/apiserver's timeout filter: NewTimeoutError(..., 0), so details carry no retryAfterSeconds. */
export function requestTimedOut(): ApiError {
  return new ApiError(504, 'Timeout', 'Timeout: request did not complete within the allotted timeout', {});
}

// k8s.io/apiserver/pkg/util/flowcontrol/request: a LIST takes one seat per 100 objects it is estimated to
// process, between 1 and 10 seats, so a flood of big LISTs runs fewer at once than a flood of GETs.
const objectsPerSeat = 100;
const maximumSeats = 10;
// APF's default queueLengthLimit of a priority level.
const queueLengthLimit = 50;

export interface RequestClass {
  kind: RequestKind;
  /** Health, version, metrics, OpenAPI and discovery: never queued or refused behind tenant traffic. */
  exempt: boolean;
  /** Watch, proxy and logs: no seat, no request timeout (kube's BasicLongRunningRequestCheck). */
  longRunning?: { verb: string; resource: string; subresource: string };
  /** A LIST, for the estimate of its seats. */
  list?: { resource: string; namespace?: string; limit?: number };
}

const exemptPaths = new Set(['/healthz', '/livez', '/readyz', '/version', '/metrics', '/api', '/apis']);
const exemptPrefixes = ['/healthz/', '/livez/', '/readyz/', '/openapi/'];

type Query = Record<string, string | string[] | undefined>;

function first(query: Query, name: string): string | undefined {
  if (!Object.hasOwn(query, name)) return undefined;
  const value = query[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * What a request is to the limiter, from its method, path and query alone (kube's RequestInfo + long-running check),
 * for a server of the group-version `served`.
 */
export function classify(method: string, path: string, query: Query, served: { group: string; version: string }): RequestClass {
  const kind: RequestKind = method === 'GET' || method === 'HEAD' ? 'readOnly' : 'mutating';
  const groupPath = `/apis/${served.group}`;
  const resourcePrefix = `${groupPath}/${served.version}/`;
  const discovery = path === groupPath || path === resourcePrefix.slice(0, -1);
  if (discovery || exemptPaths.has(path) || exemptPrefixes.some((p) => path.startsWith(p))) return { kind, exempt: true };
  if (!path.startsWith(resourcePrefix)) return { kind, exempt: false };
  const parts = path.slice(resourcePrefix.length).split('/');
  if (parts[0] === 'watch') return { kind, exempt: false, longRunning: { verb: 'watch', resource: parts[parts[1] === 'namespaces' ? 3 : 1] ?? '', subresource: '' } };
  const namespaced = parts[0] === 'namespaces' && parts.length >= 3;
  const [namespace, resource, name, subresource] = namespaced ? [parts[1], parts[2], parts[3], parts[4]] : [undefined, parts[0], parts[1], parts[2]];
  if (subresource === 'proxy') return { kind, exempt: false, longRunning: { verb: method.toLowerCase(), resource: resource!, subresource } };
  // Every pods/log request is long-running in kube-apiserver, followed or not; jobs/logs is its counterpart.
  if (subresource === 'logs' && kind === 'readOnly') return { kind, exempt: false, longRunning: { verb: 'get', resource: resource!, subresource } };
  if (kind === 'readOnly' && subresource === undefined) {
    const watch = first(query, 'watch');
    // Read as the routes read it, or a watch the route opens would be timed out as a LIST.
    if (watch !== undefined && queryBoolean(watch)) return { kind, exempt: false, longRunning: { verb: 'watch', resource: resource!, subresource: '' } };
    if (name === undefined || name === '') {
      const limit = Number(first(query, 'limit'));
      return { kind, exempt: false, list: { resource: resource!, namespace, ...(Number.isSafeInteger(limit) && limit > 0 ? { limit } : {}) } };
    }
  }
  return { kind, exempt: false };
}

/** Seats a LIST is estimated to need from the number of objects it will go through. */
export function listSeats(storedObjects: number, limit: number | undefined): number {
  // A limited list reads only a page from storage; an unlimited one goes through everything stored.
  const objects = limit !== undefined ? Math.min(limit, storedObjects) : storedObjects;
  return Math.min(maximumSeats, Math.max(1, Math.ceil(objects / objectsPerSeat)));
}

interface Waiter {
  width: number;
  /** Virtual finish time: the flow's previous finish (or now, if later) plus the width. */
  finish: number;
  start: number;
  enqueued: number;
  grant(): void;
  fail(error: ApiError): void;
}

interface Flow {
  queue: Waiter[];
  executing: number;
  seats: number;
  lastFinish: number;
}

/** Whether `a`'s head goes before `b`'s: the earlier virtual finish, and on a tie the flow holding fewer seats. */
function earlier(a: Flow, b: Flow): boolean {
  const fa = a.queue[0]!.finish;
  const fb = b.queue[0]!.finish;
  return fa < fb || (fa === fb && a.seats < b.seats);
}

export interface PoolOptions {
  kind: RequestKind;
  /** Seats; 0 means no limit, as kube's flags mean it. */
  limit: number;
  /** How long a request may wait for a seat; undefined refuses at once when none is free (kube without APF). */
  maxWaitMs?: number;
  metrics: ServerMetrics;
}

/**
 * The seats of one request kind. A request that fits is let in at once when nobody waits; otherwise it waits in
 * its flow's (user's) queue, and whenever seats free up the queued request with the earliest virtual finish time
 * goes first (start-time fair queuing). One user's thousand queued LISTs push their own finish times into the
 * future; another user's GET starts at the current virtual time and is next.
 *
 * With queueing on, one flow holds at most half the seats. APF lets a lone flow take every seat of its priority
 * level, but here the seats are served by one thread: concurrent LISTs share it and finish together, so a
 * newcomer behind a full pool waits for a whole batch of them (over a second for 40 LISTs of 3 MiB). Half the
 * seats stay free for everyone else, and a lone flow's throughput is the same, the thread being busy either way.
 */
export class SeatPool {
  private inUse = 0;
  private executing = 0;
  private queued = 0;
  private virtualTime = 0;
  private readonly flows = new Map<string, Flow>();
  private readonly flowLimit: number;

  constructor(private readonly options: PoolOptions) {
    this.flowLimit = options.maxWaitMs === undefined ? options.limit : Math.max(1, Math.ceil(options.limit / 2));
  }

  /**
   * Resolves with the release function of the seats once the request may run; rejects with 429 when the flow's
   * queue is full, the wait limit passed, or there is no queueing and no seat; rejects when `signal` aborts.
   */
  acquire(flowName: string, requestedWidth: number, signal: AbortSignal): Promise<() => void> {
    const { limit, kind, metrics, maxWaitMs } = this.options;
    if (limit === 0) return Promise.resolve(() => undefined);
    if (signal.aborted) return Promise.reject(tooManyRequests());
    const width = Math.min(requestedWidth, this.flowLimit);
    let flow = this.flows.get(flowName);
    if (!flow) {
      flow = { queue: [], executing: 0, seats: 0, lastFinish: 0 };
      this.flows.set(flowName, flow);
    }
    const start = Math.max(this.virtualTime, flow.lastFinish);
    const fits = this.queued === 0 && this.inUse + width <= limit && flow.seats + width <= this.flowLimit;
    if (!fits && (maxWaitMs === undefined || flow.queue.length >= queueLengthLimit)) {
      this.forgetIfIdle(flowName, flow);
      return Promise.reject(this.reject(maxWaitMs === undefined ? 'concurrency-limit' : 'queue-full'));
    }
    flow.lastFinish = start + width;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        width,
        start,
        finish: start + width,
        enqueued: performance.now(),
        grant: () => {
          cleanup();
          metrics.flowWait.observe({ priority_level: kind, execute: 'true' }, (performance.now() - waiter.enqueued) / 1000);
          resolve(this.take(flow, width));
        },
        fail: (error) => {
          cleanup();
          reject(error);
        },
      };
      const onAbort = (): void => this.drop(flowName, flow, waiter, 'cancelled');
      const timer = maxWaitMs === undefined ? undefined : setTimeout(() => this.drop(flowName, flow, waiter, 'time-out'), maxWaitMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flow.queue.push(waiter);
      this.queued++;
      metrics.inqueue.inc({ priority_level: kind });
      this.dispatch();
    });
  }

  private take(flow: Flow, width: number): () => void {
    const { kind, metrics } = this.options;
    this.inUse += width;
    this.executing++;
    flow.executing++;
    flow.seats += width;
    metrics.inflight.set({ request_kind: kind }, this.executing);
    metrics.executingSeats.set({ priority_level: kind }, this.inUse);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= width;
      this.executing--;
      flow.executing--;
      flow.seats -= width;
      metrics.inflight.set({ request_kind: kind }, this.executing);
      metrics.executingSeats.set({ priority_level: kind }, this.inUse);
      this.dispatch();
    };
  }

  private dispatch(): void {
    const { kind, metrics, limit } = this.options;
    for (;;) {
      let best: Flow | undefined;
      for (const [name, flow] of this.flows) {
        if (flow.queue.length === 0) this.forgetIfIdle(name, flow);
        else if (flow.seats + flow.queue[0]!.width > this.flowLimit) continue;
        else if (!best || earlier(flow, best)) best = flow;
      }
      // The earliest finisher waits for enough seats even if a narrower request behind it would fit, as APF's
      // dispatcher does: otherwise a stream of GETs could starve a wide LIST for ever.
      if (!best || this.inUse + best.queue[0]!.width > limit) return;
      const waiter = best.queue.shift()!;
      this.queued--;
      metrics.inqueue.dec({ priority_level: kind });
      this.virtualTime = Math.max(this.virtualTime, waiter.start);
      waiter.grant();
    }
  }

  private drop(flowName: string, flow: Flow, waiter: Waiter, reason: 'time-out' | 'cancelled'): void {
    const i = flow.queue.indexOf(waiter);
    if (i < 0) return;
    flow.queue.splice(i, 1);
    this.queued--;
    this.options.metrics.inqueue.dec({ priority_level: this.options.kind });
    this.options.metrics.flowWait.observe({ priority_level: this.options.kind, execute: 'false' }, (performance.now() - waiter.enqueued) / 1000);
    this.forgetIfIdle(flowName, flow);
    waiter.fail(this.reject(reason));
    // A wide request leaving the head may let narrower ones behind it in.
    this.dispatch();
  }

  /** A flow with nothing queued or running keeps no state: a user's map entry lives only while they have requests. */
  private forgetIfIdle(flowName: string, flow: Flow): void {
    if (flow.queue.length === 0 && flow.executing === 0) this.flows.delete(flowName);
  }

  private reject(reason: 'concurrency-limit' | 'queue-full' | 'time-out' | 'cancelled'): ApiError {
    const { kind, metrics } = this.options;
    metrics.dropped.inc({ request_kind: kind });
    metrics.rejected.inc({ priority_level: kind, reason });
    return tooManyRequests();
  }
}

export interface FlowControlOptions {
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** Queue per user with fair dispatch (kube's --enable-priority-and-fairness); off: refuse at once when full. */
  priorityAndFairness: boolean;
  requestTimeoutMs: number;
  metrics: ServerMetrics;
  /** Objects stored of a resource in a namespace (all namespaces when undefined); 0 for unknown resources. */
  countObjects(resource: string, namespace: string | undefined): number;
}

/** The two seat pools and the estimate of what a request needs from them. */
export class FlowControl {
  private readonly pools: Record<RequestKind, SeatPool>;

  constructor(private readonly options: FlowControlOptions) {
    // APF lets a request wait a quarter of its deadline, at most a minute (getRequestWaitContext).
    const maxWaitMs = options.priorityAndFairness ? Math.min(options.requestTimeoutMs / 4, 60_000) : undefined;
    this.pools = {
      readOnly: new SeatPool({ kind: 'readOnly', limit: options.maxRequestsInflight, maxWaitMs, metrics: options.metrics }),
      mutating: new SeatPool({ kind: 'mutating', limit: options.maxMutatingRequestsInflight, maxWaitMs, metrics: options.metrics }),
    };
  }

  /** Waits for the seats `request` needs, in `user`'s flow; the returned function gives them back. */
  acquire(request: RequestClass, user: string, signal: AbortSignal): Promise<() => void> {
    const width = request.list ? listSeats(this.options.countObjects(request.list.resource, request.list.namespace), request.list.limit) : 1;
    return this.pools[request.kind].acquire(user, width, signal);
  }
}
