// How many CPUs this process may keep busy: the cgroup's CPU quota where one is set (a container's CPU limit), else
// the CPUs the scheduler lets it run on. Node's availableParallelism() sees the second only, so a pod limited to 2 CPUs
// on a 64-CPU node would otherwise start 64 workers and be throttled.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

type Read = (path: string) => string | undefined;

const readIfThere: Read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Whole CPUs of a quota over a period, rounded down (a 1.5-CPU limit runs one worker unthrottled), at least 1. */
function wholeCpus(quota: number, period: number): number | undefined {
  if (!(quota > 0) || !(period > 0)) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/** cgroup v2: cpu.max of this process's cgroup ("max 100000" when unlimited, "200000 100000" for 2 CPUs). */
function cgroupV2(read: Read): number | undefined {
  const path = /^0::(\/.*)$/m.exec(read('/proc/self/cgroup') ?? '')?.[1];
  const text = (path !== undefined ? read(`/sys/fs/cgroup${path === '/' ? '' : path}/cpu.max`) : undefined) ?? read('/sys/fs/cgroup/cpu.max');
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return quota === undefined || quota === 'max' ? undefined : wholeCpus(Number(quota), Number(period));
}

/**
 * cgroup v1: cpu.cfs_quota_us (-1 when unlimited) over cpu.cfs_period_us, in this process's cgroup of the cpu
 * controller, or at the mount's root (a container's cgroup namespace shows its own cgroup there).
 */
function cgroupV1(read: Read): number | undefined {
  const path = /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:(\/.*)$/m.exec(read('/proc/self/cgroup') ?? '')?.[1];
  for (const dir of [...(path !== undefined && path !== '/' ? [`/sys/fs/cgroup/cpu${path}`] : []), '/sys/fs/cgroup/cpu']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`);
    if (quota === undefined) continue;
    return wholeCpus(Number(quota.trim()), Number(read(`${dir}/cpu.cfs_period_us`)?.trim()));
  }
  return undefined;
}

/** Without a quota the node's CPUs are not all this server's to take: each worker holds a watch cache of its own. */
export const unlimitedDefault = 4;

/** --workers 0: one per whole CPU of the quota, at most the CPUs there are; without a quota, up to 4. */
export function defaultWorkers(read: Read = readIfThere, cpus: number = availableParallelism()): number {
  const quota = cgroupV2(read) ?? cgroupV1(read);
  return Math.max(1, Math.min(cpus, quota ?? unlimitedDefault));
}
