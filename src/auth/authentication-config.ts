// kube-system/extension-apiserver-authentication: the CAs and header names kube-apiserver publishes for
// aggregated servers. Re-read periodically so a rotated CA takes effect without a restart.
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeApi } from './kube-api.js';

export interface RequestHeaderConfig {
  caPem: string;
  cas: X509Certificate[];
  /** Empty means any CN signed by the CA. */
  allowedNames: string[];
  usernameHeaders: string[];
  groupHeaders: string[];
  extraPrefixes: string[];
}

export interface AuthenticationConfig {
  clientCaPem: string;
  clientCas: X509Certificate[];
  requestHeader?: RequestHeaderConfig;
}

export function parsePemBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

function jsonList(value: string | undefined): string[] {
  if (!value) return [];
  const parsed = JSON.parse(value) as unknown;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

export function parseAuthenticationConfig(data: Record<string, string>): AuthenticationConfig {
  const clientCaPem = data['client-ca-file'] ?? '';
  const config: AuthenticationConfig = { clientCaPem, clientCas: parsePemBundle(clientCaPem) };
  const requestHeaderCa = data['requestheader-client-ca-file'];
  if (requestHeaderCa) {
    config.requestHeader = {
      caPem: requestHeaderCa,
      cas: parsePemBundle(requestHeaderCa),
      allowedNames: jsonList(data['requestheader-allowed-names']),
      usernameHeaders: jsonList(data['requestheader-username-headers']).map((h) => h.toLowerCase()),
      groupHeaders: jsonList(data['requestheader-group-headers']).map((h) => h.toLowerCase()),
      extraPrefixes: jsonList(data['requestheader-extra-headers-prefix']).map((h) => h.toLowerCase()),
    };
  }
  return config;
}

export class AuthenticationConfigSource {
  private current: AuthenticationConfig = { clientCaPem: '', clientCas: [] };
  private lastRaw = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly api: KubeApi,
    logger: Logger,
    private readonly onChange: (config: AuthenticationConfig) => void,
    private readonly intervalMs = 10_000,
  ) {
    this.log = logger.child({ component: 'authentication-config' });
  }

  get config(): AuthenticationConfig {
    return this.current;
  }

  /** Reads the ConfigMap once (failing if it cannot), then keeps re-reading it. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.log.warn({ err: error }, 'could not re-read extension-apiserver-authentication'));
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    const data = await this.api.configMapData('kube-system', 'extension-apiserver-authentication');
    if (!data) throw new Error('configmap kube-system/extension-apiserver-authentication not found');
    const raw = JSON.stringify(data);
    if (raw === this.lastRaw) return;
    this.current = parseAuthenticationConfig(data);
    this.lastRaw = raw;
    this.log.info({ requestHeader: this.current.requestHeader !== undefined, allowedNames: this.current.requestHeader?.allowedNames }, 'authentication config loaded');
    this.onChange(this.current);
  }
}
