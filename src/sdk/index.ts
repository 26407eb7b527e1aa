// The TypeScript SDK of ai.example.io/v1alpha1: typed clients built on @kubernetes/client-node's KubeConfig.
//   const ai = AiClient.fromKubeConfig(kc); await ai.notebooks.get('team-a', 'lab');
import type { KubeConfig } from '@kubernetes/client-node';
import { ResourceClients } from './clients.js';
import { Transport } from '../kube/transport.js';

export { StatusError } from '../kube/status-error.js';
export { Informer } from './informer.js';
export { ResourceClient, type List, type ListOptions, type Patch, type Scale, type WatchEvent, type WatchOptions, type WriteOptions } from './resource.js';
export type { Dataset, Job, Notebook } from './clients.js';
export type { JobProgress } from '../api/v1alpha1/types.js';

/** A client of every resource (src/sdk/clients.ts, generated from the list of resources). */
export class AiClient extends ResourceClients {
  private constructor(transport: Transport) {
    super(transport);
  }

  static fromKubeConfig(kc: KubeConfig): AiClient {
    return new AiClient(new Transport(kc));
  }
}
