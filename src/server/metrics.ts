// Prometheus metrics under kube-apiserver's names where one exists, on a registry owned by the server instance.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  /** The text /metrics answers: this registry's, or, in a worker of --workers, every process's summed by the primary. */
  exposition: () => Promise<string> = () => this.registry.metrics();

  constructor() {
    // process_resident_memory_bytes, event loop lag, GC: what an operator looks at first.
    collectDefaultMetrics({ register: this.registry });
  }

  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Requests by verb, resource, subresource and HTTP code.',
    labelNames: ['verb', 'resource', 'subresource', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency by verb, resource and subresource (watches excluded).',
    labelNames: ['verb', 'resource', 'subresource'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Requests holding seats of --max-requests-inflight (readOnly) or --max-mutating-requests-inflight (mutating).',
    labelNames: ['request_kind'] as const,
    registers: [this.registry],
  });
  readonly executingSeats = new Gauge({
    name: 'apiserver_flowcontrol_current_executing_seats',
    help: 'Seats in use; a LIST takes one per 100 objects it goes through, up to 10.',
    labelNames: ['priority_level'] as const,
    registers: [this.registry],
  });
  readonly inqueue = new Gauge({
    name: 'apiserver_flowcontrol_current_inqueue_requests',
    help: 'Requests waiting for a seat.',
    labelNames: ['priority_level'] as const,
    registers: [this.registry],
  });
  readonly flowWait = new Histogram({
    name: 'apiserver_flowcontrol_request_wait_duration_seconds',
    help: 'Time requests waited for a seat; execute="false" for those refused while waiting.',
    labelNames: ['priority_level', 'execute'] as const,
    buckets: [0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30],
    registers: [this.registry],
  });
  readonly dropped = new Counter({
    name: 'apiserver_dropped_requests_total',
    help: 'Requests refused with 429 for want of a seat, by kind.',
    labelNames: ['request_kind'] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'apiserver_flowcontrol_rejected_requests_total',
    help: 'Requests refused with 429, by reason: concurrency-limit, queue-full, time-out or cancelled.',
    labelNames: ['priority_level', 'reason'] as const,
    registers: [this.registry],
  });
  readonly longRunning = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Long-running requests (watch, proxy, logs) being served; they take no seat and have no request timeout.',
    labelNames: ['verb', 'resource', 'subresource'] as const,
    registers: [this.registry],
  });
  readonly connections = new Counter({
    name: 'ai_apiserver_http_connections_total',
    help: 'TLS connections accepted, by the protocol ALPN chose: h2, or http/1.1 (also for clients that offer none).',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly openConnections = new Gauge({
    name: 'ai_apiserver_http_open_connections',
    help: 'TLS connections open, by the protocol ALPN chose; an h2 connection carries up to 100 requests at once.',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watches by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  readonly storageLatency = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'etcd call latency by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly auditEvents = new Counter({
    name: 'apiserver_audit_event_total',
    help: 'Counter of audit events generated and sent to the audit backend.',
    registers: [this.registry],
  });
  readonly auditErrors = new Counter({
    name: 'apiserver_audit_error_total',
    help: 'Counter of audit events that failed to be audited properly. Plugin identifies the plugin affected by the error.',
    labelNames: ['plugin'] as const,
    registers: [this.registry],
  });
  readonly auditLevels = new Counter({
    name: 'apiserver_audit_level_total',
    help: 'Counter of policy levels for audit events (1 per request).',
    labelNames: ['level'] as const,
    registers: [this.registry],
  });
  readonly storageErrors = new Counter({
    name: 'etcd_request_errors_total',
    help: 'Failed etcd calls by operation and error code.',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });
}
