// kubectl-ai installed as npm links the package's bin, for the suites that run it through kubectl's plugin
// discovery: compiled as `npm run build` compiles it, the dashboard's bundle beside it, on a PATH of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboard } from '../../scripts/build-dashboard.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds into `build` (inside the repository, so the compiled plugin resolves its dependencies from node_modules as
 * dist/ does) and returns the folder to put on PATH, which holds `kubectl-ai`.
 */
export async function installPlugin(build: string): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const target = pkg.bin['kubectl-ai'];
  if (!target?.startsWith('dist/')) assert.fail(`package.json's bin kubectl-ai is not under dist/: ${target}`);
  await new Promise<void>((resolve, reject) =>
    execFile('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(build, 'dist')], { cwd: repo, timeout: 600_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`tsc failed: ${stdout}${stderr}`)) : resolve(),
    ),
  );
  await buildDashboard(join(build, 'dist/dashboard'));
  const bin = join(build, 'bin');
  mkdirSync(bin, { recursive: true });
  chmodSync(join(build, target), 0o755);
  symlinkSync(join(build, target), join(bin, 'kubectl-ai'));
  return bin;
}
