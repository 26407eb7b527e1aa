// A Go program on the pinned k8s.io modules that answers for Kubernetes itself: built once per suite into a temporary
// folder, then asked with one JSON value per line on stdin, answering one JSON value per line on stdout.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireGo } from './tools.js';

export interface GoOracle {
  /** One answer per question, in order. */
  ask<Answer>(questions: unknown[], env?: Record<string, string>): Answer[];
  remove(): void;
}

/** Builds the oracle in test/unit/<name>/ (its own go.mod; modules come through the Go proxy on first use). */
export function buildGoOracle(name: string): GoOracle {
  const source = fileURLToPath(new URL(`../unit/${name}/`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const binary = join(dir, name);
  requireGo();
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: source, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, GOWORK: 'off', GOFLAGS: '-mod=readonly' } });
  return {
    ask<Answer>(questions: unknown[], env: Record<string, string> = {}): Answer[] {
      const run = spawnSync(binary, {
        input: questions.map((q) => JSON.stringify(q)).join('\n') + '\n',
        maxBuffer: 256 << 20,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      assert.equal(run.status, 0, run.stderr);
      const answers = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Answer);
      assert.equal(answers.length, questions.length);
      return answers;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
