// Starts the real server process in --standalone mode against a real etcd (or its embedded SQLite store), with a
// kubeconfig for the installed kubectl, and stops both by PID. HOME is a fresh directory so kubectl's discovery
// cache starts empty. Suites start theirs through lazyServer from beforeEach, so a run filtered by
// --test-name-pattern starts no server for a suite none of whose tests run (node:test runs `before` hooks anyway).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startEtcd, type EtcdProcess } from './etcd.js';
import { httpsCall, type HttpsAnswer } from './https.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  url: string;
  port: number;
  kubeconfig: string;
  home: string;
  token: string;
  /** Tokens of users outside system:masters (group e2e-tenants), for limits and fairness. */
  tenants: { alice: string; bob: string; carol: string };
  /** The server's etcd; absent on the SQLite backend. */
  etcd?: EtcdProcess;
  /** The SQLite file, on that backend. */
  sqlitePath?: string;
  child: ChildProcess;
  logs(): string;
  kubectl(args: string[], options?: { input?: string; env?: Record<string, string> }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Raw HTTPS to the server with the kubeconfig's token. */
  http(method: string, path: string, options?: { body?: string | Buffer; headers?: Record<string, string> }): Promise<HttpsAnswer>;
  /** SIGTERM, and the exit code. */
  terminate(): Promise<number | null>;
  /** SIGKILL: no shutdown of any kind. */
  crash(): Promise<void>;
  /** Starts the process again on the same port, store and kubeconfig. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export type Backend = 'etcd' | 'sqlite';

export interface ServerOptions {
  extraArgs?: string[];
  /** Runs against the server's etcd before the server starts. */
  beforeStart?: (etcd: EtcdProcess) => Promise<void>;
  backend?: Backend;
  /** An etcd the test runs itself (a cluster's members): the server uses these instead of starting its own. */
  etcdServers?: string[];
  /** Another checkout to run the server from (a benchmark's "before"); this repository when absent. */
  repoDir?: string;
  /** Flags for node itself (a benchmark's `--inspect`), before the server's script. */
  nodeArgs?: string[];
}

export interface LazyServer {
  /** The server, started (and set up) by the first call; later calls share it. */
  ready(): Promise<ServerProcess>;
  /** Stops the server if it was started. */
  stop(): Promise<void>;
}

export function lazyServer(options: ServerOptions & { setup?: (server: ServerProcess) => Promise<void> } = {}): LazyServer {
  let starting: Promise<ServerProcess> | undefined;
  let started: ServerProcess | undefined;
  return {
    ready() {
      starting ??= (async () => {
        started = await startServer(options);
        await options.setup?.(started);
        return started;
      })();
      return starting;
    },
    async stop() {
      await starting?.catch(() => undefined);
      await started?.stop();
    },
  };
}

export async function startServer(options: ServerOptions = {}): Promise<ServerProcess> {
  const backend = options.backend ?? 'etcd';
  const etcd = backend === 'etcd' && !options.etcdServers ? await startEtcd() : undefined;
  if (etcd && options.beforeStart) {
    try {
      await options.beforeStart(etcd);
    } catch (error) {
      await etcd.destroy();
      throw error;
    }
  }
  const home = mkdtempSync(join(tmpdir(), 'ai-apiserver-e2e-'));
  const sqlitePath = backend === 'sqlite' ? join(home, 'data', 'state.db') : undefined;
  const storageArgs = options.etcdServers
    ? ['--etcd-servers', options.etcdServers.join(',')]
    : etcd
      ? ['--etcd-servers', etcd.endpoint]
      : ['--storage', `sqlite:${sqlitePath}`];
  const kubeconfig = join(home, 'kubeconfig');
  const tokenFile = join(home, 'tokens.csv');
  const token = `e2e-${Math.random().toString(36).slice(2)}`;
  const tenants = { alice: `${token}-alice`, bob: `${token}-bob`, carol: `${token}-carol` };
  const tokenLines = [
    `${token},e2e-admin,uid-1,"system:masters"`,
    `${tenants.alice},alice,uid-2,"e2e-tenants"`,
    `${tenants.bob},bob,uid-3,"e2e-tenants"`,
    `${tenants.carol},carol,uid-4,"e2e-tenants"`,
  ];
  await import('node:fs/promises').then((fs) => fs.writeFile(tokenFile, `${tokenLines.join('\n')}\n`));
  const port = await freePort();
  let output = '';
  const args = [
      ...(options.nodeArgs ?? []),
      '--import',
      'tsx',
      'src/main.ts',
      '--standalone',
      ...storageArgs,
      '--secure-port',
      String(port),
      '--bind-address',
      '127.0.0.1',
      '--token-auth-file',
      tokenFile,
      '--write-kubeconfig',
      kubeconfig,
      ...(options.extraArgs ?? []),
  ];
  let child!: ChildProcess;
  const spawnServer = (): void => {
    child = spawn(process.execPath, args, { cwd: options.repoDir ?? repo, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  };
  const url = `https://127.0.0.1:${port}`;

  const http: ServerProcess['http'] = (method, path, opts = {}) =>
    httpsCall(`${url}${path}`, { method, rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}`, ...(opts.headers ?? {}) } }, opts.body);

  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
      try {
        const res = await http('GET', '/readyz');
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`server not ready after 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  spawnServer();
  try {
    await waitReady();
  } catch (error) {
    // A server that never became ready is still stopped, with its store, before the failure is reported.
    child.kill('SIGKILL');
    await etcd?.destroy();
    rmSync(home, { recursive: true, force: true });
    throw error;
  }

  const terminate = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  };

  const crash = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };

  return {
    url,
    port,
    kubeconfig,
    home,
    token,
    tenants,
    etcd,
    sqlitePath,
    get child() {
      return child;
    },
    logs: () => output,
    http,
    kubectl: (args, opts = {}) =>
      new Promise((resolve) => {
        const proc = execFile(
          'kubectl',
          ['--kubeconfig', kubeconfig, ...args],
          { env: { ...process.env, HOME: home, KUBECONFIG: kubeconfig, ...(opts.env ?? {}) }, timeout: 60_000 },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolve({ stdout, stderr, code });
          },
        );
        if (opts.input !== undefined) proc.stdin?.end(opts.input);
        else proc.stdin?.end();
      }),
    terminate,
    crash,
    restart: async () => {
      spawnServer();
      await waitReady();
    },
    stop: async () => {
      await terminate();
      await etcd?.destroy();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
