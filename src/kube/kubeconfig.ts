// How this server reaches kube-apiserver in delegated mode: a kubeconfig file, or in a pod the in-cluster
// configuration (KUBERNETES_SERVICE_HOST/PORT, and the ServiceAccount's token and CA the kubelet mounts at
// /var/run/secrets/kubernetes.io/serviceaccount). client-node reads that token file again every minute, as client-go
// does, so a projected token the kubelet rotates is taken up without a restart.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) kc.loadFromCluster();
  // client-node would go on with https://undefined:undefined; client-go's rest.InClusterConfig refuses, in these words.
  else throw new Error('unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined (or give --kubeconfig)');
  return kc;
}
