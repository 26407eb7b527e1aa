// Runs the storage conformance suite against real etcd: the maintained build, and Debian's 3.4 when installed.
import pino from 'pino';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { etcdBinary, etcdVersion, oldEtcd, startEtcd } from '../support/etcd.js';
import { runStorageConformance } from '../support/storage-conformance.js';

const binaries = [etcdBinary()];
const old = oldEtcd();
if ('binary' in old) binaries.push(old.binary);
else {
  const problem = old.problem;
  it("the storage suite on Debian's etcd 3.4", { skip: old.required ? false : problem }, () => assert.fail(problem));
}

for (const binary of binaries) {
  runStorageConformance({
    name: `etcd ${etcdVersion(binary)}`,
    open: async () => {
      const etcd = await startEtcd(binary);
      const storage = new EtcdStorage({ endpoints: [etcd.endpoint], logger: pino({ level: 'silent' }) });
      return {
        storage,
        cleanup: async () => {
          await storage.close();
          await etcd.destroy();
        },
      };
    },
  });
}
