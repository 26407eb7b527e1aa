// Every option of the server, parsed once from flags (kube-apiserver's names where one exists) into one typed,
// validated object that is passed down. Nothing else reads argv or the environment.
import { Command, InvalidArgumentError } from 'commander';

/** Where objects are kept: etcd, or the embedded SQLite file (one replica). */
export type StorageConfig = { kind: 'etcd'; servers: string[] } | { kind: 'sqlite'; path: string };

export const defaultSqlitePath = 'data/ai-apiserver.db';

export interface Config {
  storage: StorageConfig;
  etcdPrefix: string;
  securePort: number;
  bindAddress: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  standalone: boolean;
  /** How to reach kube-apiserver for delegated authn/authz; in-cluster service account when absent. */
  kubeconfig?: string;
  tokenAuthFile?: string;
  writeKubeconfig?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Seconds /readyz reports failure before the server stops accepting requests (kube's --shutdown-delay-duration). */
  shutdownDelaySeconds: number;
  /** Largest request body accepted, in bytes (kube-apiserver: 3 MiB). */
  maxRequestBodyBytes: number;
  /** Run the notebook, job and dataset controllers (delegated mode only: they need kube-apiserver). */
  controllers: boolean;
  leaderElectionNamespace: string;
  /** The controllers' Lease timings, as kube-controller-manager's --leader-elect-* flags take them. */
  leaderElection: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** Where a notebook's Jupyter status is read; {namespace} and {name} are replaced. */
  notebookActivityUrl: string;
  notebookActivityIntervalSeconds: number;
  /** Where notebooks/proxy sends a notebook's traffic; {namespace} and {name} are replaced. */
  notebookUpstreamUrl: string;
  datasetLoaderImage: string;
  /** Seats for GET, LIST (0: no limit), as kube-apiserver's flag. */
  maxRequestsInflight: number;
  /** Seats for every other verb (0: no limit). */
  maxMutatingRequestsInflight: number;
  /** Per-user queues and fair dispatch when seats are full; off: 429 at once, as kube without APF. */
  enablePriorityAndFairness: boolean;
  /** Bound on a request that is not long-running, its body read and its wait for a seat included. */
  requestTimeoutMs: number;
  /** Connections accepted at once; more are dropped at accept. */
  maxConnections: number;
}

const integer = (name: string, min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
  return n;
};

/** A Go duration as kube's flags take it ("1m0s", "90s", "1.5h", "500ms"). */
function parseDuration(name: string) {
  return (value: string): number => {
    const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
    const parts = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/.test(value) ? value.match(/\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns)/g)! : undefined;
    if (!parts) throw new InvalidArgumentError(`${name} must be a duration such as 60s or 1m0s`);
    return parts.reduce((total, part) => {
      const [, amount, unit] = /^(\d+(?:\.\d+)?)(\D+)$/.exec(part)!;
      return total + Number(amount) * units[unit!]!;
    }, 0);
  };
}

function parseBoolean(name: string) {
  return (value: string): boolean => {
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new InvalidArgumentError(`${name} must be true or false`);
  };
}

/** kube's -v levels: 0-1 info, 2-4 debug, 5+ trace. */
function verbosityToLevel(v: number): Config['logLevel'] {
  if (v >= 5) return 'trace';
  if (v >= 2) return 'debug';
  return 'info';
}

export function parseConfig(argv: string[]): Config {
  const program = new Command()
    .name('ai-apiserver')
    .description('Kubernetes aggregated API server for ai.example.io: notebooks, jobs, datasets')
    .option('--etcd-servers <urls>', 'comma-separated etcd client URLs; objects are kept in etcd (any number of replicas)')
    .option(
      '--storage <backend>',
      `sqlite:PATH keeps objects in an embedded SQLite file (one replica only); the default, at sqlite:${defaultSqlitePath}, when --etcd-servers is not given`,
    )
    .option('--etcd-prefix <prefix>', 'prefix of every key written to the store', '/registry')
    .option('--secure-port <port>', 'HTTPS port', integer('--secure-port', 0, 65535), 8443)
    .option('--bind-address <address>', 'address to listen on', '0.0.0.0')
    .option('--tls-cert-file <file>', 'serving certificate (PEM); a self-signed one is generated when absent')
    .option('--tls-private-key-file <file>', 'private key of --tls-cert-file (PEM)')
    .option('--standalone', 'run without kube-apiserver: bearer tokens from --token-auth-file, every authenticated user allowed', false)
    .option('--kubeconfig <file>', 'kubeconfig for reaching kube-apiserver (TokenReview, SubjectAccessReview, namespaces); in-cluster config when absent')
    .option('--token-auth-file <file>', 'static tokens, one "token,user,uid,\\"group1,group2\\"" per line (standalone)')
    .option('--write-kubeconfig <file>', 'write a kubeconfig for this server (standalone)')
    .option('-v, --v <level>', 'log verbosity as kube components take it (0-10)', integer('--v', 0, 10), 0)
    .option('--log-level <level>', 'pino log level; overrides --v')
    .option('--shutdown-delay-duration <seconds>', 'seconds /readyz fails before the server stops', integer('--shutdown-delay-duration', 0, 600), 0)
    .option('--no-controllers', 'do not run the notebook, job and dataset controllers')
    .option('--leader-election-namespace <ns>', 'namespace of the controllers\' Lease', 'ai-system')
    .option('--leader-elect-lease-duration <duration>', 'how long a standby waits after the leader\'s last renewal before taking the Lease', parseDuration('--leader-elect-lease-duration'), 15_000)
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader keeps trying to renew before it stops leading', parseDuration('--leader-elect-renew-deadline'), 10_000)
    .option('--leader-elect-retry-period <duration>', 'how often every replica tries to take or renew the Lease', parseDuration('--leader-elect-retry-period'), 2_000)
    .option(
      '--notebook-activity-url <template>',
      'where Jupyter reports last_activity; {namespace} and {name} are replaced',
      'http://{name}.{namespace}.svc/apis/ai.example.io/v1alpha1/namespaces/{namespace}/notebooks/{name}/proxy/api/status',
    )
    .option(
      '--notebook-upstream-url <template>',
      'where notebooks/proxy sends a notebook\'s traffic (the request path is kept); {namespace} and {name} are replaced',
      'http://{name}.{namespace}.svc',
    )
    .option('--notebook-activity-interval <seconds>', 'how often idle policies are checked', integer('--notebook-activity-interval', 1, 3600), 60)
    .option('--dataset-loader-image <image>', 'image of the dataset prefetch Job (reads SOURCE_URI, fills /data)', 'ai-apiserver-loader:0.1.0')
    .option('--max-requests-inflight <n>', 'GET and LIST requests served at once (0: no limit); watches, proxy and logs take no seat', integer('--max-requests-inflight', 0, 100_000), 400)
    .option('--max-mutating-requests-inflight <n>', 'other requests served at once (0: no limit)', integer('--max-mutating-requests-inflight', 0, 100_000), 200)
    .option('--enable-priority-and-fairness [bool]', 'queue requests per user and serve users fairly when seats are full; false: refuse them at once', parseBoolean('--enable-priority-and-fairness'), true)
    .option('--request-timeout <duration>', 'bound on requests other than watch, proxy and logs; they get 504 after it', parseDuration('--request-timeout'), 60_000)
    .option('--max-connections <n>', 'connections accepted at once', integer('--max-connections', 1, 1_000_000), 4096)
    .exitOverride()
    .parse(argv, { from: 'user' });
  const o = program.opts<{
    etcdServers?: string;
    storage?: string;
    etcdPrefix: string;
    securePort: number;
    bindAddress: string;
    tlsCertFile?: string;
    tlsPrivateKeyFile?: string;
    standalone: boolean;
    kubeconfig?: string;
    tokenAuthFile?: string;
    writeKubeconfig?: string;
    v: number;
    logLevel?: string;
    shutdownDelayDuration: number;
    controllers: boolean;
    leaderElectionNamespace: string;
    leaderElectLeaseDuration: number;
    leaderElectRenewDeadline: number;
    leaderElectRetryPeriod: number;
    notebookActivityUrl: string;
    notebookActivityInterval: number;
    notebookUpstreamUrl: string;
    datasetLoaderImage: string;
    maxRequestsInflight: number;
    maxMutatingRequestsInflight: number;
    enablePriorityAndFairness: boolean;
    requestTimeout: number;
    maxConnections: number;
  }>();
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
  if (o.logLevel !== undefined && !levels.includes(o.logLevel)) throw new InvalidArgumentError(`--log-level must be one of ${levels.join(', ')}`);
  if ((o.tlsCertFile === undefined) !== (o.tlsPrivateKeyFile === undefined)) {
    throw new InvalidArgumentError('--tls-cert-file and --tls-private-key-file go together');
  }
  if (o.standalone && o.kubeconfig) throw new InvalidArgumentError('--kubeconfig is for delegated mode; --standalone does not talk to kube-apiserver');
  if (!o.standalone && (o.tokenAuthFile || o.writeKubeconfig)) {
    throw new InvalidArgumentError('--token-auth-file and --write-kubeconfig are for --standalone; delegated mode authenticates through kube-apiserver');
  }
  if (o.requestTimeout < 1_000 || o.requestTimeout > 24 * 3_600_000) throw new InvalidArgumentError('--request-timeout must be between 1s and 24h');
  if (!o.etcdPrefix.startsWith('/')) throw new InvalidArgumentError('--etcd-prefix must start with "/"');
  // client-go's rules for the same three timings; a Lease counts whole seconds.
  if (o.leaderElectLeaseDuration < 1_000) throw new InvalidArgumentError('--leader-elect-lease-duration must be at least 1s');
  if (o.leaderElectLeaseDuration <= o.leaderElectRenewDeadline) throw new InvalidArgumentError('--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline');
  if (o.leaderElectRenewDeadline <= 1.2 * o.leaderElectRetryPeriod) throw new InvalidArgumentError('--leader-elect-renew-deadline must be greater than 1.2 × --leader-elect-retry-period');
  return {
    storage: storageConfig(o.storage, o.etcdServers),
    etcdPrefix: o.etcdPrefix,
    securePort: o.securePort,
    bindAddress: o.bindAddress,
    tlsCertFile: o.tlsCertFile,
    tlsPrivateKeyFile: o.tlsPrivateKeyFile,
    standalone: o.standalone,
    kubeconfig: o.kubeconfig,
    tokenAuthFile: o.tokenAuthFile,
    writeKubeconfig: o.writeKubeconfig,
    logLevel: (o.logLevel as Config['logLevel'] | undefined) ?? verbosityToLevel(o.v),
    shutdownDelaySeconds: o.shutdownDelayDuration,
    maxRequestBodyBytes: 3 * 1024 * 1024,
    controllers: o.controllers && !o.standalone,
    leaderElectionNamespace: o.leaderElectionNamespace,
    leaderElection: { leaseDurationMs: o.leaderElectLeaseDuration, renewDeadlineMs: o.leaderElectRenewDeadline, retryPeriodMs: o.leaderElectRetryPeriod },
    notebookActivityUrl: o.notebookActivityUrl,
    notebookActivityIntervalSeconds: o.notebookActivityInterval,
    notebookUpstreamUrl: o.notebookUpstreamUrl,
    datasetLoaderImage: o.datasetLoaderImage,
    maxRequestsInflight: o.maxRequestsInflight,
    maxMutatingRequestsInflight: o.maxMutatingRequestsInflight,
    enablePriorityAndFairness: o.enablePriorityAndFairness,
    requestTimeoutMs: o.requestTimeout,
    maxConnections: o.maxConnections,
  };
}

function storageConfig(storage: string | undefined, etcdServers: string | undefined): StorageConfig {
  if (storage !== undefined && etcdServers !== undefined) {
    throw new InvalidArgumentError('--storage and --etcd-servers are alternatives: give one of them');
  }
  if (etcdServers !== undefined) {
    const servers = etcdServers.split(',').map((s) => s.trim()).filter(Boolean);
    if (servers.length === 0) throw new InvalidArgumentError('--etcd-servers needs at least one URL');
    return { kind: 'etcd', servers };
  }
  const spec = storage ?? `sqlite:${defaultSqlitePath}`;
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : '';
  if (path === '') throw new InvalidArgumentError('--storage must be sqlite:PATH (for etcd, give --etcd-servers)');
  return { kind: 'sqlite', path };
}
