// Who may do what: standalone (static tokens, every authenticated user allowed) or delegated to kube-apiserver
// (front proxy, client certificates, TokenReview; SubjectAccessReview; namespace lifecycle).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AuthenticationConfigSource, type AuthenticationConfig } from './auth/authentication-config.js';
import { DelegatingAuthenticator } from './auth/delegating-authenticator.js';
import { kubeApi } from './auth/kube-api.js';
import { SarAuthorizer } from './auth/sar-authorizer.js';
import { TokenAuthenticator } from './auth/token-file.js';
import type { Authenticator, Authorizer } from './auth/user.js';
import type { Config } from './config.js';
import type { NamespaceLifecycle } from './registry/strategy.js';
import { KubeNamespaceLifecycle } from './server/namespace-lifecycle.js';

export interface Security {
  authenticator: Authenticator;
  authorizer: Authorizer;
  namespaces?: NamespaceLifecycle;
  /** CAs to request client certificates for, when any. */
  clientCaPem?: string;
  /** Called with new client CAs when kube-apiserver rotates them. */
  watchClientCas(onChange: (pem: string) => void): void;
  /** A token for --write-kubeconfig (standalone only). */
  kubeconfigToken?: string;
  stop(): void;
}

const allowAuthenticated: Authorizer = { authorize: async () => ({ allowed: true, reason: '' }) };

function caBundle(config: AuthenticationConfig): string {
  return [config.clientCaPem, config.requestHeader?.caPem ?? ''].filter(Boolean).join('\n');
}

export async function buildSecurity(config: Config, logger: Logger): Promise<Security> {
  if (config.standalone) {
    let authenticator: TokenAuthenticator;
    let token: string;
    if (config.tokenAuthFile) {
      authenticator = TokenAuthenticator.fromFile(config.tokenAuthFile);
      const first = authenticator.firstToken();
      if (!first) throw new Error(`${config.tokenAuthFile} holds no token`);
      token = first;
    } else {
      // No token file: one random admin token (the same in every worker), shown only through --write-kubeconfig.
      token = config.worker?.standalone?.token ?? randomBytes(24).toString('base64url');
      authenticator = new TokenAuthenticator(new Map([[token, { name: 'admin', uid: '', groups: ['system:masters', 'system:authenticated'], extra: {} }]]));
    }
    return { authenticator, authorizer: allowAuthenticated, watchClientCas: () => undefined, kubeconfigToken: token, stop: () => undefined };
  }
  const api = kubeApi(config.kubeconfig);
  let listener: ((pem: string) => void) | undefined;
  const source = new AuthenticationConfigSource(api, logger, (authConfig) => listener?.(caBundle(authConfig)));
  await source.start();
  return {
    authenticator: new DelegatingAuthenticator(() => source.config, api, logger),
    authorizer: new SarAuthorizer(api, logger),
    namespaces: new KubeNamespaceLifecycle(api),
    clientCaPem: caBundle(source.config),
    watchClientCas: (onChange) => {
      listener = onChange;
    },
    stop: () => source.stop(),
  };
}
