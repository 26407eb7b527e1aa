// One control plane per test run, shared by the end-to-end suites; each suite runs its own server behind it.
//
// Under test/support/run-e2e.ts (npm run test:e2e) the first suite that needs a control plane starts it in a
// daemon process (test/support/control-plane-daemon.ts), which the runner stops when the run ends; later suites
// attach to it. A suite run on its own (node --test test/e2e/x.test.ts) starts and stops a control plane itself.
// Suites stay apart by their own namespaces and etcd prefix, and by a server process of their own on the port the
// APIService names, with the flags they need; a suite stops its server before the next one starts.
// Nothing starts before a test that needs it runs: suites call ready() from beforeEach, which node:test runs only
// for tests that are not filtered out (a before hook runs even when --test-name-pattern skips every test).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster, type ControlPlaneState } from './cluster.js';

export const runDirVariable = 'AI_APISERVER_E2E_RUN_DIR';
export const stateFile = 'control-plane.json';
export const daemonPidFile = 'control-plane.pid';
export const daemonLogFile = 'control-plane.log';
const startTimeoutMs = 20 * 60_000;

const progress = (line: string): void => void process.stderr.write(`# cluster: ${line}\n`);

export interface TestBedOptions {
  /** The suite's name: its server keeps its objects under the etcd prefix /e2e/<name>. */
  name: string;
  /** Flags of the suite's server, e.g. --no-controllers; a function when they name something it must start first. */
  serverArgs?: string[] | (() => Promise<string[]>);
  /** Namespaces made once the server is serving. */
  namespaces?: string[];
  /** A group in which CRDs of every resource are installed, to compare this server with kube-apiserver's CRDs. */
  crdGroup?: string;
  /** Runs once, after the namespaces and CRDs: role bindings, objects. */
  setup?(cluster: LocalCluster): Promise<void>;
  /**
   * The server runs without certificate files, keeping its own in Secret ai-system/ai-apiserver-tls and setting the
   * APIService's caBundle; the Secret is removed before it starts, and after it stops the Secret is removed and the
   * registration the other suites rely on applied again.
   */
  selfManagedCert?: boolean;
}

export interface TestBed {
  /** The control plane with this suite's server serving behind it, started on first call. */
  ready(): Promise<LocalCluster>;
  /** Stops this suite's server, and the control plane too when this process started it. */
  stop(): Promise<void>;
}

export function testBed(options: TestBedOptions): TestBed {
  let starting: Promise<LocalCluster> | undefined;
  // Kept as soon as it exists: a suite whose start failed halfway still stops the server it started, which would
  // otherwise hold the registered port for every suite after it.
  let started: LocalCluster | undefined;
  return {
    ready() {
      starting ??= (async () => {
        const cluster = await controlPlane();
        started = cluster;
        cluster.serverArgs = typeof options.serverArgs === 'function' ? await options.serverArgs() : (options.serverArgs ?? []);
        cluster.etcdPrefix = `/e2e/${options.name}`;
        cluster.selfManagedCert = options.selfManagedCert ?? false;
        if (cluster.selfManagedCert) await removeServingSecret(cluster);
        progress(`starting the server of suite ${options.name}`);
        await cluster.serve();
        for (const namespace of options.namespaces ?? []) await cluster.ok('admin', ['create', 'namespace', namespace]);
        if (options.crdGroup) await cluster.installCrds(options.crdGroup);
        await options.setup?.(cluster);
        return cluster;
      })();
      return starting;
    },
    async stop() {
      await starting?.catch(() => undefined);
      await started?.stop();
      if (started?.selfManagedCert && process.env[runDirVariable]) {
        await removeServingSecret(started);
        await started.register();
      }
    },
  };
}

async function removeServingSecret(cluster: LocalCluster): Promise<void> {
  await cluster.ok('admin', ['delete', 'secret', '-n', 'ai-system', 'ai-apiserver-tls', '--ignore-not-found', '--wait']);
}

/** The run's shared control plane (started by a daemon if no suite has yet), or one of this process's own. */
async function controlPlane(): Promise<LocalCluster> {
  const runDir = process.env[runDirVariable];
  if (!runDir) {
    const own = new LocalCluster(progress);
    await own.startControlPlane().catch(async (error: unknown) => {
      await own.stop();
      throw error;
    });
    return own;
  }
  const state = join(runDir, stateFile);
  if (!existsSync(state) && claim(join(runDir, 'control-plane.claimed'))) startDaemon(runDir);
  await waitForState(runDir);
  return LocalCluster.attach(JSON.parse(readFileSync(state, 'utf8')) as ControlPlaneState, progress);
}

/** True for the one process that creates `file`: the one that starts the daemon. */
function claim(file: string): boolean {
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    return false;
  }
}

function startDaemon(runDir: string): void {
  progress('starting the shared control plane');
  const log = openSync(join(runDir, daemonLogFile), 'a');
  // Detached and in its own process group: it outlives this suite's process and is stopped by the runner.
  const daemon = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./control-plane-daemon.ts', import.meta.url)), runDir], {
    detached: true,
    stdio: ['ignore', log, log],
    env: process.env,
  });
  daemon.unref();
  closeSync(log);
}

/** Waits for the daemon's state file, showing its progress; fails when the daemon has died or takes too long. */
async function waitForState(runDir: string): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  const logFile = join(runDir, daemonLogFile);
  // A suite that attaches to a running control plane does not repeat how it started.
  const showProgress = !existsSync(join(runDir, stateFile));
  let shown = 0;
  for (;;) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    if (showProgress) for (const line of log.slice(shown).split('\n').filter(Boolean)) progress(line);
    shown = log.length;
    if (existsSync(join(runDir, stateFile))) {
      if (!daemonAlive(runDir)) throw new Error(`the shared control plane's daemon has exited:\n${log.slice(-4000)}`);
      return;
    }
    if (existsSync(join(runDir, daemonPidFile)) && !daemonAlive(runDir)) throw new Error(`the shared control plane failed to start:\n${log.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`the shared control plane did not start in ${startTimeoutMs / 60_000} minutes:\n${log.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function daemonAlive(runDir: string): boolean {
  const pid = Number(readFileSync(join(runDir, daemonPidFile), 'utf8'));
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
