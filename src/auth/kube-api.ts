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
import { Transport } from '../kube/transport.js';
import { watchObject } from '../kube/watch-object.js';

export interface TokenReviewResult {
  authenticated: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

export interface KubeApi {
  tokenReview(token: string): Promise<TokenReviewResult>;
  subjectAccessReview(spec: V1SubjectAccessReviewSpec): Promise<{ allowed: boolean; denied?: boolean; reason?: string }>;
  /**
   * Follows a ConfigMap (a list and watch of that one name): `onChange` gets its data and resourceVersion after every
   * change, undefined when it does not exist; failures go to `onError` and are retried. Returns the stop function.
   */
  watchConfigMap(
    namespace: string,
    name: string,
    onChange: (data: Record<string, string> | undefined, resourceVersion: string) => void,
    onError: (error: unknown) => void,
  ): () => void;
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
    watchConfigMap: (namespace, name, onChange, onError) =>
      watchObject<{ data?: Record<string, string>; metadata?: { resourceVersion?: string } }>(new Transport(kc), {
        collection: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
        name,
        onChange: (configMap) => onChange(configMap ? (configMap.data ?? {}) : undefined, configMap?.metadata?.resourceVersion ?? ''),
        onError,
      }),
    namespacePhase: async (name) => {
      const ns = await orUndefinedOn404(() => core.readNamespace({ name }));
      return ns ? (ns.status?.phase ?? 'Active') : undefined;
    },
  };
}
