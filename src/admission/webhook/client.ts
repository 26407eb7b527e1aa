// One call to a webhook, as k8s.io/apiserver's webhook client makes it: POST of a JSON AdmissionReview over HTTPS
// (the caBundle, else the system's roots; the service's DNS name as SNI), `?timeout=Ns` as client-go's Request.Timeout
// adds it, aborted at the webhook's timeout or when the request is. Failures are worded as Go's HTTP client words them,
// since kube-apiserver passes them on in its messages.
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { ApiError, apiErrors } from '../../api/meta/errors.js';
import type { Status } from '../../api/meta/types.js';
import type { WebhookClientConfig } from './types.js';

/**
 * The largest answer read from a webhook. kube-apiserver (v1.32) reads a webhook's answer whole; here an answer past
 * this fails the call, so a hostile webhook cannot fill the server's memory. An AdmissionReview holds at most a patch
 * of an object the store caps at 1.5 MiB, base64 encoded, plus warnings.
 */
export const maxResponseBytes = 8 * 1024 * 1024;

/** kube's ErrCallingWebhook: the call failed, as opposed to the webhook refusing. */
export class WebhookCallError extends Error {
  constructor(
    readonly webhook: string,
    readonly reason: string,
    /** What kube records as the call's status (its code labels the metrics). */
    readonly status: ApiError,
    /** The request itself was cancelled (context canceled), not the webhook. */
    readonly cancelled = false,
  ) {
    super(`failed calling webhook ${JSON.stringify(webhook)}: ${reason}`);
  }
}

/** Where a client config sends its calls, and the name its certificate must carry. */
export function endpointOf(config: WebhookClientConfig): { url: URL; serverName: string | undefined } {
  if (config.service) {
    const { name, namespace, path, port } = config.service;
    // kube's default service resolver: the Service's cluster DNS name, https, port 443 unless given.
    const host = `${name}.${namespace}.svc`;
    return { url: new URL(`https://${host}:${port ?? 443}${path ?? ''}`), serverName: host };
  }
  const url = new URL(config.url ?? '');
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return { url, serverName: isIP(hostname) ? undefined : hostname };
}

/**
 * Connections kept open between calls, one agent per endpoint and trust (kube's webhook client manager caches its REST
 * clients likewise): a TLS handshake per admitted write would cost more than most webhooks take to answer. Bounded;
 * the agent used least recently is closed first.
 */
const agents = new Map<string, HttpAgent>();
const maxAgents = 64;

function agentFor(url: URL, caBundle: string | undefined, serverName: string | undefined): HttpAgent {
  const key = JSON.stringify([url.protocol, url.host, caBundle ?? '', serverName ?? '']);
  let agent = agents.get(key);
  if (agent) {
    agents.delete(key);
  } else {
    const options = { keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 16, timeout: 90_000 };
    agent = url.protocol === 'http:' ? new HttpAgent(options) : new HttpsAgent({ ...options, ...(caBundle ? { ca: caBundle } : {}), ...(serverName ? { servername: serverName } : {}) });
    if (agents.size >= maxAgents) {
      const [oldestKey, oldest] = agents.entries().next().value as [string, HttpAgent];
      agents.delete(oldestKey);
      oldest.destroy();
    }
  }
  agents.set(key, agent);
  return agent;
}

export interface CallOptions {
  name: string;
  config: WebhookClientConfig;
  body: string;
  timeoutSeconds: number;
  /** The request's own signal: a client that went away cancels the call. */
  signal?: AbortSignal;
}

/** Posts the review; resolves with the decoded answer, or rejects with a WebhookCallError. */
export async function callWebhook(options: CallOptions): Promise<unknown> {
  let endpoint: { url: URL; serverName: string | undefined };
  try {
    endpoint = endpointOf(options.config);
  } catch (error) {
    throw new WebhookCallError(options.name, `Unparsable URL: ${(error as Error).message}`, apiErrors.badRequest('error getting REST client'));
  }
  const url = endpoint.url;
  url.searchParams.set('timeout', `${options.timeoutSeconds}s`);
  const shown = JSON.stringify(url.href);
  const deadline = AbortSignal.timeout(options.timeoutSeconds * 1000);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const failed = (why: string, status: ApiError = apiErrors.badRequest('error calling webhook')): WebhookCallError =>
    new WebhookCallError(options.name, `failed to call webhook: ${why}`, status, options.signal?.aborted === true && !deadline.aborted);
  const caBundle = options.config.caBundle ? Buffer.from(options.config.caBundle, 'base64').toString('utf8') : undefined;
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  let response: IncomingMessage;
  try {
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, */*', 'Content-Length': Buffer.byteLength(options.body) },
          signal,
          ...(caBundle ? { ca: caBundle } : {}),
          ...(endpoint.serverName ? { servername: endpoint.serverName } : {}),
          agent: agentFor(url, caBundle, endpoint.serverName),
        },
        resolve,
      );
      req.on('error', reject);
      req.end(options.body);
    });
  } catch (error) {
    throw failed(`Post ${shown}: ${goNetError(error, url, signal, deadline)}`);
  }
  let text: string;
  try {
    text = await readCapped(response, signal);
  } catch (error) {
    throw failed(`Post ${shown}: ${goNetError(error, url, signal, deadline)}`);
  }
  const code = response.statusCode ?? 0;
  if (code < 200 || code > 299) throw failed(...serverError(code, text));
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw failed(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

class TooLarge extends Error {}

async function readCapped(response: IncomingMessage, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > maxResponseBytes) {
      response.destroy();
      throw new TooLarge(`the response is larger than ${maxResponseBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
    if (signal.aborted) throw signal.reason;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** What Go's net/http says where Node gives an error code. */
function goNetError(error: unknown, url: URL, signal: AbortSignal, deadline: AbortSignal): string {
  if (deadline.aborted) return 'context deadline exceeded';
  if (signal.aborted) return 'context canceled';
  if (error instanceof TooLarge) return error.message;
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const addr = e.address !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` : url.host;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is valid for other names, not ${url.hostname}`;
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    default:
      return e.message ?? String(error);
  }
}

/**
 * client-go's answer to a non-2xx response: the Status the webhook sent, else its generic error for the code; the
 * call's status is that error, as kube records it.
 */
function serverError(code: number, text: string): [string, ApiError] {
  try {
    const body = JSON.parse(text) as Partial<Status>;
    if (body && body.kind === 'Status' && typeof body.message === 'string') {
      const status = new ApiError(typeof body.code === 'number' ? body.code : code, body.reason ?? '', body.message, body.details);
      return [body.message, status];
    }
  } catch {
    // Not a Status: the generic error below.
  }
  const trimmed = text.trim();
  let message: string;
  let reason = 'InternalError';
  switch (code) {
    case 404:
      message = 'the server could not find the requested resource';
      reason = 'NotFound';
      break;
    case 401:
      message = 'Unauthorized';
      reason = 'Unauthorized';
      break;
    case 403:
      message = trimmed || 'Forbidden';
      reason = 'Forbidden';
      break;
    case 500:
      message = `an error on the server (${JSON.stringify(trimmed.slice(0, 1024))}) has prevented the request from succeeding`;
      break;
    case 503:
      message = `the server is currently unable to handle the request`;
      reason = 'ServiceUnavailable';
      break;
    case 504:
      message = 'the server was unable to return a response in the time allotted, but may still be processing the request';
      reason = 'Timeout';
      break;
    default:
      message = `the server responded with the status code ${code} but did not return more information`;
      reason = 'Unknown';
  }
  return [message, new ApiError(code, reason, message)];
}
