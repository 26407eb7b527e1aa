// `npm run local` (scripts/run-local.sh) as a person and as a pipe see it: on a terminal every log entry is one
// readable line, through a pipe every entry is a JSON object. The terminal is a real pseudo-terminal from util-linux's
// `script`, so the script's own `[ -t 1 ]` decides, as it does for a user.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ai-local-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Starts the script, waits for the server to serve, stops it with Ctrl-C (the terminal's interrupt character
 * typed into the pseudo-terminal, or SIGINT to the process group without one), and returns all it printed.
 */
async function runLocal(argv: string[], name: string, terminal: boolean): Promise<string> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repo, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not serving after 60 s:\n${output}`)), 60_000);
      const read = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes('serving ai.example.io/v1alpha1')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      void exited.then((code) => reject(new Error(`${name}: exited with ${code} before serving:\n${output}`)));
    });
  } finally {
    if (terminal) child.stdin.write('\x03');
    else process.kill(-child.pid!, 'SIGINT');
  }
  // Not required to be 0: main.ts installs its SIGINT handler once the controllers started, after the line awaited.
  await exited;
  return output;
}

const serverArgs = (name: string): string => `--storage sqlite:${join(dir, name, 'db')} --secure-port 0 --write-kubeconfig ${join(dir, name, 'kubeconfig')}`;
// Colour escapes as a terminal gets them; carriage returns and the echoed ^C from the terminal's line discipline.
const plain = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '').replaceAll('^C', '');
const logLines = (text: string): string[] => plain(text).split('\n').filter((line) => line !== '' && !line.startsWith('starting the server'));

it('on a terminal each log entry is one readable line: time, level, message, then its fields', async () => {
  const output = await runLocal(['script', '--quiet', '--flush', '--return', '--command', `bash scripts/run-local.sh ${serverArgs('tty')}`, '/dev/null'], 'on a terminal', true);
  const lines = logLines(output);
  assert.ok(lines.length >= 3, output);
  for (const line of lines) {
    assert.throws(() => JSON.parse(line), SyntaxError, `a JSON line on a terminal: ${line}`);
    assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|FATAL|DEBUG|TRACE): /, line);
  }
  assert.ok(lines.some((line) => /^\[[^\]]+\] INFO: serving ai\.example\.io\/v1alpha1 \{.*"standalone":true/.test(line)), output);
});

it('through a pipe each log entry is a JSON object, as collectors and jq read it', async () => {
  const output = await runLocal(['bash', 'scripts/run-local.sh', ...serverArgs('pipe').split(' ')], 'through a pipe', false);
  const entries = logLines(output).map((line) => JSON.parse(line) as { level: number; msg: string; time: number });
  assert.ok(entries.length >= 3, output);
  for (const entry of entries) assert.ok(typeof entry.level === 'number' && typeof entry.msg === 'string' && typeof entry.time === 'number', JSON.stringify(entry));
  assert.ok(entries.some((entry) => entry.msg === 'serving ai.example.io/v1alpha1'), output);
});
