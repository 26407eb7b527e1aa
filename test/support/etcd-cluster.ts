// Starts a real 3-member etcd cluster on loopback (each member its own client and peer port and throwaway data
// dir), with what a member-loss test needs to see: who leads, how many watch streams each member serves, and
// SIGKILL and restart of one member on its own data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinary, freePort } from './etcd.js';

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
  memberId: string;
  leaderId: string;
  revision: number;
  raftIndex: number;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  /** The member's own view, from its Maintenance.Status (the gRPC gateway's JSON). */
  status(member: EtcdMember): Promise<EtcdMemberStatus>;
  /** The member every running member names as leader, once they agree. */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** Watch streams the member serves now (its etcd_debugging_mvcc_watch_stream_total gauge). */
  watchStreams(member: EtcdMember): Promise<number>;
  destroy(): Promise<void>;
}

async function waitHealthy(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`etcd at ${endpoint} exited with ${child.exitCode}`);
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

export async function startEtcdCluster(size = 3, binary = etcdBinary()): Promise<EtcdCluster> {
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const names = ports.map((_, i) => `member-${i}`);
  const initialCluster = names.map((name, i) => `${name}=http://127.0.0.1:${ports[i]!.peer}`).join(',');
  const token = `ai-apiserver-${process.pid}-${Date.now()}`;
  const dataDirs = names.map(() => mkdtempSync(join(tmpdir(), 'ai-apiserver-etcd-member-')));
  const children: (ChildProcess | undefined)[] = names.map(() => undefined);

  const launch = (i: number, state: 'new' | 'existing'): ChildProcess => {
    const endpoint = `http://127.0.0.1:${ports[i]!.client}`;
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
        '--log-level', 'error',
        '--quota-backend-bytes', String(2 * 1024 ** 3),
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
    endpoint: `http://127.0.0.1:${ports[i]!.client}`,
    get running() {
      const child = children[i];
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill: () => stopChild(i, 'SIGKILL'),
    restart: async () => {
      // A member restarted on its data dir rejoins from its own WAL; the initial-cluster flags are then ignored.
      const child = launch(i, 'existing');
      await waitHealthy(`http://127.0.0.1:${ports[i]!.client}`, child, 30_000);
    },
  }));

  const destroy = async (): Promise<void> => {
    await Promise.all(names.map((_, i) => stopChild(i, 'SIGKILL')));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The members find each other while starting, so they are launched together and awaited together.
    const started = names.map((_, i) => launch(i, 'new'));
    await Promise.all(started.map((child, i) => waitHealthy(members[i]!.endpoint, child, 30_000)));
  } catch (error) {
    await destroy();
    throw error;
  }

  const status = async (member: EtcdMember): Promise<EtcdMemberStatus> => {
    const res = await fetch(`${member.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`status of ${member.name}: HTTP ${res.status}`);
    const body = (await res.json()) as { header: { member_id: string; revision: string }; leader: string; raftIndex: string };
    return { memberId: body.header.member_id, leaderId: body.leader, revision: Number(body.header.revision), raftIndex: Number(body.raftIndex) };
  };

  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    status,
    async leader(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer';
      for (;;) {
        try {
          const running = members.filter((m) => m.running);
          const statuses = await Promise.all(running.map((m) => status(m)));
          const leaders = new Set(statuses.map((s) => s.leaderId));
          const leaderId = statuses[0]?.leaderId;
          const leader = running.find((_, i) => statuses[i]!.memberId === leaderId);
          if (leaders.size === 1 && leaderId !== '0' && leader) return leader;
          last = `members name leaders ${[...leaders].join(', ')}`;
        } catch (error) {
          last = (error as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`no agreed leader after ${timeoutMs} ms: ${last}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async watchStreams(member) {
      const text = await (await fetch(`${member.endpoint}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      const line = /^etcd_debugging_mvcc_watch_stream_total (\S+)$/m.exec(text);
      return line ? Number(line[1]) : 0;
    },
    destroy,
  };
}
