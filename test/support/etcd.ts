// Starts a real etcd on loopback with a throwaway data dir for a test, and stops it by PID. The binary comes from
// ETCD_BIN when set, else the cached build of scripts/install-etcd.sh.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface EtcdProcess {
  endpoint: string;
  binary: string;
  /** Stops the process (SIGKILL when `hard`), keeping the data dir. */
  stop(hard?: boolean): Promise<void>;
  /** SIGSTOP: the process stays, answering nothing, until resume(). */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port and data dir. */
  restart(): Promise<void>;
  /** Stops it and removes the data dir. */
  destroy(): Promise<void>;
}

/** ETCD_BIN when set, else the maintained build from scripts/install-etcd.sh (built on first use, then cached). */
export function etcdBinary(): string {
  if (process.env.ETCD_BIN) return process.env.ETCD_BIN;
  const script = fileURLToPath(new URL('../../scripts/install-etcd.sh', import.meta.url));
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Debian's etcd-server 3.4, which users still run, or why it cannot be used. Where it is missing or not 3.4 the
 * suites that need it skip with the reason, unless AI_APISERVER_REQUIRE_OLD_ETCD=1 (set by .ci/run): then they fail,
 * so CI never passes without having run them.
 */
export function oldEtcd(): { binary: string; version: string } | { problem: string; required: boolean } {
  const candidate = process.env.ETCD34_BIN ?? '/usr/bin/etcd';
  const required = process.env.AI_APISERVER_REQUIRE_OLD_ETCD === '1';
  const problem = (text: string): { problem: string; required: boolean } => ({
    problem: required ? `${text}, and AI_APISERVER_REQUIRE_OLD_ETCD=1 requires it (install Debian's etcd-server 3.4 or set ETCD34_BIN)` : text,
    required,
  });
  if (!existsSync(candidate)) return problem(`Debian's etcd-server 3.4 is not installed: no ${candidate}`);
  let version: string;
  try {
    version = etcdVersion(candidate);
  } catch (e) {
    return problem(`${candidate} --version failed: ${(e as Error).message}`);
  }
  if (!version.startsWith('3.4.')) return problem(`${candidate} is etcd ${version}, not 3.4`);
  return { binary: candidate, version };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms`);
}

export async function startEtcd(binary = etcdBinary()): Promise<EtcdProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ai-apiserver-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(
      binary,
      [
        '--data-dir', dataDir,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
        '--quota-backend-bytes', String(4 * 1024 ** 3),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
    );
    child.stderr?.resume();
    await waitHealthy(endpoint, child, 20_000);
  };
  const stop = async (hard = false): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await launch();
  return {
    endpoint,
    binary,
    stop,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    restart: launch,
    destroy: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function etcdVersion(binary: string): string {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
}
