// The user's kubeconfig as kubectl reads it. kubectl hands a plugin none of its own flags, so the plugin takes
// kubectl's: --kubeconfig (else KUBECONFIG's files, merged, else ~/.kube/config), --context, and -n/--namespace
// (else the context's namespace, else "default").
import { KubeConfig } from '@kubernetes/client-node';

/** A kubeconfig that cannot serve the flags given; kubectl reports these as "Error in configuration". */
export class ConfigurationError extends Error {}

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface UserKubeConfig {
  kubeConfig: KubeConfig;
  namespace: string;
}

export function loadUserKubeConfig(flags: KubeFlags): UserKubeConfig {
  const kubeConfig = new KubeConfig();
  if (flags.kubeconfig) kubeConfig.loadFromFile(flags.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (flags.context !== undefined) {
    // kubectl's words (clientcmd's validation) for a context the files do not have.
    if (!kubeConfig.getContextObject(flags.context)) throw new ConfigurationError(`context was not found for specified context: ${flags.context}`);
    kubeConfig.setCurrentContext(flags.context);
  }
  const namespace = flags.namespace || kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || 'default';
  return { kubeConfig, namespace };
}
