// The server command: flags → config → storage, registry, HTTPS server; SIGTERM/SIGINT shut it down gracefully.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { parseConfig } from './config.js';
import { TokenAuthenticator } from './auth/token-file.js';
import { Registry } from './registry/registry.js';
import { buildApp } from './server/app.js';
import { loadServingCert } from './server/certs.js';
import { writeKubeconfig } from './server/kubeconfig.js';
import { ServerMetrics } from './server/metrics.js';
import { EtcdStorage } from './storage/etcd/etcd-storage.js';
import { instrumentStorage } from './storage/instrumented-storage.js';

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const logger = pino({ level: config.logLevel });
  if (!config.standalone) {
    // Delegated authentication and authorization through kube-apiserver is the aggregation work (issue 4).
    logger.fatal('only --standalone is supported so far: delegated authentication via kube-apiserver is not built yet');
    process.exit(2);
  }
  let authenticator: TokenAuthenticator;
  let token: string;
  if (config.tokenAuthFile) {
    authenticator = TokenAuthenticator.fromFile(config.tokenAuthFile);
    const first = authenticator.firstToken();
    if (!first) throw new Error(`${config.tokenAuthFile} holds no token`);
    token = first;
  } else {
    // No token file: one random admin token, shown only through --write-kubeconfig.
    token = randomBytes(24).toString('base64url');
    authenticator = new TokenAuthenticator(
      new Map([[token, { name: 'admin', uid: '', groups: ['system:masters', 'system:authenticated'], extra: {} }]]),
    );
  }
  const metrics = new ServerMetrics();
  const etcd = new EtcdStorage({ endpoints: config.etcdServers, logger });
  const storage = instrumentStorage(etcd, {
    observe: (operation, seconds) => metrics.storageLatency.observe({ operation }, seconds),
    failed: (operation, code) => metrics.storageErrors.inc({ operation, code }),
  });
  const registry = new Registry({ storage, etcdPrefix: config.etcdPrefix, logger });
  const cert = await loadServingCert(config.tlsCertFile, config.tlsPrivateKeyFile);
  const app = await buildApp({ registry, storage, metrics, authenticator, cert, logger, maxRequestBodyBytes: config.maxRequestBodyBytes });
  registry.start().catch((error: unknown) => logger.error({ err: error }, 'watch caches failed to start'));
  await app.fastify.listen({ port: config.securePort, host: config.bindAddress });
  const address = app.fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.securePort;
  const host = config.bindAddress === '0.0.0.0' || config.bindAddress === '::' ? '127.0.0.1' : config.bindAddress;
  if (config.writeKubeconfig) writeKubeconfig(config.writeKubeconfig, `https://${host}:${port}`, cert.ca, token);
  logger.info({ port, etcd: config.etcdServers, standalone: config.standalone }, 'serving ai.example.io/v1alpha1');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: readyz fails, watches end, in-flight requests finish');
    app
      .shutdown(config.shutdownDelaySeconds)
      .then(async () => {
        registry.stop();
        await etcd.close();
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
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
