// The worker count's default: the cgroup's CPU quota as the kernel shows it under /proc and /sys. The files are
// given here as a container of each kind would show them; this machine has one kind, without a quota.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultWorkers } from '../../src/server/workers/cpu-quota.js';

const files = (entries: Record<string, string>) => (path: string): string | undefined => entries[path];

describe('the default worker count', () => {
  it('reads cgroup v2 cpu.max of the process\'s own cgroup, rounding a fraction down', () => {
    const read = files({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '250000 100000\n' });
    assert.equal(defaultWorkers(read, 64), 2);
  });

  it('reads cgroup v2 cpu.max at the root of a cgroup namespace', () => {
    assert.equal(defaultWorkers(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '400000 100000\n' }), 64), 4);
  });

  it('takes up to 4 CPUs when cgroup v2 says max: each worker has a watch cache of its own', () => {
    assert.equal(defaultWorkers(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }), 8), 4);
    assert.equal(defaultWorkers(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }), 2), 2);
  });

  it('reads cgroup v1 cfs quota and period, -1 being no quota', () => {
    const v1 = (quota: string): ((path: string) => string | undefined) =>
      files({ '/proc/self/cgroup': '4:cpu,cpuacct:/\n0::/\n', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': quota, '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' });
    assert.equal(defaultWorkers(v1('300000\n'), 16), 3);
    assert.equal(defaultWorkers(v1('-1\n'), 16), 4);
  });

  it('never goes above the CPUs there are, nor below one', () => {
    assert.equal(defaultWorkers(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '1600000 100000\n' }), 2), 2);
    assert.equal(defaultWorkers(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000\n' }), 2), 1);
    assert.equal(defaultWorkers(files({}), 3), 3);
    assert.equal(defaultWorkers(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '1600000 100000\n' }), 64), 16);
  });
});
