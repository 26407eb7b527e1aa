// Runs the notebook, job and dataset controllers while this replica holds the lease. Events come from this
// server's own watch caches (our objects) and from informers on kube-apiserver (the children, by label).
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/registry.js';
import { DatasetReconciler, type DatasetOptions } from './dataset.js';
import { JobReconciler } from './job.js';
import { NotebookReconciler, type NotebookOptions } from './notebook.js';
import { Controller } from './runtime/controller.js';
import { KubeChildren } from './runtime/kube-children.js';
import { KueueWorkloads } from './runtime/kueue-workloads.js';
import { LeaderElector } from './runtime/leader-election.js';
import { ControllerMetrics } from './runtime/metrics.js';

export interface ControllerManagerOptions {
  /** kubeconfig for kube-apiserver; in-cluster when absent. */
  kubeconfig?: string;
  leaseNamespace: string;
  leaseName: string;
  lease: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  notebook: NotebookOptions;
  dataset: DatasetOptions;
}

/** Everything that lives for one term of leadership; rebuilt when the lease is won again. */
class Term {
  private readonly abort = new AbortController();
  private readonly controllers: Controller[] = [];
  private readonly children: KubeChildren;
  private readonly workloads: KueueWorkloads;

  constructor(
    private readonly registry: Registry,
    kc: KubeConfig,
    private readonly options: ControllerManagerOptions,
    private readonly metrics: ControllerMetrics,
    private readonly log: Logger,
  ) {
    this.children = new KubeChildren(kc, log);
    this.workloads = new KueueWorkloads(kc, log);
  }

  async start(): Promise<void> {
    const notebooks = this.registry.informer('notebooks');
    const jobs = this.registry.informer('jobs');
    const datasets = this.registry.informer('datasets');
    const nb = new Controller(new NotebookReconciler(this.registry.store('notebooks'), notebooks, datasets, this.children, this.options.notebook, this.log), this.metrics, this.log);
    const job = new Controller(new JobReconciler(this.registry.store('jobs'), jobs, datasets, this.children, this.workloads), this.metrics, this.log);
    const wakeWorkloads = (namespace: string): void => {
      for (const item of notebooks.list(namespace)) nb.enqueue(`${namespace}/${item.metadata.name}`);
      for (const item of jobs.list(namespace)) job.enqueue(`${namespace}/${item.metadata.name}`);
    };
    const ds = new Controller(new DatasetReconciler(this.registry.store('datasets'), datasets, this.children, this.options.dataset), this.metrics, this.log);
    this.controllers.push(nb, job, ds);
    const byLabel: Record<string, Controller> = { 'ai.example.io/notebook': nb, 'ai.example.io/job': job, 'ai.example.io/dataset': ds };
    await this.children.start((_kind, object) => {
      const namespace = object.metadata?.namespace;
      for (const [label, controller] of Object.entries(byLabel)) {
        const owner = object.metadata?.labels?.[label];
        if (owner && namespace) controller.enqueue(`${namespace}/${owner}`);
      }
    });
    // A queued job's Workload is owned by its batch Job, which has the job's name.
    this.workloads.start((workload) => {
      const namespace = workload.metadata?.namespace;
      const batch = workload.metadata?.ownerReferences?.find((o) => o.apiVersion === 'batch/v1' && o.kind === 'Job');
      if (namespace && batch) job.enqueue(`${namespace}/${batch.name}`);
    });
    for (const controller of this.controllers) controller.start();
    notebooks.onChange((key) => nb.enqueue(key), this.abort.signal);
    jobs.onChange((key) => job.enqueue(key), this.abort.signal);
    // A dataset's change reaches the workloads of its namespace from the watch cache, so when they look, they see it.
    datasets.onChange((key) => {
      ds.enqueue(key);
      wakeWorkloads(key.slice(0, key.indexOf('/')));
    }, this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const controller of this.controllers) controller.stop();
    await this.children.stop();
    await this.workloads.stop();
  }
}

export class ControllerManager {
  private readonly kc: KubeConfig;
  private readonly elector: LeaderElector;
  private readonly metrics: ControllerMetrics;
  private readonly log: Logger;
  private term: Term | undefined;
  private transition: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: Registry,
    private readonly options: ControllerManagerOptions,
    metricsRegistry: MetricsRegistry,
    logger: Logger,
  ) {
    this.kc = loadKubeConfig(options.kubeconfig);
    this.log = logger.child({ component: 'controller-manager' });
    this.metrics = new ControllerMetrics(metricsRegistry);
    this.elector = new LeaderElector(
      this.kc,
      {
        namespace: options.leaseNamespace,
        name: options.leaseName,
        leaseDurationSeconds: Math.floor(options.lease.leaseDurationMs / 1000),
        renewDeadlineMs: options.lease.renewDeadlineMs,
        retryPeriodMs: options.lease.retryPeriodMs,
        onStartedLeading: () => this.switch(true),
        onStoppedLeading: () => this.switch(false),
      },
      logger,
    );
  }

  start(): void {
    this.elector.start();
  }

  async stop(): Promise<void> {
    await this.elector.stop();
    await this.transition;
  }

  /** Starts or stops a term, one transition at a time. */
  private switch(leading: boolean): void {
    this.metrics.leader.set(leading ? 1 : 0);
    this.transition = this.transition.then(async () => {
      if (this.term) {
        await this.term.stop().catch((error: unknown) => this.log.warn({ err: error }, 'stopping controllers failed'));
        this.term = undefined;
      }
      if (!leading) return;
      const term = new Term(this.registry, this.kc, this.options, this.metrics, this.log);
      this.term = term;
      await term.start().catch((error: unknown) => this.log.error({ err: error }, 'starting controllers failed'));
    });
  }
}
