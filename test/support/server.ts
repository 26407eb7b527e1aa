// Starts the real server process in --standalone mode against a real etcd (or its embedded SQLite store), with a
// kubeconfig for the installed kubectl, and stops both by PID. HOME is a fresh directory so kubectl's discovery
// cache starts empty.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startEtcd, type EtcdProcess } from './etcd.js';

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
  http(method: string, path: string, options?: { body?: string | Buffer; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
  /** SIGTERM, and the exit code. */
  terminate(): Promise<number | null>;
  /** SIGKILL: no shutdown of any kind. */
  crash(): Promise<void>;
  /** Starts the process again on the same port, store and kubeconfig. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export type Backend = 'etcd' | 'sqlite';

export async function startServer(
  options: { extraArgs?: string[]; beforeStart?: (etcd: EtcdProcess) => Promise<void>; backend?: Backend } = {},
): Promise<ServerProcess> {
  const backend = options.backend ?? 'etcd';
  const etcd = backend === 'etcd' ? await startEtcd() : undefined;
  if (etcd) await options.beforeStart?.(etcd);
  const home = mkdtempSync(join(tmpdir(), 'ai-apiserver-e2e-'));
  const sqlitePath = backend === 'sqlite' ? join(home, 'data', 'state.db') : undefined;
  const storageArgs = etcd ? ['--etcd-servers', etcd.endpoint] : ['--storage', `sqlite:${sqlitePath}`];
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
    child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  };
  const url = `https://127.0.0.1:${port}`;

  const http: ServerProcess['http'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${url}${path}`,
        { method, rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}`, ...(opts.headers ?? {}) } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (opts.body !== undefined) req.write(opts.body);
      req.end();
    });

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
  await waitReady();

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
