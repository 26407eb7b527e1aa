// What jobs/logs needs from kube-apiserver, as this server's own identity: the pods of a job and each one's log
// stream (pods/log). Logs go through the transport the SDK also uses, so every option is sent as given (tailLines=0
// included), the stream can be cut, and a refusal is a StatusError.
import type { IncomingMessage } from 'node:http';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Transport } from './transport.js';

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  sinceSeconds?: number;
}

export interface PodLogs {
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** The log of one container; rejects with a StatusError when kube-apiserver refuses (e.g. still waiting to start). */
  stream(namespace: string, pod: string, container: string, options: LogOptions, signal: AbortSignal): Promise<IncomingMessage>;
}

export function kubePodLogs(kc: KubeConfig): PodLogs {
  const core = kc.makeApiClient(CoreV1Api);
  const transport = new Transport(kc);
  return {
    listPods: async (namespace, labelSelector) => (await core.listNamespacedPod({ namespace, labelSelector })).items,
    stream: (namespace, pod, container, options, signal) =>
      transport.open({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
        query: { container, follow: options.follow ? 'true' : undefined, tailLines: options.tailLines, sinceSeconds: options.sinceSeconds },
        signal,
      }),
  };
}
