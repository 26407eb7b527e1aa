// http(s):// sources: one URL is one file, named by the last segment of its path. A resume is a Range request with
// If-Range (a strong ETag, else Last-Modified), so a server whose object changed answers with the whole new object
// instead of the rest of the old one; redirects are followed (download links often are one).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { LoadError } from './errors.js';
import type { Open, Opened } from './download.js';

const maxRedirects = 5;

export interface HttpObject {
  /** The file's name in the dataset. */
  path: string;
  open: Open;
}

export function httpObject(uri: string, idleTimeoutMs: number): HttpObject {
  const url = new URL(uri);
  const last = url.pathname.split('/').pop() ?? '';
  if (!last) throw new LoadError(`${shown(url)}: an http(s) source names one file, and this URL's path names none`, true);
  return { path: decodeURIComponent(last), open: (offset, validator, signal) => openUrl(url, offset, validator, signal, idleTimeoutMs, 0) };
}

/** The URL as messages and logs show it: without credentials or query (a presigned URL's signature is one). */
export function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

async function openUrl(url: URL, offset: number, validator: string | undefined, signal: AbortSignal, idleTimeoutMs: number, redirects: number): Promise<Opened | 'complete'> {
  const headers: Record<string, string> = { 'User-Agent': 'ai-apiserver-dataset-loader', 'Accept-Encoding': 'identity' };
  if (offset > 0 && validator) {
    headers.Range = `bytes=${offset}-`;
    headers['If-Range'] = validator;
  }
  const res = await get(url, headers, signal, idleTimeoutMs);
  const status = res.statusCode ?? 0;
  const header = (name: string): string | undefined => {
    const value = res.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  if ([301, 302, 303, 307, 308].includes(status) && header('location')) {
    res.resume();
    if (redirects >= maxRedirects) throw new LoadError(`${shown(url)}: more than ${maxRedirects} redirects`, true);
    return openUrl(new URL(header('location')!, url), offset, validator, signal, idleTimeoutMs, redirects + 1);
  }
  const etag = header('etag');
  const lastModified = header('last-modified');
  const nextValidator = etag && !etag.startsWith('W/') ? etag : lastModified;
  if (status === 200) {
    const length = header('content-length');
    return { start: 0, ...(length !== undefined ? { total: Number(length) } : {}), validator: nextValidator, etag, body: res };
  }
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header('content-range') ?? '');
    if (!range) {
      res.resume();
      throw new LoadError(`${shown(url)}: a 206 answer without a usable Content-Range (${header('content-range') ?? 'none'})`, false);
    }
    return { start: Number(range[1]), ...(range[3] !== '*' ? { total: Number(range[3]) } : {}), validator: nextValidator, etag, body: res };
  }
  res.resume();
  if (status === 416) {
    // Nothing after offset: complete if that is the object's size, otherwise the object shrank: start again.
    const size = /^bytes \*\/(\d+)$/.exec(header('content-range') ?? '')?.[1];
    if (size !== undefined && Number(size) === offset) return 'complete';
    return openUrl(url, 0, undefined, signal, idleTimeoutMs, redirects);
  }
  const line = `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
  if (status === 404 || status === 410) throw new LoadError(`${shown(url)}: ${line}: the file does not exist on the server`, true);
  if (status === 401 || status === 403) throw new LoadError(`${shown(url)}: ${line}: the server refuses to serve it (it needs credentials, or they are not allowed)`, true);
  if (status === 408 || status === 429 || status >= 500) throw new LoadError(`${shown(url)}: ${line}`, false);
  throw new LoadError(`${shown(url)}: ${line}`, true);
}

function get(url: URL, headers: Record<string, string>, signal: AbortSignal, idleTimeoutMs: number): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LoadError(`${shown(url)}: not an http(s) URL`, true);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { headers, signal }, resolve);
    // The socket's idle timeout also covers the body: a server that stops sending mid-file is an interruption.
    req.setTimeout(idleTimeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}
