// Runs the storage conformance suite against real etcd: the maintained build, and Debian's 3.4 when installed.
import { existsSync } from 'node:fs';
import pino from 'pino';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import { etcdBinary, etcdVersion, startEtcd } from '../support/etcd.js';
import { runStorageConformance } from '../support/storage-conformance.js';

const binaries = [etcdBinary()];
if (process.env.ETCD34_BIN && existsSync(process.env.ETCD34_BIN)) binaries.push(process.env.ETCD34_BIN);

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
