// What an operator watches of the serving certificate: when the one served expires, and how often it changed.
import { Counter, Gauge, type Registry } from 'prom-client';
import { leafOf, validityOf, type ServingCert } from './pki.js';

export type CertificateSource = 'file' | 'secret';

export class ServingCertMetrics {
  readonly expiry: Gauge;
  readonly reloads: Counter<'source' | 'result'>;
  readonly rotations: Counter;

  constructor(registry: Registry) {
    this.expiry = new Gauge({
      name: 'ai_apiserver_serving_certificate_expiration_timestamp_seconds',
      help: 'notAfter of the serving certificate being served, in seconds since the epoch.',
      registers: [registry],
    });
    this.reloads = new Counter({
      name: 'ai_apiserver_serving_certificate_reloads_total',
      help: 'Serving certificates taken into use without a restart (result="success"), or refused and the previous one kept (result="failure"), by source: file (--tls-cert-file) or secret (self-managed).',
      labelNames: ['source', 'result'] as const,
      registers: [registry],
    });
    this.rotations = new Counter({
      name: 'ai_apiserver_serving_certificate_rotations_total',
      help: 'Self-managed serving certificates this replica issued and wrote to the Secret (first one, replacements and rotations).',
      registers: [registry],
    });
  }

  served(cert: ServingCert): void {
    this.expiry.set(validityOf(leafOf(cert.cert)).notAfter.getTime() / 1000);
  }
}
