// The benchmark's notebook: about 2 KiB as sent — a realistic template with env, resources and a port, labels,
// and a long annotation — the same bytes for every backend and path, only the apiVersion differs.
import { request, type Agent } from 'node:https';
import type { KubeObject } from '../src/api/meta/types.js';

export function benchNotebook(name: string, seq: number, apiVersion = 'ai.example.io/v1alpha1'): KubeObject {
  return {
    apiVersion,
    kind: 'Notebook',
    metadata: {
      name,
      labels: { team: `t${seq % 10}`, tier: seq % 2 ? 'gpu' : 'cpu', seq: String(seq) },
      annotations: { 'example.io/description': 'x'.repeat(1280) },
    },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'notebook',
              image: 'jupyter/scipy-notebook:2024-01-01',
              env: Array.from({ length: 8 }, (_, e) => ({ name: `VAR_${e}`, value: `value-${e}` })),
              resources: { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' } },
              ports: [{ containerPort: 8888, name: 'http', protocol: 'TCP' }],
            },
          ],
        },
      },
      workspace: { size: '10Gi' },
    },
  };
}

/** Runs `task` for 0..count-1 with at most `concurrency` at a time. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/**
 * Reads `body` to its end (or until `stop` says so) without keeping it, counting each needle's occurrences,
 * whether or not one is split across chunks: a LIST or watch of 100,000 objects is hundreds of megabytes.
 */
export async function countWhileReading(body: AsyncIterable<unknown>, needles: string[], stop: (counts: number[]) => boolean): Promise<number[]> {
  const counts = needles.map(() => 0);
  const carry = needles.map(() => '');
  for await (const chunk of body) {
    // latin1 maps every byte to one character: the ASCII needles match the same, and no decoder state spans chunks.
    const text = (chunk as Buffer).toString('latin1');
    needles.forEach((needle, n) => {
      const window = carry[n] + text;
      for (let at = window.indexOf(needle); at >= 0; at = window.indexOf(needle, at + needle.length)) counts[n]!++;
      // Shorter than the needle, so a match is never counted twice, yet long enough to complete one split here.
      carry[n] = window.slice(Math.max(0, window.length - needle.length + 1));
    });
    if (stop(counts)) break;
  }
  return counts;
}

/**
 * Notes when each benchmark notebook's ADDED event arrives on a watch, by its "seq" label, until the stream ends or
 * is aborted. The label is unique to the benchmark: no need to parse 2 KiB per event per watcher.
 */
export async function recordArrivals(body: AsyncIterable<unknown>, seen: number[]): Promise<void> {
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += (chunk as Buffer).toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const seq = /"seq":"(\d+)"/.exec(line);
        if (seq && line.startsWith('{"type":"ADDED"')) seen[Number(seq[1])] = performance.now();
      }
    }
  } catch {
    // Aborted once the measurement is over.
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
export const progress = (message: string): void => void process.stderr.write(`… ${message}\n`);

/** One HTTPS request to the server, its whole answer read. */
export type HttpsCall = (path: string, init?: { method?: string; body?: string; contentType?: string }) => Promise<{ status: number; body: string }>;

export function httpsClient(url: string, token: string | undefined, agent: Agent): HttpsCall {
  return (path, init = {}) =>
    new Promise((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        {
          method: init.method ?? 'GET',
          agent,
          headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.body === undefined ? {} : { 'Content-Type': init.contentType ?? 'application/json' }) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
}
