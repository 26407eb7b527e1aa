// The command-line tools the suites drive, checked before first use: a missing tool or a version the suites were not
// written for fails the suite with what to install, instead of an ENOENT or a confusing difference later.
import { execFileSync } from 'node:child_process';

const checked = new Set<string>();

function output(command: string, args: string[], why: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed' : `failed: ${(error as Error).message}`;
    throw new Error(`${command} ${reason}; ${why}`);
  }
}

/** kubectl within kubectl's supported version skew (one minor version) of the v1.32 control plane. */
export function requireKubectl(): void {
  if (checked.has('kubectl')) return;
  const why = 'the end-to-end suites drive the v1.32 control plane with kubectl 1.31 to 1.33';
  const version = (JSON.parse(output('kubectl', ['version', '--client', '-o', 'json'], why)) as { clientVersion: { major: string; minor: string; gitVersion: string } }).clientVersion;
  const minor = Number.parseInt(version.minor, 10);
  if (version.major !== '1' || !(minor >= 31 && minor <= 33)) throw new Error(`kubectl is ${version.gitVersion}; ${why}`);
  checked.add('kubectl');
}

/** Go 1.23 or later, which the k8s.io v0.32 modules of the oracles and the client-go programs need. */
export function requireGo(): void {
  if (checked.has('go')) return;
  const why = 'the oracles and client-go programs are built with Go 1.23 or later';
  const version = /go(\d+)\.(\d+)/.exec(output('go', ['version'], why));
  if (!version || Number(version[1]) !== 1 || Number(version[2]) < 23) throw new Error(`go version is ${version?.[0] ?? 'unknown'}; ${why}`);
  checked.add('go');
}
