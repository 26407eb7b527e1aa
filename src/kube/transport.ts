// HTTP to kube-apiserver with @kubernetes/client-node's KubeConfig doing what it is good at (files, contexts, auth
// plugins, TLS): it fills the request options, this module only sends requests and reads answers. The SDK's clients
// and the server's own calls to kube-apiserver (pods/log) share it.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { StatusError, statusFromResponse } from './status-error.js';

export interface Call {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class Transport {
  constructor(private readonly kc: KubeConfig) {}

  private url(call: Call): URL {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + call.path);
    for (const [key, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  /** Sends a request and resolves with the response once its headers arrive; non-2xx answers reject with a StatusError. */
  async open(call: Call): Promise<IncomingMessage> {
    const url = this.url(call);
    const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
    // Content-Length always: for a DELETE, node:http sends a body with neither it nor chunked encoding, which a
    // server reads as an empty body followed by a malformed request on the kept-alive connection.
    const bodyHeaders = body === undefined ? {} : { 'Content-Type': call.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const options: RequestOptions = {
      method: call.method,
      headers: { Accept: 'application/json', ...bodyHeaders },
      ...(call.signal ? { signal: call.signal } : {}),
    };
    await this.kc.applyToHTTPSOptions(options);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, options, (res) => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) return resolve(res);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => reject(new StatusError(statusFromResponse(code, text))));
        res.on('error', reject);
      });
      req.on('error', (error) => reject(call.signal?.aborted ? error : new StatusError(statusFromResponse(0, error.message))));
      req.end(body);
    });
  }

  async json<T>(call: Call): Promise<T> {
    const res = await this.open(call);
    let text = '';
    res.setEncoding('utf8');
    for await (const chunk of res) text += chunk as string;
    return JSON.parse(text) as T;
  }
}
