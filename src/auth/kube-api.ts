// The few kube-apiserver calls the server makes for delegated authentication, authorization and namespace
// lifecycle, on @kubernetes/client-node. One interface, so the rest of auth/ does not depend on the client.
import {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  type V1SubjectAccessReviewSpec,
} from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/kubeconfig.js';

export interface TokenReviewResult {
  authenticated: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

export interface KubeApi {
  tokenReview(token: string): Promise<TokenReviewResult>;
  subjectAccessReview(spec: V1SubjectAccessReviewSpec): Promise<{ allowed: boolean; denied?: boolean; reason?: string }>;
  /** The data of a ConfigMap, undefined when it does not exist. */
  configMapData(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A namespace's phase, undefined when it does not exist. */
  namespacePhase(name: string): Promise<string | undefined>;
}

/** `kubeconfig` is a file; without one the in-cluster service account is used. */
export function kubeApi(kubeconfig?: string): KubeApi {
  const kc = loadKubeConfig(kubeconfig);
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const orUndefinedOn404 = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  };
  return {
    tokenReview: async (token) => {
      const review = await authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
      return { authenticated: review.status?.authenticated === true, user: review.status?.user };
    },
    subjectAccessReview: async (spec) => {
      const review = await authz.createSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
      });
      return { allowed: review.status?.allowed === true, denied: review.status?.denied, reason: review.status?.reason };
    },
    configMapData: async (namespace, name) =>
      (await orUndefinedOn404(() => core.readNamespacedConfigMap({ namespace, name })))?.data ?? undefined,
    namespacePhase: async (name) => {
      const ns = await orUndefinedOn404(() => core.readNamespace({ name }));
      return ns ? (ns.status?.phase ?? 'Active') : undefined;
    },
  };
}
