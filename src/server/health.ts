// /healthz, /livez and /readyz with kube-apiserver's output: "ok", or per-check lines with ?verbose. /readyz
// fails first during shutdown so load balancers stop sending new requests before the server stops.
import type { HttpsFastify } from './types.js';

export interface HealthCheck {
  name: string;
  /** Resolves when healthy; rejects (with a reason kept out of the response) when not. */
  check(): Promise<void>;
}

export function registerHealth(app: HttpsFastify, checks: { livez: HealthCheck[]; readyz: HealthCheck[] }): void {
  const serve = (path: 'healthz' | 'livez' | 'readyz', list: HealthCheck[]): void => {
    app.get(`/${path}`, async (request, reply) => {
      const results = await Promise.all(
        list.map(async (c) => {
          try {
            await c.check();
            return { name: c.name, ok: true };
          } catch (error) {
            request.log.warn({ check: c.name, err: error }, `${path} check failed`);
            return { name: c.name, ok: false };
          }
        }),
      );
      const healthy = results.every((r) => r.ok);
      const verbose = (request.query as Record<string, unknown>).verbose !== undefined;
      reply.code(healthy ? 200 : 500).header('Content-Type', 'text/plain; charset=utf-8').header('X-Content-Type-Options', 'nosniff');
      if (healthy && !verbose) return 'ok';
      const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`));
      return `${lines.join('\n')}\n${path} check ${healthy ? 'passed' : 'failed'}\n`;
    });
  };
  serve('livez', checks.livez);
  serve('healthz', checks.readyz);
  serve('readyz', checks.readyz);
}
