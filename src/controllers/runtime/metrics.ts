// Controller metrics under controller-runtime's names.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class ControllerMetrics {
  readonly depth: Gauge<'controller'>;
  readonly latency: Histogram<'controller'>;
  readonly errors: Counter<'controller'>;
  readonly leader: Gauge;

  constructor(registry: Registry) {
    this.depth = new Gauge({ name: 'workqueue_depth', help: 'Keys waiting in each controller\'s queue.', labelNames: ['controller'], registers: [registry] });
    this.latency = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Time per reconcile, by controller.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.errors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Failed reconciles, by controller.', labelNames: ['controller'], registers: [registry] });
    this.leader = new Gauge({ name: 'leader_election_master_status', help: '1 while this replica holds the controllers\' lease.', registers: [registry] });
  }
}
