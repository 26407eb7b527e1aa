// What jobs/logs needs from kube-apiserver, as this server's own identity: the pods of a job and each one's log
// stream (pods/log), read over @kubernetes/client-node's credentials with our own request so every option is sent
// as given (tailLines=0 included) and the stream can be cut.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  sinceSeconds?: number;
}

export class PodLogError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface PodLogs {
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** The log of one container; rejects with PodLogError when kube-apiserver refuses (e.g. still waiting to start). */
  stream(namespace: string, pod: string, container: string, options: LogOptions, signal: AbortSignal): Promise<IncomingMessage>;
}

export function kubePodLogs(kc: KubeConfig): PodLogs {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    listPods: async (namespace, labelSelector) => (await core.listNamespacedPod({ namespace, labelSelector })).items,
    stream: async (namespace, pod, container, options, signal) => {
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new PodLogError(500, 'no current cluster in the kubeconfig');
      const url = new URL(`${cluster.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`);
      url.searchParams.set('container', container);
      if (options.follow) url.searchParams.set('follow', 'true');
      if (options.tailLines !== undefined) url.searchParams.set('tailLines', String(options.tailLines));
      if (options.sinceSeconds !== undefined) url.searchParams.set('sinceSeconds', String(options.sinceSeconds));
      const requestOptions: RequestOptions = { method: 'GET', signal };
      await kc.applyToHTTPSOptions(requestOptions);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<IncomingMessage>((resolve, reject) => {
        const req = send(url, requestOptions, (res) => {
          if (res.statusCode === 200) return resolve(res);
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            let message = body;
            try {
              message = (JSON.parse(body) as { message?: string }).message ?? body;
            } catch {
              // Not a Status: keep the text.
            }
            reject(new PodLogError(res.statusCode ?? 500, message));
          });
        });
        req.on('error', reject);
        req.end();
      });
    },
  };
}
