// A stand-in for a Service's kube-proxy in front of several replicas of the server on one port: each new TCP
// connection goes, round robin, to a replica that is an endpoint, and stays with it until either side closes it.
// A replica becomes an endpoint once its readiness probe (GET /readyz, as the Deployment's readinessProbe) passes,
// and stops being one after failureThreshold failed probes in a row, or as soon as its pod is terminating (the
// endpoints controller drops it at deletion, before the process has even seen SIGTERM). Connections already open
// are left alone, as conntrack leaves them; a connection with no endpoint to go to is reset, as kube-proxy's
// REJECT rule refuses it.
import { request } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ReadinessProbe {
  periodMs: number;
  failureThreshold: number;
  timeoutMs: number;
}

interface Backend {
  port: number;
  ready: boolean;
  terminating: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  /** Connections handed to this replica. */
  connections: number;
}

export interface BalancerFigures {
  connections: number;
  /** Connections reset because no replica was an endpoint. */
  noEndpoint: number;
  /** Connections reset because the chosen replica refused or reset the connection to it. */
  backendFailed: number;
  /** Connections per replica, by name. */
  perReplica: Record<string, number>;
}

export class Balancer {
  private readonly backends = new Map<string, Backend>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private next = 0;
  private readonly figures = { connections: 0, noEndpoint: 0, backendFailed: 0 };

  constructor(private readonly probe: ReadinessProbe) {}

  listen(port: number): Promise<void> {
    const server = createServer({ pauseOnConnect: true }, (front) => this.route(front));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  /** A new replica on `port`: probed from now on, an endpoint once ready. */
  add(name: string, port: number): void {
    const backend: Backend = { port, ready: false, terminating: false, failures: 0, timer: undefined, connections: 0 };
    this.backends.set(name, backend);
    const tick = (): void => {
      void this.probeOnce(backend).then(() => {
        if (this.backends.get(name) === backend) backend.timer = setTimeout(tick, this.probe.periodMs);
      });
    };
    tick();
  }

  /** The replica's pod is being deleted: no new connections, whatever its probe says. */
  terminate(name: string): void {
    const backend = this.backends.get(name);
    if (backend) backend.terminating = true;
  }

  /** The replica is gone: no more probes. */
  remove(name: string): void {
    const backend = this.backends.get(name);
    clearTimeout(backend?.timer);
    this.backends.delete(name);
  }

  isEndpoint(name: string): boolean {
    const backend = this.backends.get(name);
    return backend !== undefined && backend.ready && !backend.terminating;
  }

  async waitEndpoint(name: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isEndpoint(name)) {
      if (Date.now() > deadline) throw new Error(`replica ${name} did not become an endpoint in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  report(): BalancerFigures {
    const perReplica: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [name, backend] of this.backends) perReplica[name] = backend.connections;
    return { ...this.figures, perReplica };
  }

  async close(): Promise<void> {
    for (const name of [...this.backends.keys()]) this.remove(name);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private route(front: Socket): void {
    this.figures.connections++;
    this.sockets.add(front);
    front.once('close', () => this.sockets.delete(front));
    const endpoints = [...this.backends.values()].filter((b) => b.ready && !b.terminating);
    if (endpoints.length === 0) {
      this.figures.noEndpoint++;
      reset(front);
      return;
    }
    const backend = endpoints[this.next++ % endpoints.length]!;
    backend.connections++;
    const back = connect(backend.port, '127.0.0.1');
    this.sockets.add(back);
    back.once('close', () => this.sockets.delete(back));
    let established = false;
    back.once('connect', () => {
      established = true;
      front.resume();
    });
    // FINs travel through the pipes (each side ends the other); a reset on one side resets the other.
    front.pipe(back);
    back.pipe(front);
    front.on('error', () => reset(back));
    back.on('error', () => {
      if (!established) this.figures.backendFailed++;
      reset(front);
    });
  }

  private probeOnce(backend: Backend): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        if (ok) {
          backend.failures = 0;
          backend.ready = true;
        } else if (++backend.failures >= this.probe.failureThreshold) {
          backend.ready = false;
        }
        resolve();
      };
      // The kubelet probes on a connection of its own each time and does not verify the certificate.
      const req = request(
        { host: '127.0.0.1', port: backend.port, path: '/readyz', rejectUnauthorized: false, agent: false, timeout: this.probe.timeoutMs },
        (res) => {
          res.resume();
          res.on('end', () => settle(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 400));
          res.on('error', () => settle(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('probe timed out')));
      req.on('error', () => settle(false));
      req.end();
    });
  }
}

/**
 * Resets a connection, as kube-proxy passes a reset on, unless its side of the pipe has begun a graceful close
 * (its peer's FIN was passed on as end()) or it is still connecting: Node 20 then keeps the TCP handle referenced
 * through teardown, and the test process spun at 100 % CPU in its exit cleanup for good (seen in a CI run). Those
 * are destroyed instead.
 */
function reset(socket: Socket): void {
  if (socket.writableEnded || socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
