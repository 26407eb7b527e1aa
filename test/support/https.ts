// One HTTPS request read to its end: how the suites ask this server and kube-apiserver when they need the raw
// status, headers and body rather than a client's view of them.
import type { IncomingHttpHeaders } from 'node:http';
import { request, type RequestOptions } from 'node:https';

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function httpsCall(url: string, options: RequestOptions, body?: string | Buffer): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
