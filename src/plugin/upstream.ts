// The user's kube-apiserver as the plugin reaches it: the current context's server, with the credentials client-node's
// KubeConfig applies (client certificates, bearer tokens, token files, exec credential plugins, auth providers).
// Credentials are applied again for every request, as an exec plugin's token expires; the connection pool is kept
// for as long as the TLS material stays the same, so a browser loading a notebook's many files does not pay a
// handshake each.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface UpstreamRequest {
  method: string;
  /** Path and query, as the client sent them (`/apis/…?watch=true`). */
  path: string;
  headers: OutgoingHttpHeaders;
}

export class Upstream {
  private readonly base: URL;
  private pool: { key: string; agent: HttpAgent } | undefined;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.base = new URL(cluster.server);
  }

  /** kube-apiserver's URL for a request path, under the server's own path prefix when the kubeconfig names one. */
  url(path: string): URL {
    return new URL(this.base.href.replace(/\/+$/, '') + path);
  }

  /** A request to kube-apiserver with the user's credentials; the caller writes its body and listens for the answer. */
  async request(call: UpstreamRequest): Promise<ClientRequest> {
    const options: RequestOptions = { method: call.method, headers: { ...call.headers } };
    await this.kc.applyToHTTPSOptions(options);
    options.agent = this.agent(options);
    const url = this.url(call.path);
    return (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options);
  }

  /** The kept pool, or a new one when the TLS material changed (an exec plugin's new client certificate). */
  private agent(options: RequestOptions): HttpAgent {
    // client-node's own agent is where a proxy-url of the kubeconfig lives: a pool of ours would bypass it.
    if (this.kc.getCurrentCluster()?.proxyUrl) return options.agent as HttpAgent;
    const tls = [options.ca, options.cert, options.key, options.pfx, options.passphrase, options.rejectUnauthorized, options.servername];
    const key = JSON.stringify(tls.map((part) => (Buffer.isBuffer(part) ? part.toString('base64') : part)));
    if (this.pool?.key !== key) {
      this.pool?.agent.destroy();
      const agentOptions = { keepAlive: true, ca: options.ca, cert: options.cert, key: options.key, pfx: options.pfx, passphrase: options.passphrase, servername: options.servername, ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }) };
      this.pool = { key, agent: this.base.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent({ keepAlive: true }) };
    }
    return this.pool.agent;
  }

  /** Closes the kept connections. */
  close(): void {
    this.pool?.agent.destroy();
    this.pool = undefined;
  }
}
