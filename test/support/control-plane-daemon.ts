// The shared control plane of one end-to-end run (see test/support/test-bed.ts): starts it, writes where it is to
// the run directory, and keeps it until SIGTERM from the runner, or until the runner itself is gone.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster } from './cluster.js';
import { daemonPidFile, stateFile } from './test-bed.js';

const runDir = process.argv[2];
if (!runDir) throw new Error('usage: control-plane-daemon.ts RUN_DIR');
writeFileSync(join(runDir, daemonPidFile), String(process.pid));

const cluster = new LocalCluster((line) => console.log(line));
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('stopping the shared control plane');
    await cluster.stop();
  }
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

// The runner stops this daemon when the run ends; if the runner is killed instead, nothing else would.
const owner = Number(process.env.AI_APISERVER_E2E_OWNER_PID);
if (owner > 0) {
  setInterval(() => {
    try {
      process.kill(owner, 0);
    } catch {
      void stop(0);
    }
  }, 2_000);
}

try {
  await cluster.startControlPlane();
  const tmp = join(runDir, `${stateFile}.tmp`);
  writeFileSync(tmp, JSON.stringify(cluster.state()));
  renameSync(tmp, join(runDir, stateFile));
  console.log(`shared control plane ready: kube-apiserver at ${cluster.apiserverUrl}, the APIService on port ${cluster.serverPort}`);
} catch (error) {
  console.log(`the shared control plane failed to start: ${error instanceof Error ? error.stack : String(error)}`);
  await stop(1);
}
