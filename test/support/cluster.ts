// A real local control plane for end-to-end tests and demos: etcd, kube-apiserver (aggregation on, Node+RBAC,
// static tokens for admin and tenants), kube-controller-manager, kube-scheduler and kwok, all built from their Go
// modules by scripts/install-kube.sh; then this server in delegated mode behind an APIService, registered with
// the files the project ships (deploy/, apiservice/), with only the Service adjusted to reach loopback. Kueue, for
// the suites that queue work, on request (startKueue).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { customResourceDefinition } from '../../src/api/v1alpha1/crd.js';
import { resources } from '../../src/resources/index.js';
import { freePort, startEtcd, type EtcdProcess } from './etcd.js';
import { httpsCall, type HttpsAnswer } from './https.js';
import {
  kueueBuild,
  kueueCaName,
  kueueCertDays,
  kueueConfiguration,
  kueueNamespace,
  kueueServingName,
  kueueWebhookConfigurations,
  kueueWebhooks,
  kueueWebhookSecret,
} from './kueue.js';
import { Pki, type Issued } from './pki.js';
import { requireGo, requireKubectl } from './tools.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export const users = {
  admin: { token: 'admin-token', name: 'admin', groups: ['system:masters'] },
  alice: { token: 'alice-token', name: 'alice', groups: [] as string[] },
  bob: { token: 'bob-token', name: 'bob', groups: [] as string[] },
  carol: { token: 'carol-token', name: 'carol', groups: [] as string[] },
  server: { token: 'ai-apiserver-token', name: 'system:serviceaccount:ai-system:ai-apiserver', groups: ['system:serviceaccounts', 'system:serviceaccounts:ai-system'] },
};
export type UserName = keyof typeof users;

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function kubeBinaries(): string {
  const script = join(repo, 'scripts/install-kube.sh');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: string[];
}

/** What another process needs to use a control plane this one started (see test/support/test-bed.ts). */
export interface ControlPlaneState {
  dir: string;
  apiserverUrl: string;
  serverPort: number;
  serverEtcdEndpoint: string;
  ca: Issued;
  aiServing: Issued;
  aiCa: Issued;
  frontProxyCa: Issued;
  frontProxyClient: Issued;
}

export class LocalCluster {
  readonly dir: string;
  readonly pki: Pki;
  apiserverUrl = '';
  serverPort = 0;
  private procs: Proc[] = [];
  private etcds: EtcdProcess[] = [];
  private serverEtcdUrl = '';
  private bin = '';
  private ca!: Issued;
  private aiServing!: Issued;
  private aiCa!: Issued;
  frontProxyCa!: Issued;
  frontProxyClient!: Issued;
  /** False when attached to a control plane another process started and stops. */
  private readonly ownsControlPlane: boolean;

  /** Extra flags for this server, e.g. where the notebook controller reads Jupyter's activity. */
  serverArgs: string[] = [];
  /** Where this server keeps its objects in etcd: suites sharing one control plane each use their own. */
  etcdPrefix = '/registry';
  /** No certificate files for this server: it keeps its own in its Secret and sets the APIService's caBundle. */
  selfManagedCert = false;
  /** Whether this process started Kueue (startKueue), whose webhook configurations it then removes when it stops. */
  private kueueStarted = false;

  constructor(private readonly log: (line: string) => void = () => undefined, attachTo?: ControlPlaneState) {
    this.ownsControlPlane = attachTo === undefined;
    this.dir = attachTo?.dir ?? mkdtempSync(join(tmpdir(), 'ai-apiserver-cluster-'));
    this.pki = new Pki(this.dir);
    mkdirSync(join(this.dir, 'home'), { recursive: true });
    if (attachTo) {
      ({ apiserverUrl: this.apiserverUrl, serverPort: this.serverPort, serverEtcdEndpoint: this.serverEtcdUrl } = attachTo);
      ({ ca: this.ca, aiServing: this.aiServing, aiCa: this.aiCa, frontProxyCa: this.frontProxyCa, frontProxyClient: this.frontProxyClient } = attachTo);
    }
  }

  /** A control plane started by another process, which stays its owner. */
  static attach(state: ControlPlaneState, log?: (line: string) => void): LocalCluster {
    return new LocalCluster(log, state);
  }

  state(): ControlPlaneState {
    const { dir, apiserverUrl, serverPort, ca, aiServing, aiCa, frontProxyCa, frontProxyClient } = this;
    return { dir, apiserverUrl, serverPort, serverEtcdEndpoint: this.serverEtcdUrl, ca, aiServing, aiCa, frontProxyCa, frontProxyClient };
  }

  /** The etcd this server stores its objects in (a test may write there as another replica would). */
  get serverEtcdEndpoint(): string {
    return this.serverEtcdUrl;
  }

  /** kube-apiserver's audit log (JSON lines): its Metadata events for requests to ai.example.io. */
  get auditLogPath(): string {
    return join(this.dir, 'kube-apiserver-audit.log');
  }

  /** The CA that signed kube-apiserver's serving certificate. */
  get caPem(): string {
    return this.ca.pem;
  }

  kubeconfig(user: UserName): string {
    return join(this.dir, `${user}.kubeconfig`);
  }

  /** The installed kubectl as `user`, through kube-apiserver, with a private discovery cache. */
  kubectl(user: UserName, args: string[], input?: string): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const proc = execFile(
        'kubectl',
        ['--kubeconfig', this.kubeconfig(user), ...args],
        { env: { ...process.env, HOME: join(this.dir, 'home', user) }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 }),
      );
      // kubectl may exit before reading its input (most commands never read it): the pipe's EPIPE is not the
      // command's outcome, which its exit code and stderr give.
      proc.stdin?.on('error', () => undefined);
      proc.stdin?.end(input ?? '');
    });
  }

  async ok(user: UserName, args: string[], input?: string): Promise<string> {
    const res = await this.kubectl(user, args, input);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} as ${user} failed (${res.code}): ${res.stderr}`);
    return res.stdout;
  }

  /** The control plane with this server registered and serving behind it. */
  async start(): Promise<void> {
    await this.startControlPlane();
    await this.serve();
  }

  /**
   * etcd, kube-apiserver, controller-manager, scheduler, kwok, and the APIService with its RBAC: everything but
   * this server, whose port the APIService already names.
   */
  async startControlPlane(): Promise<void> {
    requireKubectl();
    requireGo();
    this.log('building or reusing the control plane binaries');
    this.bin = kubeBinaries();
    this.log('issuing certificates');
    this.ca = this.pki.ca('ca', 'local-cluster-ca');
    const apiserverCert = this.pki.issue('apiserver', this.ca, {
      cn: 'kube-apiserver',
      usage: 'server',
      dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ips: ['127.0.0.1', '10.96.0.1'],
    });
    this.frontProxyCa = this.pki.ca('front-proxy-ca', 'front-proxy-ca');
    this.frontProxyClient = this.pki.issue('front-proxy-client', this.frontProxyCa, { cn: 'front-proxy-client', usage: 'client' });
    this.aiCa = this.pki.ca('ai-ca', 'ai-apiserver-ca');
    this.aiServing = this.pki.issue('ai-serving', this.aiCa, {
      cn: 'ai-apiserver',
      usage: 'server',
      dns: ['ai-apiserver.ai-system.svc', 'localhost'],
      ips: ['127.0.0.1'],
    });
    const sa = this.pki.serviceAccountKeys();
    const tokens = join(this.dir, 'tokens.csv');
    writeFileSync(
      tokens,
      Object.entries(users)
        .map(([key, u]) => `${u.token},${u.name},uid-${key},"${u.groups.join(',')}"`)
        .join('\n') + '\n',
    );

    this.log('starting etcd for kube-apiserver and for the server');
    const kubeEtcd = await startEtcd();
    const serverEtcd = await startEtcd();
    this.etcds.push(kubeEtcd, serverEtcd);
    this.serverEtcdUrl = serverEtcd.endpoint;

    const apiserverPort = await freePort();
    this.apiserverUrl = `https://127.0.0.1:${apiserverPort}`;
    for (const user of Object.keys(users) as UserName[]) this.writeKubeconfig(user);

    // kube-apiserver's own audit log, for this server's to be joined with by auditID: only requests for
    // ai.example.io, at Metadata, and only their final stage, which keeps it cheap for the suites that never read it.
    // golden.example.io's too: its CRDs' events carry the audit annotations kube's own admission adds, which the
    // admission-policy suite compares with this server's.
    const auditPolicy = join(this.dir, 'kube-apiserver-audit-policy.yaml');
    writeFileSync(
      auditPolicy,
      stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        rules: [{ level: 'Metadata', resources: [{ group: 'ai.example.io' }, { group: 'golden.example.io' }] }, { level: 'None' }],
      }),
    );

    this.log('starting kube-apiserver');
    this.spawn('kube-apiserver', [
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${this.auditLogPath}`,
      `--etcd-servers=${kubeEtcd.endpoint}`,
      `--secure-port=${apiserverPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--tls-cert-file=${apiserverCert.cert}`,
      `--tls-private-key-file=${apiserverCert.key}`,
      `--client-ca-file=${this.ca.cert}`,
      `--token-auth-file=${tokens}`,
      '--authorization-mode=Node,RBAC',
      // On top of the default plugins, as OpenShift runs it: a child whose owner reference blocks the owner's deletion
      // may only be written by whom may update the owner's finalizers (deploy/'s RBAC grants it to the server).
      '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
      // kwok's nodes answer pods/log on 127.0.0.1 (their InternalIP), not on their host names.
      '--kubelet-preferred-address-types=InternalIP',
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${sa.pub}`,
      `--service-account-signing-key-file=${sa.key}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      `--requestheader-client-ca-file=${this.frontProxyCa.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${this.frontProxyClient.cert}`,
      `--proxy-client-key-file=${this.frontProxyClient.key}`,
      // Routing to the Service, not its endpoints: only that path resolves an ExternalName Service.
      '--enable-aggregator-routing=false',
      '--allow-privileged=true',
      '--profiling=false',
    ]);
    await this.waitReady(`${this.apiserverUrl}/readyz`, 120_000);

    this.log('starting kube-controller-manager, kube-scheduler and kwok');
    const admin = this.kubeconfig('admin');
    this.spawn('kube-controller-manager', [
      `--kubeconfig=${admin}`,
      `--authentication-kubeconfig=${admin}`,
      `--authorization-kubeconfig=${admin}`,
      `--service-account-private-key-file=${sa.key}`,
      `--root-ca-file=${this.ca.cert}`,
      `--cluster-signing-cert-file=${this.ca.cert}`,
      `--cluster-signing-key-file=${this.ca.key}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service,-route',
      // kwok renews its nodes' leases late when the machine is loaded; past the grace period the node lifecycle
      // controller marks every pod on them not Ready (NodeNotReady), which kwok never sets back, so a Running
      // notebook turned Pending for good in the middle of a suite. The controller stays: it lifts new nodes' not-ready taint.
      '--node-monitor-grace-period=10m',
    ]);
    this.spawn('kube-scheduler', [
      `--kubeconfig=${admin}`,
      `--authentication-kubeconfig=${admin}`,
      `--authorization-kubeconfig=${admin}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
    ]);
    // kwok also plays the kubelet's log endpoint: each node's InternalIP and port are kwok's HTTPS server, and
    // kwok's Logs objects say which file holds a pod's container log.
    await this.ok('admin', ['apply', '-f', kwokCrd('kwok.x-k8s.io_logs.yaml')]);
    await this.ok('admin', ['wait', '--for=condition=Established', 'crd/logs.kwok.x-k8s.io', '--timeout=60s']);
    const kwokServing = this.pki.issue('kwok-serving', this.ca, { cn: 'kwok', usage: 'server', ips: ['127.0.0.1'] });
    const kwokPort = await freePort();
    this.spawn('kwok', [
      `--kubeconfig=${admin}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--manage-nodes-with-label-selector=',
      '--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom',
      '--cidr=10.0.0.1/24',
      '--node-ip=127.0.0.1',
      `--node-port=${kwokPort}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      `--tls-cert-file=${kwokServing.cert}`,
      `--tls-private-key-file=${kwokServing.key}`,
      '--enable-crds=Logs',
    ]);
    await this.ok('admin', ['apply', '-f', '-'], `${fakeNodes(2)}---\n${volumes(24)}`);

    this.log('registering the server: deploy/ RBAC and roles, an ExternalName Service, the APIService');
    await this.ok('admin', ['apply', '-f', join(repo, 'deploy/base/namespace.yaml'), '-f', join(repo, 'deploy/base/rbac.yaml'), '-f', join(repo, 'deploy/base/aggregated-roles.yaml')]);
    this.serverPort = await freePort();
    await this.register();
  }

  /** Applies the Service and APIService that route the group to the registered port (again, after a suite replaced them). */
  async register(): Promise<void> {
    await this.ok('admin', ['apply', '-f', '-'], this.registration());
  }

  /**
   * Starts this server on the registered port and waits until kube-apiserver routes to it: the APIService
   * Available, discovery and the aggregated OpenAPI answered.
   */
  async serve(): Promise<void> {
    await this.startServer();
    await this.waitAvailable(true, 120_000);
    await this.waitFor(async () => (await this.kubectl('admin', ['get', '--raw', '/apis/ai.example.io/v1alpha1'])).code === 0, 'discovery through kube-apiserver', 60_000);
    // kubectl validates against the aggregated OpenAPI, which kube-apiserver fetches from the server shortly after
    // the APIService turns Available; until then creates fail with 503.
    await this.waitFor(async () => (await this.kubectl('admin', ['get', '--raw', '/openapi/v3/apis/ai.example.io/v1alpha1'])).code === 0, 'the aggregated OpenAPI', 120_000);
  }

  private async waitFor(check: () => Promise<boolean>, what: string | (() => string), timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The APIService the project ships with caBundle and port filled in, and the Service pointed at loopback. */
  private registration(): string {
    const apiService = parse(readFileSync(join(repo, 'apiservice/v1alpha1.ai.example.io.yaml'), 'utf8')) as {
      spec: { caBundle: string; service: { port: number } };
    };
    apiService.spec.caBundle = Buffer.from(this.aiCa.pem).toString('base64');
    apiService.spec.service.port = this.serverPort;
    const service = parseAllDocuments(readFileSync(join(repo, 'deploy/base/service.yaml'), 'utf8'))[0]!.toJSON() as {
      spec: Record<string, unknown>;
    };
    // Endpoints may not hold loopback addresses; an ExternalName of localhost reaches the server while TLS still
    // verifies ai-apiserver.ai-system.svc.
    service.spec = { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port: this.serverPort }] };
    return `${stringify(service)}---\n${stringify(apiService)}`;
  }

  /**
   * Starts this server in delegated mode (again, after stopServer); `port` serves a second replica, `storage`
   * replaces the test etcd (e.g. `--storage=sqlite:PATH`).
   */
  async startServer(port = this.serverPort, storage?: string[]): Promise<void> {
    const name = `ai-apiserver:${port}`;
    this.spawn('ai-apiserver', this.serverCommand(port, storage), process.execPath, name);
    // Generous: on two loaded cores a replica's start (tsx compiling the server, the watch caches listing) has
    // taken over 30 s.
    await this.waitReady(`https://127.0.0.1:${port}/readyz`, 120_000, name);
  }

  /** The node arguments of a delegated-mode server on `port`, for tests that run one themselves. */
  serverCommand(port: number, storage = [`--etcd-servers=${this.serverEtcdUrl}`, `--etcd-prefix=${this.etcdPrefix}`]): string[] {
    return [
      '--import',
      'tsx',
      join(repo, 'src/main.ts'),
      ...storage,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      ...(this.selfManagedCert ? [] : [`--tls-cert-file=${this.aiServing.cert}`, `--tls-private-key-file=${this.aiServing.key}`]),
      `--kubeconfig=${this.kubeconfig('server')}`,
      '--notebook-activity-interval=2',
      ...this.serverArgs,
    ];
  }

  /** Stops the replica serving `port` (the registered one by default), gracefully or with SIGKILL. */
  async stopServer(port = this.serverPort, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.procs.find((p) => p.name === `ai-apiserver:${port}` && p.child.exitCode === null && p.child.signalCode === null);
    if (!proc) return;
    const exited = new Promise((resolve) => proc.child.once('exit', resolve));
    proc.child.kill(signal);
    await exited;
    this.procs = this.procs.filter((p) => p !== proc);
  }

  /** Waits until the APIService's Available condition is `available`. */
  async waitAvailable(available: boolean, timeoutMs: number): Promise<void> {
    const want = available ? 'True' : 'False';
    const deadline = Date.now() + timeoutMs;
    // A changed Service makes kube-aggregator check availability at once rather than on its next resync, up to
    // 30 s later, after a server has stopped or started.
    await this.ok('admin', ['annotate', 'service', 'ai-apiserver', '-n', 'ai-system', '--overwrite', `ai.example.io/availability-check=${Date.now()}`]);
    let last = '';
    while (Date.now() < deadline) {
      const res = await this.kubectl('admin', ['get', 'apiservice', 'v1alpha1.ai.example.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
      last = res.stdout.trim() || res.stderr.trim();
      if (last === want) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`APIService Available is ${last}, wanted ${want}\n${this.logs('ai-apiserver').slice(-3000)}`);
  }

  /**
   * Installs the CustomResourceDefinitions generated from this project's schemas for every kind, in `group`, and
   * waits until kube-apiserver serves them: what a user would run instead of this server.
   */
  async installCrds(group: string): Promise<void> {
    for (const { info, scale } of resources.strategies) {
      const names = { ...info, group, plural: info.resource, shortNames: [], categories: [] };
      const crd = customResourceDefinition(names, scale?.jsonPaths);
      await this.ok('admin', ['apply', '--server-side', '-f', '-'], JSON.stringify(crd));
    }
    for (const { info } of resources.strategies) {
      // kubectl wait fails at once on a CRD that has no conditions yet, so it is asked again until it can answer.
      await this.waitFor(
        async () => (await this.kubectl('admin', ['wait', '--for=condition=Established', `crd/${info.resource}.${group}`, '--timeout=30s'])).code === 0,
        `CRD ${info.resource}.${group} Established`,
        60_000,
      );
    }
  }

  /** Kueue's CRDs from its module, Established, without its controller (startKueue); returns Kueue's build folder. */
  async installKueueCrds(): Promise<string> {
    this.log('building or reusing Kueue');
    const build = kueueBuild();
    const src = join(build, 'src');
    this.log("installing Kueue's CRDs");
    // Server-side: the Workload CRD is larger than the annotation client-side apply keeps.
    const crds = join(src, 'config/components/crd/bases');
    await this.ok('admin', ['apply', '--server-side', '-f', crds]);
    await this.waitFor(async () => (await this.kubectl('admin', ['wait', '--for=condition=Established', '-f', crds, '--timeout=30s'])).code === 0, "Kueue's CRDs Established", 60_000);
    return build;
  }

  /**
   * Kueue's controller manager against this control plane, for the suites that queue work (no other suite sees its
   * webhooks): Kueue's CRDs from its module, its webhook server on 127.0.0.1 with a certificate from the test PKI,
   * its webhook configurations calling that URL, and the Configuration of test/support/kueue.ts. Returns once Kueue's
   * webhooks answer: a batch Job with a queue name comes back suspended from a dry run.
   */
  async startKueue(): Promise<void> {
    const build = await this.installKueueCrds();
    const src = join(build, 'src');

    // Seeded in the Secret Kueue's certificate rotator reads, which keeps a certificate it finds valid: a CA valid for
    // the name kueue-ca whose key it can parse (PKCS#1 RSA only), and a serving certificate for its Service's name and
    // for the loopback address the webhook configurations call.
    const ca = this.pki.ca('kueue-ca', kueueCaName, { dns: [kueueCaName], rsa: true, days: kueueCertDays });
    const serving = this.pki.issue('kueue-serving', ca, { cn: kueueServingName, usage: 'server', dns: [kueueServingName], ips: ['127.0.0.1'], days: kueueCertDays });
    // A suite started before this one in the same run may have left both (its Kueue stopped with it).
    await this.ok('admin', ['create', 'namespace', kueueNamespace, '--dry-run=client', '-o', 'yaml']).then((yaml) => this.ok('admin', ['apply', '-f', '-'], yaml));
    await this.ok('admin', ['delete', 'secret', kueueWebhookSecret, '-n', kueueNamespace, '--ignore-not-found']);
    await this.ok('admin', [
      'create', 'secret', 'generic', kueueWebhookSecret, '-n', kueueNamespace,
      `--from-file=ca.crt=${ca.cert}`, `--from-file=ca.key=${ca.key}`, `--from-file=tls.crt=${serving.cert}`, `--from-file=tls.key=${serving.key}`,
    ]);

    // Where a Deployment would mount that Secret: the rotator waits for the files, the webhook server serves them.
    const certDir = join(this.dir, 'kueue-webhook-certs');
    mkdirSync(certDir, { recursive: true });
    copyFileSync(serving.cert, join(certDir, 'tls.crt'));
    copyFileSync(serving.key, join(certDir, 'tls.key'));
    const ports = { webhook: await freePort(), health: await freePort(), metrics: await freePort() };
    const config = join(this.dir, 'kueue-config.yaml');
    writeFileSync(config, kueueConfiguration(ports, certDir));
    this.kueueStarted = true;
    await this.ok('admin', ['apply', '-f', '-'], kueueWebhooks(src, ports.webhook, ca.pem));

    this.log("starting Kueue's controller manager");
    this.spawn('kueue', [`--config=${config}`, `--kubeconfig=${this.kubeconfig('admin')}`], join(build, 'bin/kueue'));
    const probe = `apiVersion: batch/v1
kind: Job
metadata: {name: kueue-probe, namespace: ${kueueNamespace}, labels: {kueue.x-k8s.io/queue-name: probe}}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}
`;
    let last = '';
    await this.waitFor(
      async () => {
        const exited = this.procs.find((p) => p.name === 'kueue' && p.child.exitCode !== null);
        if (exited) throw new Error(`kueue exited with ${exited.child.exitCode}:\n${exited.output.join('').slice(-3000)}`);
        const res = await this.kubectl('admin', ['create', '--dry-run=server', '-o', 'jsonpath={.spec.suspend}', '-f', '-'], probe);
        last = res.stderr || res.stdout;
        return res.code === 0 && res.stdout === 'true';
      },
      () => `Kueue's webhooks (last answer: ${last})\n${this.logs('kueue').slice(-3000)}`,
      120_000,
    );
  }

  /** The PID of a running process of the control plane, e.g. "kube-apiserver" or "ai-apiserver:<port>". */
  pidOf(name: string): number {
    const proc = this.procs.find((p) => p.name === name && p.child.exitCode === null);
    if (!proc?.child.pid) throw new Error(`no running ${name}`);
    return proc.child.pid;
  }

  /** Output of the processes this one started whose name starts with `name`. */
  logs(name: string): string {
    return this.procs.filter((p) => p.name.startsWith(name)).map((p) => p.output.join('')).join('\n');
  }

  /** One request to kube-apiserver as `user`, e.g. to compare this server with a CRD on the same path shape. */
  request(
    user: UserName,
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<HttpsAnswer> {
    return httpsCall(
      `${this.apiserverUrl}${path}`,
      { method, ca: this.ca.pem, headers: { authorization: `Bearer ${users[user].token}`, accept: 'application/json', ...headers } },
      body,
    );
  }

  /** Raw HTTPS straight to this server (the replica on `port`), bypassing kube-apiserver, with an optional client certificate. */
  direct(path: string, headers: Record<string, string>, clientCert?: Issued, port = this.serverPort): Promise<HttpsAnswer> {
    return httpsCall(`https://127.0.0.1:${port}${path}`, {
      rejectUnauthorized: false,
      headers,
      ...(clientCert ? { cert: readFileSync(clientCert.cert), key: readFileSync(clientCert.key) } : {}),
    });
  }

  /** Stops the processes this one started; the whole control plane only when this process owns it. */
  async stop(): Promise<void> {
    // On a shared control plane the suites after this one would otherwise have their batch Jobs sent to a stopped
    // webhook, which fails their creation.
    if (this.kueueStarted) {
      const { mutating, validating } = kueueWebhookConfigurations;
      await this.kubectl('admin', ['delete', '--ignore-not-found', '--request-timeout=20s', `mutatingwebhookconfiguration/${mutating}`, `validatingwebhookconfiguration/${validating}`]);
      this.kueueStarted = false;
    }
    for (const proc of [...this.procs].reverse()) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
      const exited = new Promise((resolve) => proc.child.once('exit', resolve));
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    this.procs = [];
    if (!this.ownsControlPlane) return;
    for (const etcd of this.etcds) await etcd.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeKubeconfig(user: UserName): void {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: this.apiserverUrl, 'certificate-authority-data': Buffer.from(this.ca.pem).toString('base64') } }],
      users: [{ name: user, user: { token: users[user].token } }],
      contexts: [{ name: user, context: { cluster: 'local', user, namespace: 'default' } }],
      'current-context': user,
    };
    writeFileSync(this.kubeconfig(user), stringify(config), { mode: 0o600 });
    mkdirSync(join(this.dir, 'home', user), { recursive: true });
  }

  private spawn(binary: string, args: string[], command = join(this.bin, binary), name = binary): void {
    const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const keep = (d: Buffer): void => {
      output.push(d.toString());
      if (output.length > 2000) output.splice(0, 1000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.procs.push({ name, child, output });
  }

  /** Polls `url` until it answers 200; fails early when the process `name` (any process, if not given) has exited. */
  private async waitReady(url: string, timeoutMs: number, name?: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await new Promise<number>((resolve) => {
        const req = httpsRequest(url, { rejectUnauthorized: false, headers: { Authorization: `Bearer ${users.admin.token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end();
      });
      if (status === 200) return;
      const dead = this.procs.find((p) => (name === undefined || p.name === name) && p.child.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited with ${dead.child.exitCode}:\n${dead.output.join('').slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** hostPath volumes with no class, so claims without a class bind (there is no provisioner here). */
function volumes(count: number): string {
  return Array.from({ length: count }, (_, i) =>
    stringify({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `local-pv-${i}` },
      spec: {
        capacity: { storage: '500Gi' },
        accessModes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: '',
        hostPath: { path: `/tmp/kwok-volumes/pv-${i}` },
      },
    }),
  ).join('---\n');
}

/** A CustomResourceDefinition shipped in kwok's module (the version scripts/install-kube.sh builds). */
function kwokCrd(file: string): string {
  const info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', 'sigs.k8s.io/kwok@v0.7.0'], { encoding: 'utf8' })) as { Dir: string };
  return join(info.Dir, 'kustomize/crd/bases', file);
}

function fakeNodes(count: number): string {
  return Array.from({ length: count }, (_, i) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `kwok-node-${i}`,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: { type: 'kwok', 'kubernetes.io/hostname': `kwok-node-${i}`, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
      },
      spec: { taints: [] },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '110', 'nvidia.com/gpu': '8' },
        capacity: { cpu: '32', memory: '256Gi', pods: '110', 'nvidia.com/gpu': '8' },
      },
    }),
  ).join('---\n');
}
