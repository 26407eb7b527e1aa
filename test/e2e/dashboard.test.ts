// The dashboard in headless Chromium against the test control plane, as a user sees it: `kubectl ai dashboard` as
// alice (her RBAC: edit in one namespace), a job queued by Kueue turning Admitted and Running without a reload, its
// progress chart and merged logs (a hostile log line shown as text), a notebook's Open button reaching the stand-in
// notebook server through notebooks/proxy on an origin that serves nothing else, and another namespace refused with
// kube-apiserver's RBAC message.
// Screenshots go to a temporary folder; AI_APISERVER_UPDATE_SCREENSHOTS=1 also writes docs/dashboard.png.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { notebookProxyPath } from '../../src/api/v1alpha1/annotations.js';
import { launchChromium } from '../support/browser.js';
import type { LocalCluster } from '../support/cluster.js';
import { freePort } from '../support/etcd.js';
import { eventually, until } from '../support/eventually.js';
import { installPlugin } from '../support/kubectl-plugin.js';
import { rankPods, serveLogs } from '../support/kwok-logs.js';
import { notebookYaml } from '../support/manifests.js';
import { testBed } from '../support/test-bed.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const ns = 'dashboard';
/** A namespace alice has no role in. */
const other = 'dashboard-other';
const shots = mkdtempSync(join(tmpdir(), 'dashboard-screenshots-'));
const work = mkdtempSync(join(tmpdir(), 'dashboard-'));
// Inside the repository, so the compiled plugin resolves its dependencies from node_modules as dist/ does.
const build = join(repo, '.local', `e2e-dashboard-${process.pid}`);
let bin = '';

const queues = (gpus: number): string => `apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: dashboard-gpu}
spec:
  nodeLabels: {type: kwok}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: dashboard}
spec:
  namespaceSelector: {}
  resourceGroups:
    - coveredResources: [cpu, memory, nvidia.com/gpu]
      flavors:
        - name: dashboard-gpu
          resources:
            - {name: cpu, nominalQuota: 16}
            - {name: memory, nominalQuota: 64Gi}
            - {name: nvidia.com/gpu, nominalQuota: ${gpus}}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: team, namespace: ${ns}}
spec: {clusterQueue: dashboard}
`;

/** An elastic job of 2 to 4 workers of 2 GPUs each in LocalQueue team; kwok leaves its pods to the test. */
const job = JSON.stringify({
  apiVersion: 'ai.example.io/v1alpha1',
  kind: 'Job',
  metadata: { name: 'resnet', namespace: ns, labels: { 'kueue.x-k8s.io/queue-name': 'team' } },
  spec: {
    elastic: { minReplicas: 2, maxReplicas: 4 },
    template: {
      metadata: { annotations: { 'kwok.x-k8s.io/status': 'custom' } },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'trainer', image: 'pytorch/pytorch:2.4.0', resources: { requests: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '2' }, limits: { 'nvidia.com/gpu': '2' } } }],
      },
    },
  },
});

const dataset = `apiVersion: ai.example.io/v1alpha1
kind: Dataset
metadata: {name: imagenet, namespace: ${ns}}
spec:
  source: {uri: s3://datasets/imagenet}
  size: 1Gi
`;

let notebookServer: Server | undefined;

/** The stand-in notebook: says where a request reached it, under NB_PREFIX. */
function startNotebook(port: number): Server {
  const prefix = notebookProxyPath(ns, 'lab');
  const server = createServer((req, res) => {
    const path = req.url?.startsWith(prefix) ? req.url.slice(prefix.length) : undefined;
    res.writeHead(path === undefined ? 404 : 200, { 'content-type': 'text/plain' });
    res.end(path === undefined ? 'not under NB_PREFIX' : `fake notebook lab at ${path}`);
  });
  server.listen(port, '127.0.0.1');
  return server;
}

const bed = testBed({
  name: 'dashboard',
  async serverArgs() {
    const port = await freePort();
    notebookServer = startNotebook(port);
    // Every progress report stored at once, so the chart gets a point for each.
    return [`--notebook-upstream-url=http://127.0.0.1:${port}`, `--notebook-activity-url=http://127.0.0.1:${port}/none`, '--progress-write-interval=0'];
  },
  namespaces: [ns, other],
  async setup(cluster) {
    await cluster.ok('admin', ['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', ns]);
    await cluster.startKueue();
    await cluster.ok('admin', ['apply', '-f', '-'], queues(2));
    await eventually(() => getJson(cluster, ['get', 'clusterqueue', 'dashboard']), (cq) => conditionOf(cq, 'Active')?.status === 'True', 'ClusterQueue dashboard Active');
    bin = await installPlugin(build);
  },
});

let cluster: LocalCluster;
let browser: Browser | undefined;
let dashboard: ChildProcess | undefined;

before(async () => void (browser = await launchChromium()));
beforeEach(async () => void (cluster = await bed.ready()));
after(async () => {
  try {
    await browser?.close();
    if (dashboard && dashboard.exitCode === null && dashboard.signalCode === null) {
      const exited = new Promise((resolve) => dashboard!.once('exit', resolve));
      dashboard.kill('SIGTERM');
      await exited;
    }
    if (cluster) await cleanUp();
  } finally {
    await bed.stop();
    await new Promise((resolve) => (notebookServer ? notebookServer.close(resolve) : resolve(undefined)));
    rmSync(work, { recursive: true, force: true });
    rmSync(build, { recursive: true, force: true });
  }
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function getJson(on: LocalCluster, args: string[]): Promise<Record<string, any>> {
  return JSON.parse(await on.ok('admin', [...args, '-o', 'json'])) as Record<string, any>;
}

function conditionOf(object: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

/** The objects, the job's frozen pods (which hold kwok's GPUs for the suites after: kwok never ends them) and the queues. */
async function cleanUp(): Promise<void> {
  await cluster.ok('admin', ['delete', 'jobs.ai.example.io,notebooks.ai.example.io,datasets.ai.example.io', '--all', '-n', ns, '--wait=false']);
  await eventually(
    async () => {
      await cluster.ok('admin', ['delete', 'pods', '-l', 'ai.example.io/job=resnet', '-n', ns, '--force', '--grace-period=0', '--wait=false']);
      return (await jobPods()).length;
    },
    (left) => left === 0,
    `no pods of job resnet left in ${ns}`,
    90_000,
  );
  await cluster.ok('admin', ['delete', '--ignore-not-found', '-f', '-'], queues(0));
}

/** `kubectl ai dashboard -n dashboard` as alice, through kubectl's plugin discovery; resolves with the URL it prints. */
async function startDashboard(): Promise<string> {
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: work, KUBECONFIG: cluster.kubeconfig('alice') };
  const child = spawn('kubectl', ['ai', 'dashboard', '-n', ns], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  dashboard = child;
  let output = '';
  return new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /^Serving the dashboard on (http:\/\/127\.0\.0\.1:\d+\/\?namespace=dashboard&notebooks=\d+) \(Ctrl-C to stop\)$/m.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`kubectl ai dashboard exited with ${code}: ${output}`)));
  });
}

/** The text of a row's cell under `column`, in the table of the section headed `section`. */
async function cell(page: Page, section: string, name: string, column: string): Promise<string> {
  const table = page.getByRole('region', { name: section });
  const headers = await table.locator('thead th').allTextContents();
  const index = headers.indexOf(column);
  assert.ok(index >= 0, `no column ${column} in ${section}: ${headers.join(', ')}`);
  const row = table.locator('tbody tr').filter({ has: page.locator('td.name', { hasText: new RegExp(`^${name}$`) }) });
  return (await row.locator('td').nth(index).textContent({ timeout: 5_000 })) ?? '';
}

/** Waits until the page shows in a cell what `want` reads from the API (through kubectl), both read afresh each time. */
async function showsAsKube(page: Page, section: string, name: string, column: string, want: () => Promise<string>, timeoutMs = 90_000): Promise<string> {
  let last = { page: '', kube: '' };
  return until(
    async () => {
      last = { kube: await want(), page: await cell(page, section, name, column).catch(() => '') };
      return last.page === last.kube ? last.page : undefined;
    },
    () => `${section} ${name} ${column}: last showed ${JSON.stringify(last.page)}, the API said ${JSON.stringify(last.kube)}`,
    timeoutMs,
    { everyMs: 500 },
  );
}

/** Waits until the page shows what `ok` wants in a cell; reloads nothing, so what changes came by watch. */
async function shows(page: Page, section: string, name: string, column: string, ok: (text: string) => boolean, timeoutMs = 120_000): Promise<string> {
  let last = '';
  return until(
    async () => {
      last = await cell(page, section, name, column).catch(() => '');
      return ok(last) ? last : undefined;
    },
    () => `${section} ${name} ${column}: last showed ${JSON.stringify(last)}`,
    timeoutMs,
    { everyMs: 200 },
  );
}

async function jobPods(): Promise<{ metadata: { name: string; annotations: Record<string, string> }; spec: { nodeName?: string; containers: { name: string; image: string }[] } }[]> {
  return (await getJson(cluster, ['get', 'pods', '-n', ns, '-l', 'ai.example.io/job=resnet'])).items;
}

/** What the kubelet would write for a running pod; kwok leaves these pods to the test. */
async function setRunning(pod: Awaited<ReturnType<typeof jobPods>>[number]): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const containerStatuses = pod.spec.containers.map(({ name, image }) => ({ name, image, imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: now } } }));
  const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }], containerStatuses };
  await cluster.ok('admin', ['patch', 'pod', pod.metadata.name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

/** Saves the page in the temporary folder, and as docs/<name> too for the one the README shows when asked to. */
async function screenshot(page: Page, name: string, inReadme = false): Promise<void> {
  const file = join(shots, name);
  await page.screenshot({ path: file, fullPage: true });
  process.stderr.write(`# screenshot: ${file}\n`);
  if (inReadme && process.env.AI_APISERVER_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(repo, 'docs'), { recursive: true });
    copyFileSync(file, join(repo, 'docs', name));
  }
}

describe('the dashboard in Chromium', () => {
  let page: Page;
  let jobRow: Locator;

  it('shows a job Queued by Kueue, then Admitted within its elastic bounds and Running, as its watch reports it', async () => {
    const url = await startDashboard();
    page = await browser!.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    await cluster.ok('admin', ['apply', '-f', '-'], job);
    await cluster.ok('admin', ['apply', '-f', '-'], dataset);

    // 2 GPUs cannot hold the 2 workers of 2 GPUs the job needs at least: Kueue's reason, as the job carries it.
    await eventually(() => getJson(cluster, ['get', 'aijob', 'resnet', '-n', ns]), (j) => conditionOf(j, 'Queued')?.status === 'True' && /quota/.test(conditionOf(j, 'Queued')!.message), 'job resnet Queued for quota', 90_000);
    const queueCell = async (): Promise<string> => {
      const j = await getJson(cluster, ['get', 'aijob', 'resnet', '-n', ns]);
      const [admitted, queued] = [conditionOf(j, 'Admitted'), conditionOf(j, 'Queued')];
      if (admitted?.status === 'True') return `Admitted in team${admitted.message}`;
      return queued?.status === 'True' ? `Queued in team${queued.reason}: ${queued.message}` : 'neither';
    };
    assert.match(await showsAsKube(page, 'Jobs', 'resnet', 'Queue', queueCell), /^Queued in team.*quota/);
    await screenshot(page, 'dashboard-queued.png');

    // Room for 3 of the 4 workers: Kueue admits the job partially.
    await cluster.ok('admin', ['apply', '-f', '-'], queues(6));
    await eventually(() => getJson(cluster, ['get', 'aijob', 'resnet', '-n', ns]), (j) => conditionOf(j, 'Admitted')?.status === 'True', 'job resnet Admitted', 90_000);
    assert.equal(await showsAsKube(page, 'Jobs', 'resnet', 'Queue', queueCell), 'Admitted in teamClusterQueue dashboard admitted 3 of 4 worker(s)');
    await shows(page, 'Jobs', 'resnet', 'Replicas', (t) => t === '3 (2-4)');

    const pods = await eventually(jobPods, (p) => p.length === 3 && p.every((x) => x.spec.nodeName), "resnet's 3 pods scheduled", 90_000);
    for (const pod of pods) await setRunning(pod);
    await shows(page, 'Jobs', 'resnet', 'Phase', (t) => t === 'Running');
    assert.deepEqual(errors, []);
    jobRow = page.getByRole('region', { name: 'Jobs' }).locator('tbody').filter({ hasText: 'resnet' });

    // The merged logs, each line with its rank; a line that looks like markup stays text.
    await serveLogs(cluster, ns, work, await rankPods(cluster, ns, 'resnet', 3), (rank) => [`rank ${rank} joined the rendezvous`, ...(rank === '0' ? ['epoch 1 step 100 loss 2.31', '<img src=x onerror="document.title=\'pwned\'">'] : [])]);
  });

  it("follows the job's merged logs and charts its progress reports", async () => {
    await jobRow.getByRole('button', { name: 'Details' }).click();
    const logPanel = page.getByRole('region', { name: 'logs of resnet' });
    // Each rank's log is its own stream: wait until every rank's first line and the hostile one are in, in any order.
    const awaited = [/\[rank 0\] <img src=x onerror=/, ...['0', '1', '2'].map((rank) => new RegExp(`\\[rank ${rank}\\] rank ${rank} joined`))];
    await until(async () => {
      const shown = (await logPanel.locator('pre').textContent()) ?? '';
      return awaited.every((line) => line.test(shown));
    }, "every rank's first line and the hostile one shown", 60_000, { everyMs: 200 });
    const text = (await logPanel.locator('pre').textContent())!;
    for (const rank of ['0', '1', '2']) assert.match(text, new RegExp(`^\\[rank ${rank}\\] rank ${rank} joined the rendezvous$`, 'm'));
    assert.match(text, /^\[rank 0\] epoch 1 step 100 loss 2\.31$/m);
    assert.equal(await page.locator('img').count(), 0, 'no element made from a log line');
    assert.notEqual(await page.title(), 'pwned');

    for (const [step, loss] of [[100, 2.31], [200, 1.72], [300, 1.25], [400, 0.98]] as const) {
      await cluster.ok('admin', ['patch', 'aijob', 'resnet', '-n', ns, '--subresource=progress', '--type=merge', '-p', JSON.stringify({ step, totalSteps: 1000, metrics: { loss }, estimatedRemainingSeconds: (1000 - step) * 3 })]);
      await shows(page, 'Jobs', 'resnet', 'Progress', (t) => t.startsWith(`${step}/1000`), 30_000);
    }
    await until(async () => /4 reports seen/.test((await jobRow.locator('figcaption').textContent()) ?? ''), 'a chart of four reports', 10_000);
    assert.match((await jobRow.locator('figcaption').textContent())!, /^loss 0\.98 · against step · 4 reports seen$/);
  });

  it("opens a running notebook through notebooks/proxy, and counts its idle time from that visit", async () => {
    await cluster.ok('admin', ['apply', '-n', ns, '-f', '-'], notebookYaml('lab', { spec: '  idle:\n    timeoutSeconds: 3600\n' }));
    await shows(page, 'Notebooks', 'lab', 'Phase', (t) => t === 'Running');
    const [tab] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Open' }).click()]);
    await tab.waitForLoadState();
    assert.equal(await tab.locator('body').textContent(), 'fake notebook lab at /');
    assert.equal(new URL(tab.url()).pathname, `${notebookProxyPath(ns, 'lab')}/`);
    // The notebook's pages run on an origin of their own, which forwards notebooks/proxy paths and nothing else.
    assert.notEqual(new URL(tab.url()).origin, new URL(page.url()).origin);
    const jobsFromNotebook = await tab.evaluate(async (path) => (await fetch(path)).status, `/apis/ai.example.io/v1alpha1/namespaces/${ns}/jobs`);
    assert.equal(jobsFromNotebook, 403);
    await tab.close();
    // The visit through the proxy is the notebook's last activity.
    await shows(page, 'Notebooks', 'lab', 'Idle', (t) => /^\d+[sm] of 1h$/.test(t), 90_000);
    await showsAsKube(page, 'Datasets', 'imagenet', 'Phase', async () => (await getJson(cluster, ['get', 'datasets.ai.example.io', 'imagenet', '-n', ns])).status?.phase ?? 'Unknown');
    await screenshot(page, 'dashboard.png', true);
  });

  it("shows kube-apiserver's refusal for a namespace the user has no role in", async () => {
    const input = page.getByRole('combobox', { name: 'Namespace' });
    await input.fill(other);
    await input.press('Enter');
    const alert = page.getByRole('region', { name: 'Jobs' }).getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    // kube-apiserver's own words, as alice gets them.
    const refusal = await cluster.request('alice', 'GET', `/apis/ai.example.io/v1alpha1/namespaces/${other}/jobs`);
    assert.equal(refusal.status, 403);
    assert.equal(await alert.textContent(), JSON.parse(refusal.body).message);
    assert.match(JSON.parse(refusal.body).message, /User "alice" cannot list resource "jobs"/);
    assert.equal(new URL(page.url()).searchParams.get('namespace'), other);
  });
});
