// Prometheus metrics under kube-apiserver's names where one exists, on a registry owned by the server instance.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();

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
    help: 'Requests being served, by kind (mutating or readOnly).',
    labelNames: ['request_kind'] as const,
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
  readonly storageErrors = new Counter({
    name: 'etcd_request_errors_total',
    help: 'Failed etcd calls by operation and error code.',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });
}
