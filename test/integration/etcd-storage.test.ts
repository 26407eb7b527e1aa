// Runs the storage conformance suite against real etcd: the maintained build, and Debian's 3.4 when installed.
import pino from 'pino';
import { EtcdStorage } from '../../src/storage/etcd/etcd-storage.js';
import { debianEtcdBinary, etcdBinary, etcdVersion, startEtcd } from '../support/etcd.js';
import { runStorageConformance } from '../support/storage-conformance.js';

const binaries = [etcdBinary()];
const debian = debianEtcdBinary();
if (debian) binaries.push(debian);
else console.log('# Debian etcd-server (3.4) is not installed: the storage suite runs against the maintained build only');

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
