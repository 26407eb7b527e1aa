// kube-system/extension-apiserver-authentication: the CAs and header names kube-apiserver publishes for
// aggregated servers. Watched, so a rotated CA takes effect from the next request without a restart.
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
  private stopWatch: (() => void) | undefined;
  private readonly log: Logger;

  constructor(
    private readonly api: KubeApi,
    logger: Logger,
    private readonly onChange: (config: AuthenticationConfig) => void,
  ) {
    this.log = logger.child({ component: 'authentication-config' });
  }

  get config(): AuthenticationConfig {
    return this.current;
  }

  /**
   * Resolves once the ConfigMap is read (rejects when it does not exist), then follows its changes through a watch,
   * so a rotated CA counts from the next request on rather than after a polling interval.
   */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let started = false;
      this.stopWatch = this.api.watchConfigMap(
        'kube-system',
        'extension-apiserver-authentication',
        (data, resourceVersion) => {
          if (!data) {
            if (!started) {
              started = true;
              this.stop();
              reject(new Error('configmap kube-system/extension-apiserver-authentication not found'));
            } else this.log.warn('extension-apiserver-authentication was deleted; keeping the configuration last read');
            return;
          }
          this.apply(data, resourceVersion);
          if (!started) {
            started = true;
            resolve();
          }
        },
        (error) => {
          this.log.warn({ err: error }, 'could not follow extension-apiserver-authentication; retrying');
          if (!started && this.failedBeforeStart(error)) {
            started = true;
            this.stop();
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
      );
    });
  }

  stop(): void {
    this.stopWatch?.();
  }

  /** A refusal (403, 401) cannot heal by retrying at startup: the server exits with it, as it did when polling. */
  private failedBeforeStart(error: unknown): boolean {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' && code >= 400 && code < 500;
  }

  private apply(data: Record<string, string>, resourceVersion: string): void {
    const raw = JSON.stringify(data);
    if (raw === this.lastRaw) return;
    this.current = parseAuthenticationConfig(data);
    this.lastRaw = raw;
    this.log.info(
      { requestHeader: this.current.requestHeader !== undefined, allowedNames: this.current.requestHeader?.allowedNames, resourceVersion, from: 'watch' },
      'authentication config loaded',
    );
    this.onChange(this.current);
  }
}
