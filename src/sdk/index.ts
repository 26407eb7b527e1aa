// The TypeScript SDK of ai.example.io/v1alpha1: typed clients built on @kubernetes/client-node's KubeConfig.
//   const ai = AiClient.fromKubeConfig(kc); await ai.notebooks.get('team-a', 'lab');
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta/types.js';
import type { Dataset as DatasetShape, Job as JobShape, Notebook as NotebookShape } from '../api/v1alpha1/types.js';
import { group, version } from '../api/v1alpha1/schemas.js';
import { ResourceClient } from './resource.js';
import { Transport } from '../kube/transport.js';

export { StatusError } from '../kube/status-error.js';
export { Informer } from './informer.js';
export { ResourceClient, type List, type ListOptions, type Patch, type Scale, type WatchEvent, type WatchOptions, type WriteOptions } from './resource.js';

/** The kinds as the server returns them: the generated types with the object envelope every object has. */
export type Notebook = NotebookShape & KubeObject;
export type Job = JobShape & KubeObject;
export type Dataset = DatasetShape & KubeObject;

export class AiClient {
  readonly notebooks: ResourceClient<Notebook>;
  readonly jobs: ResourceClient<Job>;
  readonly datasets: ResourceClient<Dataset>;

  private constructor(transport: Transport) {
    this.notebooks = new ResourceClient(transport, group, version, 'notebooks');
    this.jobs = new ResourceClient(transport, group, version, 'jobs');
    this.datasets = new ResourceClient(transport, group, version, 'datasets');
  }

  static fromKubeConfig(kc: KubeConfig): AiClient {
    return new AiClient(new Transport(kc));
  }
}
