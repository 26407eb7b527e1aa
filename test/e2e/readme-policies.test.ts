// The README's "Policies, quotas and audit" examples, as written, on the test control plane (what `npm run cluster`
// runs): each shell block of the section that runs against the cluster, command by command, with the kubeconfig
// folder and the namespace team-a swapped for this suite's. A command's comment says what it does: one starting
// "Error from server" must fail with those words (… stands for any text), any other must succeed. Between commands
// the test waits, as a person typing would, for the cluster to take up what was applied (a quota's first usage, a
// policy reaching the admission plugins), and never longer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import type { LocalCluster } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { controllerCounts, usedBecomes } from '../support/quota.js';
import { testBed } from '../support/test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const blocks = { quota: 'readme-quota', policy: 'readme-policy' } as const;
const bed = testBed({
  name: 'readme-policies',
  namespaces: Object.values(blocks),
  setup: async (cluster) => {
    for (const namespace of Object.values(blocks)) {
      await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', namespace]);
    }
  },
});
let cluster: LocalCluster;
before(async () => void (cluster = await bed.ready()));
after(async () => {
  // Cluster-scoped: another suite's notebooks must not meet this policy.
  await cluster?.ok('admin', ['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', 'require-cost-center', '--ignore-not-found']);
  await bed.stop();
});

interface Command {
  text: string;
  /** What its comment says it does: an error text to find, or undefined when it must succeed. */
  error?: string;
}

/** The `sh` block under the section's heading `title`. */
function block(title: string): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.indexOf('### Policies, quotas and audit');
  const at = readme.indexOf(`\n#### ${title}\n`, section);
  assert.ok(section >= 0 && at >= 0, `README has no "#### ${title}" under "### Policies, quotas and audit"`);
  const match = /```sh\n([\s\S]*?)```/.exec(readme.slice(at, readme.indexOf('\n#### ', at + 1)));
  assert.ok(match, `README's "${title}" has no sh block`);
  return match[1]!;
}

/** A block's commands: here-documents kept with their command, comment lines after a command joined to it. */
function commands(text: string): Command[] {
  const lines = text.split('\n');
  const out: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const last = out.at(-1);
      assert.ok(last, `a comment before any command: ${line}`);
      last.error = `${last.error ?? ''} ${line.slice(1).trim()}`.trim();
      continue;
    }
    const heredoc = /<<'(\w+)'/.exec(line);
    const body = [line];
    if (heredoc) while (i + 1 < lines.length && lines[++i] !== heredoc[1]) body.push(lines[i]!);
    if (heredoc) body.push(heredoc[1]!);
    const comment = /\s{2,}#\s*(.*)$/.exec(line)?.[1];
    out.push({ text: body.join('\n'), ...(comment ? { error: comment } : {}) });
  }
  return out.map((c) => (c.error?.startsWith('Error from server') ? c : { text: c.text }));
}

function run(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = join(cluster.dir, 'home', 'readme');
  mkdirSync(home, { recursive: true });
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd: repo, env: { ...process.env, KUBECONFIG: cluster.kubeconfig('admin'), HOME: home }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs a block's commands in `namespace`; `settle` waits after a command for what it applied to take effect. */
async function runBlock(title: string, namespace: string, settle: (command: string) => Promise<void>): Promise<string[]> {
  const outputs: string[] = [];
  for (const command of commands(block(title))) {
    const text = command.text.replaceAll('/tmp/ai-apiserver-cluster-XXXX', cluster.dir).replaceAll('team-a', namespace);
    const res = await run(text);
    if (command.error) {
      assert.notEqual(res.code, 0, `README command \`${command.text}\` should fail (${command.error}), but printed: ${res.stdout}`);
      const said = res.stderr.replace(/\s+/g, ' ');
      for (const part of command.error.split('…').map((p) => p.trim()).filter(Boolean)) {
        assert.ok(said.includes(part), `README command \`${command.text}\`: "${part}" is not in what kubectl said: ${res.stderr}`);
      }
    } else {
      assert.equal(res.code, 0, `README command \`${command.text}\` failed (${res.code}): ${res.stderr}`);
    }
    outputs.push(res.stdout);
    await settle(text);
  }
  return outputs;
}

it('the Quotas example: the second notebook is refused with kube\'s words, and the quota shows what was charged', { timeout: 10 * 60_000 }, async () => {
  const namespace = blocks.quota;
  // A quota made before kube-controller-manager discovered our resources would wait for its 5-minute resync.
  await controllerCounts(cluster, namespace, ['count/notebooks.ai.example.io']);
  const outputs = await runBlock('Quotas', namespace, async (command) => {
    const created = /create quota (\S+)/.exec(command);
    if (created) await usedBecomes(cluster, namespace, created[1]!, { 'count/notebooks.ai.example.io': '0' }, 'the README\'s quota counted');
  });
  assert.match(outputs.at(-1)!, /"count\/notebooks\.ai\.example\.io":"1"/);
});

it('the ValidatingAdmissionPolicy example: alice\'s notebook without a cost-center label is refused as the README shows', { timeout: 10 * 60_000 }, async () => {
  const namespace = blocks.policy;
  await runBlock('ValidatingAdmissionPolicy', namespace, async (command) => {
    if (!command.includes('kind: ValidatingAdmissionPolicyBinding')) return;
    // Both kube-apiserver's informers and this server's must see the policy and its binding.
    await eventually(
      () => run(`kubectl -n ${namespace} create --dry-run=server -f examples/notebook.yaml`),
      (res) => res.code !== 0 && res.stderr.includes('require-cost-center'),
      'the README\'s policy to refuse notebooks',
      120_000,
      { everyMs: 500 },
    );
  });
});
