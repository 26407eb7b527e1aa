// How this server reaches kube-apiserver in delegated mode: a kubeconfig file, or the in-cluster service account.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromCluster();
  return kc;
}
