// Starts the local control plane with this server registered behind it, prints how to use kubectl as admin,
// alice (edit in team-a) and bob (view in team-b), and keeps everything running until Ctrl-C.
// Run: npm run cluster
import { LocalCluster } from '../test/support/cluster.js';

const cluster = new LocalCluster((line) => console.error(`… ${line}`));
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.error('… stopping');
  await cluster.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

try {
  await cluster.start();
  await cluster.ok('admin', ['create', 'namespace', 'team-a']);
  await cluster.ok('admin', ['create', 'namespace', 'team-b']);
  await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', 'team-a']);
  await cluster.ok('admin', ['create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob', '-n', 'team-b']);
  console.log(`kube-apiserver: ${cluster.apiserverUrl}`);
  for (const user of ['admin', 'alice', 'bob', 'carol'] as const) {
    console.log(`kubectl --kubeconfig ${cluster.kubeconfig(user)} ...   # as ${user}`);
  }
  console.log('Ctrl-C stops everything.');
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await stop();
}
