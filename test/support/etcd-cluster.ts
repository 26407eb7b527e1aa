// Starts a real 3-member etcd cluster on loopback (each member its own client and peer port and throwaway data
// dir), optionally with client TLS (https client URLs that require a client certificate), with what a member-loss
// test needs to see: who leads, how many watch streams each member serves, and SIGKILL and restart of one member
// on its own data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinary, freePort } from './etcd.js';
import { Pki } from './pki.js';

export interface EtcdMember {
  name: string;
  endpoint: string;
  /** Whether its process is running. */
  readonly running: boolean;
  /** SIGKILL: no shutdown of any kind; the data dir stays. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir, as the same member; resolves once it answers /health. */
  restart(): Promise<void>;
}

export interface EtcdMemberStatus {
  isLeader: boolean;
  hasLeader: boolean;
  /** The revision this member has applied. */
  revision: number;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  /** With client TLS: the CA that signed the members' certificates, and a client certificate and key (files). */
  clientTls?: { ca: string; cert: string; key: string };
  /** The member's own view, from its metrics (served on plain HTTP, TLS or not). */
  status(member: EtcdMember): Promise<EtcdMemberStatus>;
  /** The member every running member names as leader, once they agree. */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** Watch streams the member serves now (its etcd_debugging_mvcc_watch_stream_total gauge). */
  watchStreams(member: EtcdMember): Promise<number>;
  destroy(): Promise<void>;
}

async function waitHealthy(metrics: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`etcd at ${metrics} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${metrics}/health`, { signal: AbortSignal.timeout(5_000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${metrics} not healthy after ${timeoutMs} ms`);
}

export async function startEtcdCluster(options: { size?: number; tls?: boolean; binary?: string } = {}): Promise<EtcdCluster> {
  const { size = 3, binary = etcdBinary() } = options;
  const ports: { client: number; peer: number; metrics: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort(), metrics: await freePort() });
  const metricsUrl = (i: number): string => `http://127.0.0.1:${ports[i]!.metrics}`;
  const names = ports.map((_, i) => `member-${i}`);
  const scheme = options.tls ? 'https' : 'http';
  let pkiDir: string | undefined;
  let memberCert: { cert: string; key: string; ca: string } | undefined;
  let clientTls: EtcdCluster['clientTls'];
  if (options.tls) {
    pkiDir = mkdtempSync(join(tmpdir(), 'ai-apiserver-etcd-pki-'));
    const pki = new Pki(pkiDir);
    const ca = pki.ca('etcd-ca', 'etcd-ca');
    const server = pki.issue('etcd-member', ca, { cn: 'etcd-member', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    const client = pki.issue('etcd-client', ca, { cn: 'ai-apiserver', usage: 'client' });
    memberCert = { cert: server.cert, key: server.key, ca: ca.cert };
    clientTls = { ca: ca.cert, cert: client.cert, key: client.key };
  }
  const initialCluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[i]!.peer}`).join(',');
  const token = `ai-apiserver-${process.pid}-${Date.now()}`;
  const dataDirs = names.map(() => mkdtempSync(join(tmpdir(), 'ai-apiserver-etcd-member-')));
  const children: (ChildProcess | undefined)[] = names.map(() => undefined);

  const launch = (i: number, state: 'new' | 'existing'): ChildProcess => {
    const endpoint = `${scheme}://127.0.0.1:${ports[i]!.client}`;
    const peer = `http://127.0.0.1:${ports[i]!.peer}`;
    const child = spawn(
      binary,
      [
        '--name', names[i]!,
        '--data-dir', dataDirs[i]!,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', state,
        '--initial-cluster-token', token,
        '--listen-metrics-urls', metricsUrl(i),
        '--log-level', 'error',
        '--quota-backend-bytes', String(2 * 1024 ** 3),
        ...(memberCert
          ? ['--cert-file', memberCert.cert, '--key-file', memberCert.key, '--trusted-ca-file', memberCert.ca, '--client-cert-auth']
          : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
    );
    child.stderr?.resume();
    children[i] = child;
    return child;
  };

  const stopChild = async (i: number, signal: NodeJS.Signals): Promise<void> => {
    const child = children[i];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  };

  const members: EtcdMember[] = names.map((name, i) => ({
    name,
    endpoint: `${scheme}://127.0.0.1:${ports[i]!.client}`,
    get running() {
      const child = children[i];
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill: () => stopChild(i, 'SIGKILL'),
    restart: async () => {
      // A member restarted on its data dir rejoins from its own WAL; the initial-cluster flags are then ignored.
      const child = launch(i, 'existing');
      await waitHealthy(metricsUrl(i), child, 30_000);
    },
  }));

  const destroy = async (): Promise<void> => {
    await Promise.all(names.map((_, i) => stopChild(i, 'SIGKILL')));
    for (const dir of [...dataDirs, ...(pkiDir ? [pkiDir] : [])]) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The members find each other while starting, so they are launched together and awaited together.
    const started = names.map((_, i) => launch(i, 'new'));
    await Promise.all(started.map((child, i) => waitHealthy(metricsUrl(i), child, 30_000)));
  } catch (error) {
    await destroy();
    throw error;
  }

  const metrics = async (member: EtcdMember): Promise<(name: string) => number> => {
    const res = await fetch(`${metricsUrl(members.indexOf(member))}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`metrics of ${member.name}: HTTP ${res.status}`);
    const text = await res.text();
    return (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const status = async (member: EtcdMember): Promise<EtcdMemberStatus> => {
    const value = await metrics(member);
    return {
      isLeader: value('etcd_server_is_leader') === 1,
      hasLeader: value('etcd_server_has_leader') === 1,
      revision: value('etcd_debugging_mvcc_current_revision'),
    };
  };

  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    clientTls,
    status,
    async leader(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer';
      for (;;) {
        try {
          const running = members.filter((m) => m.running);
          const statuses = await Promise.all(running.map((m) => status(m)));
          const leaders = running.filter((_, i) => statuses[i]!.isLeader);
          if (leaders.length === 1 && statuses.every((s) => s.hasLeader)) return leaders[0]!;
          last = `leaders: ${leaders.map((m) => m.name).join(', ') || 'none'}; members with a leader: ${statuses.filter((s) => s.hasLeader).length} of ${running.length}`;
        } catch (error) {
          last = (error as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`no agreed leader after ${timeoutMs} ms: ${last}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async watchStreams(member) {
      return (await metrics(member))('etcd_debugging_mvcc_watch_stream_total');
    },
    destroy,
  };
}
