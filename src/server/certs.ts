// The serving certificate: the files given (reloaded when they change), a pair kept in a Secret that every replica
// shares (delegated mode without files), or a self-signed pair for loopback and the in-cluster Service names
// (standalone without files).
import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { generate } from 'selfsigned';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { Transport } from '../kube/transport.js';
import { FileServingCert } from './serving-cert/file-source.js';
import { ServingCertMetrics } from './serving-cert/metrics.js';
import type { ServingCert } from './serving-cert/pki.js';
import { SelfManagedServingCert } from './serving-cert/self-managed.js';

export type { ServingCert } from './serving-cert/pki.js';

/** The pair to serve now, and each one that replaces it while the server runs. */
export interface ServingCertSource {
  readonly current: ServingCert;
  /** Called with every later pair, to be swapped into the TLS context in place. */
  onChange(listener: (cert: ServingCert) => void): void;
  stop(): void;
}

export interface ServingCertOptions {
  /** --tls-cert-file and --tls-private-key-file, re-read when they change and every checkIntervalMs. */
  files?: { certFile: string; keyFile: string; checkIntervalMs: number };
  /** Delegated mode without files: the Secret every replica shares, and the APIService whose caBundle follows it. */
  selfManaged?: {
    kubeconfig?: string;
    secret: { namespace: string; name: string };
    apiService: string;
    dnsNames: readonly string[];
    lifetimeMs: number;
  };
  /** Standalone without files: this self-signed pair (made once for every worker of --workers) instead of a new one. */
  selfSigned?: ServingCert;
  logger: Logger;
  registry: Registry;
}

/** Loopback, for probes and port-forwards; the Service's names come from the options. */
const loopbackIps = ['127.0.0.1', '::1'];

export async function startServingCert(options: ServingCertOptions): Promise<ServingCertSource> {
  const metrics = new ServingCertMetrics(options.registry);
  if (options.files) {
    const source = new FileServingCert({ ...options.files, logger: options.logger, metrics });
    await source.start();
    return source;
  }
  if (options.selfManaged) {
    const { kubeconfig, ...rest } = options.selfManaged;
    const source = new SelfManagedServingCert({ ...rest, ips: loopbackIps, transport: new Transport(loadKubeConfig(kubeconfig)), logger: options.logger, metrics });
    await source.start();
    return source;
  }
  const cert = options.selfSigned ?? (await loadServingCert());
  metrics.served(cert);
  return { current: cert, onChange: () => undefined, stop: () => undefined };
}

export async function loadServingCert(certFile?: string, keyFile?: string): Promise<ServingCert> {
  if (certFile && keyFile) {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key, ca: cert };
  }
  const pems = await generate([{ name: 'commonName', value: 'ai-apiserver' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: 'ai-apiserver.ai-system.svc' },
          { type: 2, value: 'ai-apiserver.ai-system.svc.cluster.local' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, ca: pems.cert };
}
