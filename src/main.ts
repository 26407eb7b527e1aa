// The server command: flags → config → security, storage, registry, HTTPS server; SIGTERM/SIGINT shut it down
// gracefully. With --workers above 1 this process is the primary of that many workers, each of which runs the rest.
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { PluginChain } from './admission/chain.js';
import { AdmissionMetrics } from './admission/metrics.js';
import type { AdmissionPlugin } from './admission/plugin.js';
import { MutatingWebhookPlugin, ValidatingWebhookPlugin, WebhookSources } from './admission/webhook/plugin.js';
import { resourceQuotaAdmission } from './admission/quota/index.js';
import { ValidatingAdmissionPolicyPlugin } from './admission/policy/plugin.js';
import { dnsNames, parseConfig } from './config.js';
import { loadKubeConfig } from './kube/kubeconfig.js';
import { Transport } from './kube/transport.js';
import { kubePodLogs } from './kube/pod-logs.js';
import { ControllerManager } from './controllers/manager.js';
import { LeaderElector } from './controllers/runtime/leader-election.js';
import { Registry } from './registry/registry.js';
import { resources } from './resources/index.js';
import { buildSecurity } from './security.js';
import { buildApp } from './server/app.js';
import { openAudit } from './server/audit/audit.js';
import { loadServingCert, startServingCert } from './server/certs.js';
import { writeKubeconfig } from './server/kubeconfig.js';
import { ServerMetrics } from './server/metrics.js';
import { instrumentStorage } from './storage/instrumented-storage.js';
import { openStorage } from './storage/open-storage.js';
import { holdSingleReplicaLease } from './storage/sqlite/single-replica-lease.js';
import { standaloneIdentityVariable, type StandaloneIdentity } from './server/workers/messages.js';
import { runPrimary } from './server/workers/primary.js';
import { WorkerChannel } from './server/workers/worker.js';

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const worker = config.worker;
  const logOptions = { level: config.logLevel, ...(worker ? { base: { pid: process.pid, hostname: hostname(), worker: worker.index } } : {}) };
  // Synchronous, as pino's own destination is, so a fatal line written just before process.exit is not lost; one
  // line per entry with the time of day, as a person follows a terminal (pid and host are the same on every line).
  const logger = config.loggingFormat === 'text'
    ? pino(logOptions, PinoPretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }))
    : pino(logOptions);
  const metrics = new ServerMetrics();
  if (config.workers > 1 && !worker && cluster.isPrimary) {
    const standalone: StandaloneIdentity | undefined = config.standalone
      ? { ...(config.tokenAuthFile ? {} : { token: randomBytes(24).toString('base64url') }), ...(config.tlsCertFile ? {} : { cert: await loadServingCert() }) }
      : undefined;
    const env: Record<string, string> = standalone ? { [standaloneIdentityVariable]: JSON.stringify(standalone) } : {};
    await runPrimary({ workers: config.workers, logger, metrics, env, ...(config.audit ? { audit: config.audit } : {}) });
    return;
  }
  let stop: (signal: string) => void = () => process.exit(1);
  const channel = worker ? new WorkerChannel(metrics.registry, () => stop('primary gone')) : undefined;
  if (channel) metrics.exposition = () => channel.metrics();
  // A replica's limits, shared among its workers.
  const share = (limit: number): number => (worker && limit > 0 ? Math.max(1, Math.ceil(limit / worker.count)) : limit);
  // Before anything starts: a policy kube-apiserver would refuse stops the server with the reason.
  const audit = config.audit
    ? await openAudit(config.audit, {
        event: () => metrics.auditEvents.inc(),
        level: (level) => metrics.auditLevels.inc({ level }),
        error: () => metrics.auditErrors.inc({ plugin: 'log' }),
      }, logger, channel?.auditSink)
    : undefined;
  const security = await buildSecurity(config, logger);
  const backend = await openStorage(config.storage, logger);
  const storageLease =
    config.storage.kind === 'sqlite' && !config.standalone
      ? await holdSingleReplicaLease(
          config.leaderElectionNamespace,
          (lease) => new LeaderElector(loadKubeConfig(config.kubeconfig), lease, logger),
          () => {
            logger.fatal('lost the single-replica Lease of the SQLite store: another replica took it; exiting');
            process.exit(1);
          },
        ).catch(async (error: unknown) => {
          await backend.storage.close();
          throw error;
        })
      : undefined;
  const storage = instrumentStorage(backend.storage, {
    observe: (operation, seconds) => metrics.storageLatency.observe({ operation }, seconds),
    failed: (operation, code) => metrics.storageErrors.inc({ operation, code }),
  });
  const consistentListFromCache = backend.consistentListFromCache;
  // kube's order (k8s.io/apiserver's default plugins): mutating webhooks; then ValidatingAdmissionPolicy, validating
  // webhooks, ResourceQuota. Each plugin says which phases it runs in.
  const policies = config.standalone
    ? undefined
    : new ValidatingAdmissionPolicyPlugin({ transport: new Transport(loadKubeConfig(config.kubeconfig)), logger, registry: metrics.registry });
  const webhooks = config.standalone ? undefined : new WebhookSources(new Transport(loadKubeConfig(config.kubeconfig)), logger);
  const admissionMetrics = new AdmissionMetrics(metrics.registry);
  const admissionPlugins: AdmissionPlugin[] = [
    ...(webhooks ? [new MutatingWebhookPlugin(webhooks, admissionMetrics, logger)] : []),
    ...(policies ? [policies] : []),
    ...(webhooks ? [new ValidatingWebhookPlugin(webhooks, admissionMetrics, logger)] : []),
  ];
  // ResourceQuota last, as in kube; it reads and charges kube-apiserver's ResourceQuotas, so not when standalone.
  const quota = config.standalone
    ? undefined
    : resourceQuotaAdmission(config.kubeconfig, metrics.registry, logger, (resource, namespace, name) => registry.informer(resource).get(namespace, name));
  if (quota) admissionPlugins.push(quota.plugin);
  const admission = new PluginChain(admissionPlugins, admissionMetrics);
  const registry = new Registry({ strategies: resources.strategies, storage, etcdPrefix: config.etcdPrefix, logger, namespaces: security.namespaces, consistentListFromCache, admission, progressWriteIntervalMs: config.progressWriteIntervalSeconds * 1000 });
  const [namespace = '', name = ''] = config.tlsSecret.split('/');
  const certs = await startServingCert({
    ...(config.tlsCertFile && config.tlsPrivateKeyFile
      ? { files: { certFile: config.tlsCertFile, keyFile: config.tlsPrivateKeyFile, checkIntervalMs: config.tlsCertCheckIntervalMs } }
      : config.standalone
        ? { ...(worker?.standalone?.cert ? { selfSigned: worker.standalone.cert } : {}) }
        : {
            selfManaged: {
              ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
              secret: { namespace, name },
              apiService: config.tlsApiService,
              dnsNames: dnsNames(config.tlsDnsNames),
              lifetimeMs: config.tlsCertLifetimeMs,
            },
          }),
    logger,
    registry: metrics.registry,
  });
  const cert = certs.current;
  const app = await buildApp({
    registry,
    connect: resources.connect,
    storage,
    metrics,
    authenticator: security.authenticator,
    authorizer: security.authorizer,
    cert,
    clientCaPem: security.clientCaPem,
    logger,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    http2: config.enableHttp2Serving,
    notebookUpstream: config.notebookUpstreamUrl,
    limits: {
      maxRequestsInflight: share(config.maxRequestsInflight),
      maxMutatingRequestsInflight: share(config.maxMutatingRequestsInflight),
      enablePriorityAndFairness: config.enablePriorityAndFairness,
      requestTimeoutMs: config.requestTimeoutMs,
      maxConnections: share(config.maxConnections),
    },
    ...(config.standalone ? {} : { podLogs: kubePodLogs(loadKubeConfig(config.kubeconfig)) }),
    ...(audit ? { auditor: audit.auditor } : {}),
  });
  security.watchClientCas((pem) => app.updateClientCas(pem));
  certs.onChange((next) => app.updateServingCert(next));
  // A pair that replaced the first while the app was being built.
  if (certs.current !== cert) app.updateServingCert(certs.current);
  const cachesListed = registry.start();
  cachesListed.catch((error: unknown) => logger.error({ err: error }, 'watch caches failed to start'));
  await app.fastify.listen({ port: config.securePort, host: config.bindAddress });
  const address = app.fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.securePort;
  const host = config.bindAddress === '0.0.0.0' || config.bindAddress === '::' ? '127.0.0.1' : config.bindAddress;
  const first = (worker?.index ?? 0) === 0;
  if (config.writeKubeconfig && security.kubeconfigToken && first) {
    writeKubeconfig(config.writeKubeconfig, `https://${host}:${port}`, cert.ca, security.kubeconfigToken);
  }
  logger.info({ port, storage: config.storage, standalone: config.standalone }, 'serving ai.example.io/v1alpha1');
  let controllers: ControllerManager | undefined;
  // Wired before the controllers wait for the caches (minutes at 100,000 objects): a signal then still stops gracefully.
  let stopping = false;
  stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: readyz fails, watches end, in-flight requests finish');
    // Both at once: /readyz must fail from the first moment for the load balancer to drop this replica within the
    // shutdown delay, and the Lease is released meanwhile so another replica's controllers take over at once.
    Promise.all([controllers?.stop(), app.shutdown(config.shutdownDelaySeconds)])
      .then(async () => {
        registry.stop();
        webhooks?.stop();
        security.stop();
        quota?.stop();
        policies?.stop();
        certs.stop();
        await backend.storage.close();
        await storageLease?.stop();
        await audit?.close();
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // One worker runs the controllers: the others would only wait on the Lease with informers of their own.
  if (config.controllers && first) {
    await cachesListed;
    if (stopping) return;
    controllers = new ControllerManager(
      registry,
      {
        kubeconfig: config.kubeconfig,
        leaseNamespace: config.leaderElectionNamespace,
        leaseName: 'ai-apiserver-controllers',
        lease: config.leaderElection,
        notebook: { activityUrlTemplate: config.notebookActivityUrl, activityIntervalMs: config.notebookActivityIntervalSeconds * 1000 },
        dataset: { loaderImage: config.datasetLoaderImage },
      },
      metrics.registry,
      logger,
    );
    controllers.start();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
