// What admission costs a create: creates per second with nothing to admit, with one ValidatingAdmissionPolicy, and
// with that policy and one validating webhook, each as a ratio against no admission in the same round. The same
// policy and webhook govern the CRD equivalent in kube-apiserver, so the CRD's ratios say what kube pays for the same
// chain. One local control plane (test/support/cluster.ts), the server without its controllers, the benchmark's
// ~2 KiB notebooks; the webhook is an HTTPS server in a process of its own (bench/admission-webhook.ts) that allows
// everything but a probe label.
// Rounds rotate the order of the three set-ups so that drift in the machine's load falls on each.
// Run: npm run bench:admission   (BENCH_ROUNDS rounds, 5; BENCH_QUICK=1 checks the run with tiny counts)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Agent, request, type buildConnector } from 'undici';
import { LocalCluster, users } from '../test/support/cluster.js';
import { benchNotebook, median, pool, progress } from './objects.js';
import { loadNow, machine, outputs, replaceBlock } from './report.js';

const crdGroup = 'bench.example.io';
const out = outputs(['BENCH_ROUNDS']);
const rounds = Number(process.env.BENCH_ROUNDS ?? (out.quick ? 2 : 5));
const creates = out.quick ? 40 : 400;
const inFlight = 16;
const setups = ['none', 'policy', 'policy + webhook'] as const;
type Setup = (typeof setups)[number];

interface Target {
  name: 'crd' | 'direct';
  origin: string;
  group: string;
  headers: Record<string, string>;
  dispatcher: Agent;
}

/** A label value each piece of the chain refuses: how the run knows a piece is in force on a path. */
const probe = { policy: 'deny-policy', webhook: 'deny-webhook' } as const;

const policyYaml = (groups: string[]): string => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: bench-probe }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ${JSON.stringify(groups)}
      apiVersions: ["*"]
      operations: ["CREATE"]
      resources: ["notebooks"]
  validations:
  - expression: "!has(object.metadata.labels) || !('probe' in object.metadata.labels) || object.metadata.labels['probe'] != '${probe.policy}'"
    message: refused by the benchmark's policy
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: bench-probe }
spec:
  policyName: bench-probe
  validationActions: [Deny]
`;

const webhookYaml = (groups: string[], url: string, caBundle: string): string => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: bench-probe }
webhooks:
- name: probe.bench.example.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 10
  clientConfig: { url: "${url}", caBundle: "${caBundle}" }
  rules:
  - apiGroups: ${JSON.stringify(groups)}
    apiVersions: ["*"]
    operations: ["CREATE"]
    resources: ["notebooks"]
`;

/** Starts bench/admission-webhook.ts; it lives until its stdin closes. */
async function startWebhook(certFile: string, keyFile: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./admission-webhook.ts', import.meta.url)), certFile, keyFile], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), child };
}

const collection = (target: Target, namespace: string): string => `/apis/${target.group}/v1alpha1/namespaces/${namespace}/notebooks`;

async function create(target: Target, namespace: string, name: string, seq: number, labels: Record<string, string> = {}): Promise<number> {
  const body = benchNotebook(name, seq, `${target.group}/v1alpha1`);
  Object.assign(body.metadata.labels!, labels);
  const res = await request(`${target.origin}${collection(target, namespace)}`, {
    method: 'POST',
    dispatcher: target.dispatcher,
    headers: { ...target.headers, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.text();
  return res.statusCode;
}

/** Waits until a create carrying `value` is refused on the target: that piece of the chain is in force there. */
async function untilRefused(target: Target, namespace: string, value: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let i = 0; ; i++) {
    const status = await create(target, namespace, `probe-${value}-${i}`, i, { probe: value });
    if (status >= 400) return;
    if (Date.now() > deadline) throw new Error(`${target.name}: a create labelled probe=${value} still succeeds after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Until a create carrying `value` succeeds again: that piece is gone (the probe objects are deleted with the namespace). */
async function untilAllowed(target: Target, namespace: string, value: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (let i = 0; ; i++) {
    const status = await create(target, namespace, `gone-${value}-${Date.now()}-${i}`, i, { probe: value });
    if (status < 300) return;
    if (Date.now() > deadline) throw new Error(`${target.name}: a create labelled probe=${value} is still refused after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function throughput(target: Target, namespace: string, prefix: string): Promise<number> {
  const began = performance.now();
  await pool(creates, inFlight, async (i) => {
    const status = await create(target, namespace, `${prefix}-${i}`, i);
    if (status !== 201) throw new Error(`${target.name}: create ${prefix}-${i} answered ${status}`);
  });
  return creates / ((performance.now() - began) / 1000);
}

async function main(): Promise<void> {
  const startLoad = loadNow();
  const cluster = new LocalCluster((line) => progress(`cluster: ${line}`));
  cluster.serverArgs = ['--no-controllers'];
  const agents: Agent[] = [];
  let webhook: { port: number; child: ChildProcess } | undefined;
  try {
    await cluster.start();
    await cluster.installCrds(crdGroup);
    const webhookCa = cluster.pki.ca('bench-webhook-ca', 'bench-webhook-ca');
    const serving = cluster.pki.issue('bench-webhook', webhookCa, { cn: 'bench-webhook', usage: 'server', ips: ['127.0.0.1'] });
    webhook = await startWebhook(serving.cert, serving.key);
    const url = `https://127.0.0.1:${webhook.port}/validate`;
    const caBundle = Buffer.from(webhookCa.pem).toString('base64');
    const groups = ['ai.example.io', crdGroup];
    const agent = (connect: buildConnector.BuildOptions): Agent => {
      const a = new Agent({ connections: 64, connect, keepAliveTimeout: 60_000 });
      agents.push(a);
      return a;
    };
    const targets: Target[] = [
      { name: 'crd', origin: cluster.apiserverUrl, group: crdGroup, headers: { authorization: `Bearer ${users.admin.token}` }, dispatcher: agent({ ca: cluster.caPem }) },
      {
        name: 'direct',
        origin: `https://127.0.0.1:${cluster.serverPort}`,
        group: 'ai.example.io',
        headers: { 'x-remote-user': users.admin.name, 'x-remote-group': 'system:masters' },
        dispatcher: agent({ rejectUnauthorized: false, cert: readFileSync(cluster.frontProxyClient.cert), key: readFileSync(cluster.frontProxyClient.key) }),
      },
    ];

    const figures = new Map<string, number[]>();
    const key = (target: Target, setup: Setup): string => `${target.name}/${setup}`;
    let current: Setup = 'none';
    const enter = async (setup: Setup): Promise<void> => {
      if (setup === current) return;
      await cluster.ok('admin', ['create', 'namespace', 'probe']);
      const wantPolicy = setup !== 'none';
      const wantWebhook = setup === 'policy + webhook';
      if (wantPolicy && current === 'none') await cluster.ok('admin', ['apply', '-f', '-'], policyYaml(groups));
      if (!wantPolicy) await cluster.ok('admin', ['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', 'bench-probe']);
      if (wantWebhook) await cluster.ok('admin', ['apply', '-f', '-'], webhookYaml(groups, url, caBundle));
      if (!wantWebhook && current === 'policy + webhook') await cluster.ok('admin', ['delete', 'validatingwebhookconfiguration', 'bench-probe']);
      for (const target of targets) {
        await (wantPolicy ? untilRefused : untilAllowed)(target, 'probe', probe.policy);
        await (wantWebhook ? untilRefused : untilAllowed)(target, 'probe', probe.webhook);
      }
      await cluster.ok('admin', ['delete', 'namespace', 'probe', '--wait=true']);
      current = setup;
    };

    for (let round = 0; round < rounds; round++) {
      const order = setups.map((_, i) => setups[(i + round) % setups.length]!);
      for (const setup of order) {
        progress(`round ${round + 1}/${rounds}: ${setup}`);
        await enter(setup);
        const namespace = `r${round}-${setup.replace(/[^a-z]+/g, '-')}`;
        await cluster.ok('admin', ['create', 'namespace', namespace]);
        for (const target of targets) {
          const rate = await throughput(target, namespace, 'nb');
          figures.set(key(target, setup), [...(figures.get(key(target, setup)) ?? []), rate]);
          progress(`  ${target.name}: ${rate.toFixed(0)} creates/s`);
        }
        await cluster.ok('admin', ['delete', 'namespace', namespace, '--wait=false']);
      }
    }

    const perRound = (target: Target, setup: Setup): number[] =>
      figures.get(key(target, setup))!.map((rate, i) => rate / figures.get(key(target, 'none'))![i]!);
    const lines = [
      `From the run of ${machine(startLoad)}: ${creates} creates of ~2 KiB notebooks at ${inFlight} in flight per round, ` +
        `medians of ${rounds} rounds; each ratio is against no admission in the same round (lowest–highest in brackets).`,
      '',
      '| admission | CRD in kube-apiserver, creates/s | ratio | this server direct, creates/s | ratio |',
      '| --- | --- | --- | --- | --- |',
      ...setups.map((setup) => {
        const cells = targets.map((target) => {
          const ratios = perRound(target, setup);
          const range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
          return `${median(figures.get(key(target, setup))!).toFixed(0)} | ${median(ratios).toFixed(2)} (${range})`;
        });
        return `| ${setup} | ${cells.join(' | ')} |`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    replaceBlock(out.readme, 'bench:admission', lines);
  } finally {
    webhook?.child.stdin!.end();
    for (const a of agents) await a.destroy().catch(() => undefined);
    await cluster.stop();
  }
}

await main();
