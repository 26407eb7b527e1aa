// The serving certificate when none is given in delegated mode: kept in a Secret that every replica reads, so they
// all serve the same pair; the first replica to find it missing or unusable issues one and writes it under
// optimistic concurrency (create, or update at the resourceVersion it read), and a replica that loses the race takes
// the winner's. The APIService's caBundle is kept equal to the Secret's ca.crt, and repaired when something else
// (a `kubectl apply` of apiservice/) resets it. At 80% of a pair's validity a new CA and pair replace it; ca.crt
// then holds the new CA and the old one, and a replica serves the new pair only once the APIService trusts its CA,
// so kube-apiserver's proxy accepts every replica whichever pair it serves.
import type { Logger } from 'pino';
import { StatusError } from '../../kube/status-error.js';
import type { Transport } from '../../kube/transport.js';
import { watchObject } from '../../kube/watch-object.js';
import type { ServingCertMetrics } from './metrics.js';
import {
  bundleHolds,
  earliestExpiry,
  issuerIn,
  issueServingCert,
  leafOf,
  mergeCaBundle,
  parsePemBundle,
  pruneCaBundle,
  refusePair,
  rotationDue,
  summary,
  validityOf,
  type ServingCert,
} from './pki.js';

export interface SelfManagedOptions {
  transport: Transport;
  secret: { namespace: string; name: string };
  /** The APIService whose caBundle follows the Secret; empty: none is touched. */
  apiService: string;
  dnsNames: readonly string[];
  ips: readonly string[];
  lifetimeMs: number;
  logger: Logger;
  metrics: ServingCertMetrics;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

interface ApiServiceObject {
  spec?: { caBundle?: string };
}

const managedBy = { 'app.kubernetes.io/managed-by': 'ai-apiserver' };
/** Timers are re-armed at least this often: Node cannot wait longer than 2^31 ms, and a late clock is caught up. */
const maxWaitMs = 3_600_000;

function decode(value: string | undefined): string {
  return value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
}

function encode(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function pairOf(secret: SecretObject): ServingCert {
  return { cert: decode(secret.data?.['tls.crt']), key: decode(secret.data?.['tls.key']), ca: decode(secret.data?.['ca.crt']) };
}

/** The same CAs in the same order, whatever the PEM's spacing. */
function sameBundle(a: string, b: string): boolean {
  const prints = (pem: string): string => {
    try {
      return parsePemBundle(pem).map((cert) => cert.fingerprint256).join(',');
    } catch {
      return `unparsable:${pem}`;
    }
  };
  return prints(a) === prints(b);
}

export class SelfManagedServingCert {
  private currentPair!: ServingCert;
  private readonly listeners: ((cert: ServingCert) => void)[] = [];
  private readonly log: Logger;
  /** The Secret as last seen (undefined: seen deleted); null until the watch has listed it. */
  private secret: SecretObject | undefined | null = null;
  /** The APIService's caBundle as last seen (undefined: no such APIService); null until the watch has listed it. */
  private apiServiceBundle: string | undefined | null = null;
  /** When the pair in the Secret may replace the one served: once the APIService trusts its CA, after a settling time. */
  private swapAt: { cert: string; at: number } | undefined;
  private readonly stops: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly settleMs: number;

  constructor(private readonly options: SelfManagedOptions) {
    this.log = options.logger.child({ component: 'serving-cert', secret: `${options.secret.namespace}/${options.secret.name}` });
    // kube-aggregator rebuilds its transport from an APIService event it gets about when we do; the pause covers its
    // queue. Short lifetimes (tests) get a share of theirs, so the swap happens well before the old pair expires.
    this.settleMs = Math.min(5_000, options.lifetimeMs / 20);
  }

  get current(): ServingCert {
    return this.currentPair;
  }

  onChange(listener: (cert: ServingCert) => void): void {
    this.listeners.push(listener);
  }

  /** Reads, or writes, the Secret and serves its pair at once; then follows the Secret and the APIService. */
  async start(): Promise<ServingCert> {
    const secret = await this.usableSecret();
    this.secret = secret;
    this.serve(pairOf(secret), 'adopted');
    const { namespace, name } = this.options.secret;
    this.stops.push(
      watchObject<SecretObject>(this.options.transport, {
        collection: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        name,
        onChange: (object) => {
          this.secret = object;
          this.reconcileSoon();
        },
        onError: (error) => this.log.warn({ err: error }, 'cannot follow the Secret; retrying'),
      }),
    );
    if (this.options.apiService !== '') {
      this.stops.push(
        watchObject<ApiServiceObject>(this.options.transport, {
          collection: '/apis/apiregistration.k8s.io/v1/apiservices',
          name: this.options.apiService,
          onChange: (object) => {
            this.apiServiceBundle = object ? decode(object.spec?.caBundle) : undefined;
            this.reconcileSoon();
          },
          onError: (error) => this.log.warn({ err: error, apiService: this.options.apiService }, 'cannot follow the APIService; retrying'),
        }),
      );
    }
    return this.currentPair;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const stop of this.stops) stop();
  }

  private get secretPath(): string {
    const { namespace, name } = this.options.secret;
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
  }

  /** The Secret with a pair that may be served now: read, or created, or replaced when what it holds is unusable. */
  private async usableSecret(): Promise<SecretObject> {
    for (;;) {
      const found = await this.readSecret();
      const written = found === undefined ? await this.create(await this.issue(''), 'no Secret yet') : await this.replaceIfUnusable(found);
      if (written) return written;
    }
  }

  /** `secret` if its pair may be served; otherwise the Secret with a new pair, or undefined when another replica wrote first. */
  private async replaceIfUnusable(secret: SecretObject): Promise<SecretObject | undefined> {
    const refusal = this.refuse(secret);
    if (refusal === undefined) return secret;
    return this.update(secret, await this.issue(pairOf(secret).ca), `the Secret's pair is unusable: ${refusal}`);
  }

  private refuse(secret: SecretObject): string | undefined {
    const pair = pairOf(secret);
    return refusePair(pair, { dnsNames: this.options.dnsNames, caBundle: pair.ca });
  }

  private async issue(previousBundle: string): Promise<ServingCert> {
    const pair = await issueServingCert({ dnsNames: this.options.dnsNames, ips: this.options.ips, lifetimeMs: this.options.lifetimeMs });
    let kept = '';
    try {
      kept = previousBundle === '' ? '' : mergeCaBundle(pair.ca, previousBundle);
    } catch {
      // An unparsable bundle is not carried over.
    }
    return { ...pair, ca: kept === '' ? pair.ca : kept };
  }

  private async readSecret(): Promise<SecretObject | undefined> {
    try {
      return await this.options.transport.json<SecretObject>({ method: 'GET', path: this.secretPath });
    } catch (error) {
      if (error instanceof StatusError && error.code === 404) return undefined;
      throw error;
    }
  }

  /** Creates the Secret; undefined when another replica created it first (its pair is then the one to use). */
  private async create(pair: ServingCert, why: string): Promise<SecretObject | undefined> {
    const { namespace, name } = this.options.secret;
    const body: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels: managedBy },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': encode(pair.cert), 'tls.key': encode(pair.key), 'ca.crt': encode(pair.ca) },
    };
    try {
      const created = await this.options.transport.json<SecretObject>({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
        body,
      });
      this.wrote(pair, why);
      return created;
    } catch (error) {
      if (error instanceof StatusError && error.code === 409) return undefined;
      throw error;
    }
  }

  /** Writes `pair` over `secret` at the resourceVersion read; undefined when the Secret changed since (someone else wrote). */
  private async update(secret: SecretObject, pair: ServingCert, why: string): Promise<SecretObject | undefined> {
    const body: SecretObject = {
      ...secret,
      data: { ...secret.data, 'tls.crt': encode(pair.cert), 'tls.key': encode(pair.key), 'ca.crt': encode(pair.ca) },
    };
    try {
      const updated = await this.options.transport.json<SecretObject>({ method: 'PUT', path: this.secretPath, body });
      this.wrote(pair, why);
      return updated;
    } catch (error) {
      if (error instanceof StatusError && (error.code === 409 || error.code === 404)) return undefined;
      throw error;
    }
  }

  private wrote(pair: ServingCert, why: string): void {
    this.options.metrics.rotations.inc();
    this.log.info({ ...summary(pair), cas: parsePemBundle(pair.ca).length, why }, 'issued a serving certificate and wrote it to the Secret');
  }

  private serve(pair: ServingCert, how: 'adopted' | 'rotated'): void {
    const previous = this.currentPair;
    this.currentPair = pair;
    this.swapAt = undefined;
    this.options.metrics.served(pair);
    if (previous !== undefined) {
      this.options.metrics.reloads.inc({ source: 'secret', result: 'success' });
      for (const listener of this.listeners) listener(pair);
    }
    this.log.info({ ...summary(pair), previousSerial: previous ? summary(previous).serial : undefined, how }, 'serving the certificate of the Secret');
  }

  /** Runs reconcile now, or once more after the run in progress; runs never overlap. */
  private reconcileSoon(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.reconcile();
        } catch (error) {
          this.log.warn({ err: error }, 'serving certificate upkeep failed; retrying');
          this.arm(Date.now() + 5_000);
        }
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
  }

  /** Brings the Secret, the APIService and the pair served one step closer to what they should be. */
  private async reconcile(): Promise<void> {
    if (this.stopped || this.secret === null) return;
    const now = Date.now();
    const secret = this.secret;
    if (secret === undefined) {
      // Deleted under us: the pair served is written back, so the replicas keep agreeing with the APIService.
      await this.create(this.currentPair, 'the Secret was deleted');
      return;
    }
    const pair = pairOf(secret);
    const refusal = this.refuse(secret);
    if (refusal !== undefined) {
      await this.update(secret, await this.issue(pair.ca), `the Secret's pair is unusable: ${refusal}`);
      return;
    }
    const due = rotationDue(validityOf(leafOf(pair.cert)));
    if (now >= due.getTime()) {
      await this.update(secret, await this.issue(pair.ca), `due for rotation since ${due.toISOString()}`);
      return;
    }
    const pruned = pruneCaBundle(pair.ca, new Date(now));
    if (pruned !== undefined) {
      await this.update(secret, { ...pair, ca: pruned }, 'an earlier CA of the bundle expired');
      return;
    }
    if (this.apiServiceBundle !== null && this.apiServiceBundle !== undefined && !sameBundle(this.apiServiceBundle, pair.ca)) {
      await this.patchCaBundle(pair.ca);
    }
    let wake = Math.min(due.getTime(), earliestExpiry(pair.ca)?.getTime() ?? Infinity);
    if (pair.cert !== this.currentPair.cert) {
      const swap = this.swapTime(pair, now);
      if (swap !== undefined && now >= swap) this.serve(pair, 'rotated');
      else if (swap !== undefined) wake = Math.min(wake, swap);
    }
    this.arm(wake);
  }

  /**
   * When the Secret's pair may be served: the settling time after the APIService is seen trusting its CA (at once
   * when no APIService is kept in step), or before the pair served expires whatever the APIService says.
   */
  private swapTime(pair: ServingCert, now: number): number | undefined {
    const servedExpiry = validityOf(leafOf(this.currentPair.cert)).notAfter.getTime() - this.settleMs;
    const ca = issuerIn(pair.cert, pair.ca)?.toString() ?? pair.ca;
    const trusted = this.options.apiService === '' || this.apiServiceBundle === undefined || (this.apiServiceBundle !== null && bundleHolds(this.apiServiceBundle, ca));
    if (!trusted) return servedExpiry;
    if (this.swapAt?.cert !== pair.cert) this.swapAt = { cert: pair.cert, at: now + this.settleMs };
    return Math.min(this.swapAt.at, servedExpiry);
  }

  private async patchCaBundle(bundle: string): Promise<void> {
    await this.options.transport.json({
      method: 'PATCH',
      path: `/apis/apiregistration.k8s.io/v1/apiservices/${encodeURIComponent(this.options.apiService)}`,
      contentType: 'application/merge-patch+json',
      body: { spec: { caBundle: encode(bundle) } },
    });
    this.log.info({ apiService: this.options.apiService, cas: parsePemBundle(bundle).length }, 'set the APIService\'s caBundle to the Secret\'s CAs');
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.reconcileSoon(), Math.max(0, Math.min(maxWaitMs, at - Date.now())) + 10);
    this.timer.unref();
  }
}
