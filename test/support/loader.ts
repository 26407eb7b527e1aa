// The dataset loader run as the prefetch pod runs it: a process of its own, with its settings in the environment,
// the claim a folder and the termination message a file; and the moto S3 server the s3:// tests load from.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './etcd.js';

const repo = new URL('../../', import.meta.url).pathname;

export interface LoaderRun {
  code: number | null;
  /** What the loader left in its termination message file. */
  message: string;
  /** Its pino lines, parsed. */
  logs: Record<string, unknown>[];
  stderr: string;
}

/**
 * Runs src/loader/main.ts to its end with env added to this process's (minus any AWS_* of the machine's);
 * `started` gets the process as soon as it is spawned (to signal it).
 */
export async function runLoader(env: Record<string, string>, started?: (child: ChildProcess) => void): Promise<LoaderRun> {
  const scratch = mkdtempSync(join(tmpdir(), 'loader-run-'));
  const termination = join(scratch, 'termination-log');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'src/loader/main.ts')], {
    cwd: repo,
    env: { ...inherited, TERMINATION_MESSAGE_PATH: termination, AWS_EC2_METADATA_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  let message = '';
  try {
    message = readFileSync(termination, 'utf8');
  } catch {
    // no message written: the assertions say so
  }
  rmSync(scratch, { recursive: true, force: true });
  const logs = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, message, logs, stderr };
}

export interface Moto {
  endpoint: string;
  /** From now on every request must be signed by a known access key whose policies allow it. */
  enforceAuth(): Promise<void>;
  /** An IAM user allowed s3:* on `resource`, and its access key; before enforceAuth (after it, IAM wants a signer too). */
  createUser(name: string, resource: string): { id: string; secret: string };
  stop(): Promise<void>;
}

const createUserScript = `
import boto3, json, sys
endpoint, user, resource = sys.argv[1:4]
iam = boto3.client('iam', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='setup', aws_secret_access_key='setup')
iam.create_user(UserName=user)
iam.put_user_policy(UserName=user, PolicyName='s3', PolicyDocument=json.dumps(
    {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': resource}]}))
key = iam.create_access_key(UserName=user)['AccessKey']
print(json.dumps({'id': key['AccessKeyId'], 'secret': key['SecretAccessKey']}))
`;

/** moto's S3-compatible server (installed by scripts/install-moto.sh) on a free loopback port. */
export async function startMoto(): Promise<Moto> {
  const bin = execFileSync('bash', [join(repo, 'scripts/install-moto.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto_server not answering at ${endpoint} after 60 s: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async enforceAuth() {
      const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
      if (!res.ok) throw new Error(`moto reset-auth: ${res.status} ${await res.text()}`);
    },
    createUser(name, resource) {
      // Through boto3, a dependency of moto already in its environment.
      return JSON.parse(execFileSync(join(bin, '..', 'python'), ['-c', createUserScript, endpoint, name, resource], { encoding: 'utf8' })) as { id: string; secret: string };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
