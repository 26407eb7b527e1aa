// Every option of the server, parsed once from flags (kube-apiserver's names where one exists) into one typed,
// validated object that is passed down. Nothing else reads argv or the environment (the CPU quota and a worker's
// identity included). Each flag is declared once, in `options` below: its syntax, help, parser, default and rule;
// the commander program and the `Config` type are both derived from that table.
import { Command, InvalidArgumentError, Option } from 'commander';
import { maxRequestBodyBytes } from './server/request-limits.js';
import { defaultWorkers } from './server/workers/cpu-quota.js';
import { standaloneIdentityVariable, workerVariable, type StandaloneIdentity } from './server/workers/messages.js';
import type { StorageOptions } from './storage/open-storage.js';

/** The audit flags, once both the policy and the log are given. */
export interface AuditOptions {
  policyFile: string;
  logPath: string;
  maxAgeDays: number;
  maxBackups: number;
  maxSizeMB: number;
}

export const defaultSqlitePath = 'data/ai-apiserver.db';

/** One flag: commander's syntax and help, how its text becomes a value, and the rule that value must keep. */
interface Flag<T> {
  readonly kind: 'flag';
  readonly flags: string;
  readonly help: string;
  /** Called by commander on the flag's text; a refusal is reported as commander reports a bad argument. */
  parse?(text: string, name: string): T;
  readonly default?: T;
  /** Checked once every flag is read (defaults too); returns the whole error message when the value is refused. */
  check?(value: T, name: string): string | undefined;
}

/** Several flags that make one value of the configuration, and the rule between them. */
interface Combined<P extends FlagTable, T> {
  readonly kind: 'combined';
  readonly flags: P;
  /** Checked after every flag's own check; returns the whole error message when the values are refused. */
  check?(values: FlagValues<P>): string | undefined;
  value(values: FlagValues<P>): T;
}

type FlagTable = Record<string, Flag<unknown>>;
type FlagValues<P extends FlagTable> = { -readonly [K in keyof P]: P[K] extends Flag<infer T> ? T : never };
type OptionTable = Record<string, Flag<unknown> | Combined<FlagTable, unknown>>;
type OptionValues<O extends OptionTable> = {
  -readonly [K in keyof O]: O[K] extends Flag<infer T> ? T : O[K] extends Combined<FlagTable, infer T> ? T : never;
};

type FlagSpec<T> = Omit<Flag<T>, 'kind'>;
function flag<T>(spec: FlagSpec<T> & { default: T }): Flag<T>;
function flag(spec: FlagSpec<string | undefined>): Flag<string | undefined>;
function flag<T>(spec: FlagSpec<T>): Flag<T> {
  return { kind: 'flag', ...spec };
}

function combine<P extends FlagTable, T>(spec: Omit<Combined<P, T>, 'kind'>): Combined<P, T> {
  return { kind: 'combined', ...spec };
}

const integer = (min: number, max: number) => (text: string, name: string): number => {
  // Number() reads "" and " " as 0 and "1e3" as 1000; a flag's integer is digits only.
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
  return n;
};

const durationUnits: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** A Go duration as kube's flags take it ("1m0s", "90s", "1.5h", "500ms"), in milliseconds. */
function duration(text: string, name: string): number {
  const parts = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/.test(text) ? text.match(/\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns)/g)! : undefined;
  if (!parts) throw new InvalidArgumentError(`${name} must be a duration such as 60s or 1m0s`);
  return parts.reduce((total, part) => {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(\D+)$/.exec(part)!;
    return total + Number(amount) * durationUnits[unit!]!;
  }, 0);
}

function loggingFormat(text: string, name: string): 'json' | 'text' {
  if (text === 'json' || text === 'text') return text;
  throw new InvalidArgumentError(`${name} must be json or text`);
}

function boolean(text: string, name: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError(`${name} must be true or false`);
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
type LogLevel = (typeof logLevels)[number];

/** kube's -v levels: 0-1 info, 2-4 debug, 5+ trace. */
function verbosityToLevel(v: number): LogLevel {
  if (v >= 5) return 'trace';
  if (v >= 2) return 'debug';
  return 'info';
}

const sqlitePrefix = 'sqlite:';

/** Keyed by the name each value has in `Config`; in the order `--help` lists the flags. */
const options = {
  storage: combine({
    flags: {
      etcdServers: flag({
        flags: '--etcd-servers <urls>',
        help: 'comma-separated etcd client URLs; objects are kept in etcd (any number of replicas)',
      }),
      storage: flag({
        flags: '--storage <backend>',
        help: `sqlite:PATH keeps objects in an embedded SQLite file (one replica only); the default, at sqlite:${defaultSqlitePath}, when --etcd-servers is not given`,
      }),
      etcdCafile: flag({ flags: '--etcd-cafile <file>', help: 'CA (PEM) that signed the etcd members\' serving certificates; --etcd-servers are then https:// URLs' }),
      etcdCertfile: flag({ flags: '--etcd-certfile <file>', help: 'client certificate (PEM) presented to etcd' }),
      etcdKeyfile: flag({ flags: '--etcd-keyfile <file>', help: 'private key of --etcd-certfile (PEM)' }),
    },
    check: ({ etcdServers: urls, storage: spec, etcdCafile, etcdCertfile, etcdKeyfile }) => {
      if (spec !== undefined && urls !== undefined) return '--storage and --etcd-servers are alternatives: give one of them';
      if (urls !== undefined && etcdServers(urls).length === 0) return '--etcd-servers needs at least one URL';
      if (spec !== undefined && sqlitePath(spec) === '') return '--storage must be sqlite:PATH (for etcd, give --etcd-servers)';
      const tls = etcdCafile !== undefined || etcdCertfile !== undefined || etcdKeyfile !== undefined;
      if (tls && urls === undefined) return '--etcd-cafile, --etcd-certfile and --etcd-keyfile go with --etcd-servers';
      if ((etcdCertfile === undefined) !== (etcdKeyfile === undefined)) return '--etcd-certfile and --etcd-keyfile go together';
      if (tls && etcdCafile === undefined) return '--etcd-certfile needs --etcd-cafile';
      if (tls && urls !== undefined && !etcdServers(urls).every((url) => url.startsWith('https://'))) return '--etcd-cafile needs https:// URLs in --etcd-servers';
      return undefined;
    },
    value: ({ etcdServers: urls, storage: spec, etcdCafile, etcdCertfile, etcdKeyfile }): StorageOptions => {
      if (urls === undefined) return { kind: 'sqlite', path: spec === undefined ? defaultSqlitePath : sqlitePath(spec) };
      if (etcdCafile === undefined) return { kind: 'etcd', servers: etcdServers(urls) };
      return { kind: 'etcd', servers: etcdServers(urls), tls: { caFile: etcdCafile, certFile: etcdCertfile, keyFile: etcdKeyfile } };
    },
  }),
  etcdPrefix: flag({
    flags: '--etcd-prefix <prefix>',
    help: 'prefix of every key written to the store',
    default: '/registry',
    check: (prefix, name) => (prefix.startsWith('/') ? undefined : `${name} must start with "/"`),
  }),
  securePort: flag({ flags: '--secure-port <port>', help: 'HTTPS port', parse: integer(0, 65535), default: 8443 }),
  bindAddress: flag({ flags: '--bind-address <address>', help: 'address to listen on', default: '0.0.0.0' }),
  tlsCertFile: flag({
    flags: '--tls-cert-file <file>',
    help: 'serving certificate (PEM), reloaded when it changes; when absent, delegated mode keeps one in --tls-secret and standalone generates a self-signed one',
  }),
  tlsPrivateKeyFile: flag({ flags: '--tls-private-key-file <file>', help: 'private key of --tls-cert-file (PEM)' }),
  /** Fallback for the folder watch of --tls-cert-file: how often the files are re-read anyway. */
  tlsCertCheckIntervalMs: flag({
    flags: '--tls-cert-check-interval <duration>',
    help: 'how often --tls-cert-file is re-read besides when its folder reports a change',
    parse: duration,
    default: 60_000,
    check: (ms, name) => (ms >= 100 ? undefined : `${name} must be at least 100ms`),
  }),
  /** Delegated mode without --tls-cert-file: where the replicas keep the serving certificate they share. */
  tlsSecret: flag({
    flags: '--tls-secret <namespace/name>',
    help: 'Secret holding the self-managed serving certificate (delegated mode without --tls-cert-file)',
    default: 'ai-system/ai-apiserver-tls',
    check: (text, name) => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(text) ? undefined : `${name} must be namespace/name`),
  }),
  tlsDnsNames: flag({
    flags: '--tls-dns-names <names>',
    help: 'comma-separated DNS names of the self-managed serving certificate (the Service\'s names)',
    default: 'ai-apiserver.ai-system.svc,ai-apiserver.ai-system.svc.cluster.local,ai-apiserver.ai-system,ai-apiserver,localhost',
    check: (names, name) => (dnsNames(names).length > 0 ? undefined : `${name} needs at least one name`),
  }),
  tlsCertLifetimeMs: flag({
    flags: '--tls-cert-lifetime <duration>',
    help: 'validity of each self-managed serving certificate; a new one replaces it at 80% of it',
    parse: duration,
    default: 365 * 24 * 3_600_000,
    check: (ms, name) => (ms >= 10_000 ? undefined : `${name} must be at least 10s`),
  }),
  /** Whose caBundle follows the self-managed certificate's CAs; empty leaves every APIService alone. */
  tlsApiService: flag({
    flags: '--tls-apiservice <name>',
    help: 'APIService whose caBundle is kept equal to the self-managed certificate\'s CAs; empty: none',
    default: 'v1alpha1.ai.example.io',
  }),
  standalone: flag({
    flags: '--standalone',
    help: 'run without kube-apiserver: bearer tokens from --token-auth-file, every authenticated user allowed',
    default: false,
  }),
  /** How to reach kube-apiserver for delegated authn/authz; in-cluster service account when absent. */
  kubeconfig: flag({
    flags: '--kubeconfig <file>',
    help: 'kubeconfig for reaching kube-apiserver (TokenReview, SubjectAccessReview, namespaces); in-cluster config when absent',
  }),
  tokenAuthFile: flag({ flags: '--token-auth-file <file>', help: 'static tokens, one "token,user,uid,\\"group1,group2\\"" per line (standalone)' }),
  writeKubeconfig: flag({ flags: '--write-kubeconfig <file>', help: 'write a kubeconfig for this server (standalone)' }),
  logLevel: combine({
    flags: {
      v: flag({ flags: '-v, --v <level>', help: 'log verbosity as kube components take it (0-10)', parse: integer(0, 10), default: 0 }),
      logLevel: flag({
        flags: '--log-level <level>',
        help: 'pino log level; overrides --v',
        check: (level, name) => (level === undefined || isLogLevel(level) ? undefined : `${name} must be one of ${logLevels.join(', ')}`),
      }),
    },
    value: ({ v, logLevel }) => (logLevel !== undefined && isLogLevel(logLevel) ? logLevel : verbosityToLevel(v)),
  }),
  /** kube components' --logging-format: JSON lines for collectors, or text for a person at a terminal (npm run local). */
  loggingFormat: flag({
    flags: '--logging-format <format>',
    help: 'log format: json (one object per line) or text (coloured, one readable line per entry)',
    parse: loggingFormat,
    default: 'json',
  }),
  /** Seconds /readyz reports failure before the server stops accepting requests (kube's --shutdown-delay-duration). */
  shutdownDelaySeconds: flag({
    flags: '--shutdown-delay-duration <seconds>',
    help: 'seconds /readyz fails before the server stops',
    parse: integer(0, 600),
    default: 0,
  }),
  /** Run the notebook, job and dataset controllers (delegated mode only: they need kube-apiserver). */
  controllers: flag({ flags: '--no-controllers', help: 'do not run the notebook, job and dataset controllers', default: true }),
  leaderElectionNamespace: flag({ flags: '--leader-election-namespace <ns>', help: 'namespace of the controllers\' Lease', default: 'ai-system' }),
  /** The controllers' Lease timings, as kube-controller-manager's --leader-elect-* flags take them. */
  leaderElection: combine({
    flags: {
      leaseDurationMs: flag({
        flags: '--leader-elect-lease-duration <duration>',
        help: 'how long a standby waits after the leader\'s last renewal before taking the Lease',
        parse: duration,
        default: 15_000,
        // A Lease counts whole seconds.
        check: (ms, name) => (ms >= 1_000 ? undefined : `${name} must be at least 1s`),
      }),
      renewDeadlineMs: flag({
        flags: '--leader-elect-renew-deadline <duration>',
        help: 'how long the leader keeps trying to renew before it stops leading',
        parse: duration,
        default: 10_000,
      }),
      retryPeriodMs: flag({
        flags: '--leader-elect-retry-period <duration>',
        help: 'how often every replica tries to take or renew the Lease',
        parse: duration,
        default: 2_000,
      }),
    },
    // client-go's leaderelection rules between the same three timings.
    check: (t) => {
      if (t.leaseDurationMs <= t.renewDeadlineMs) return '--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline';
      if (t.renewDeadlineMs <= 1.2 * t.retryPeriodMs) return '--leader-elect-renew-deadline must be greater than 1.2 × --leader-elect-retry-period';
      return undefined;
    },
    value: (timings) => timings,
  }),
  /** Where a notebook's Jupyter status is read; {namespace} and {name} are replaced. */
  notebookActivityUrl: flag({
    flags: '--notebook-activity-url <template>',
    help: 'where Jupyter reports last_activity; {namespace} and {name} are replaced',
    default: 'http://{name}.{namespace}.svc/apis/ai.example.io/v1alpha1/namespaces/{namespace}/notebooks/{name}/proxy/api/status',
  }),
  /** Where notebooks/proxy sends a notebook's traffic; {namespace} and {name} are replaced. */
  notebookUpstreamUrl: flag({
    flags: '--notebook-upstream-url <template>',
    help: 'where notebooks/proxy sends a notebook\'s traffic (the request path is kept); {namespace} and {name} are replaced',
    default: 'http://{name}.{namespace}.svc',
  }),
  notebookActivityIntervalSeconds: flag({
    flags: '--notebook-activity-interval <seconds>',
    help: 'how often idle policies are checked',
    parse: integer(1, 3600),
    default: 60,
  }),
  /** The throttle of jobs/progress: at most one stored write per job per window; reports in between are coalesced. */
  progressWriteIntervalSeconds: flag({
    flags: '--progress-write-interval <seconds>',
    help: 'at most one stored write of a job\'s progress per this many seconds; reports in between are answered and coalesced into the next write',
    parse: integer(0, 3600),
    default: 5,
  }),
  datasetLoaderImage: flag({
    flags: '--dataset-loader-image <image>',
    help: "image of the dataset prefetch Job: the server's own, whose ai-dataset-loader fills /data from SOURCE_URI",
    default: 'ai-apiserver:0.1.0',
  }),
  /** Seats for GET, LIST (0: no limit), as kube-apiserver's flag. */
  maxRequestsInflight: flag({
    flags: '--max-requests-inflight <n>',
    help: 'GET and LIST requests served at once (0: no limit); watches, proxy and logs take no seat',
    parse: integer(0, 100_000),
    default: 400,
  }),
  /** Seats for every other verb (0: no limit). */
  maxMutatingRequestsInflight: flag({
    flags: '--max-mutating-requests-inflight <n>',
    help: 'other requests served at once (0: no limit)',
    parse: integer(0, 100_000),
    default: 200,
  }),
  /** Per-user queues and fair dispatch when seats are full; off: 429 at once, as kube without APF. */
  enablePriorityAndFairness: flag({
    flags: '--enable-priority-and-fairness [bool]',
    help: 'queue requests per user and serve users fairly when seats are full; false: refuse them at once',
    parse: boolean,
    default: true,
  }),
  /** Bound on a request that is not long-running, its body read and its wait for a seat included. */
  requestTimeoutMs: flag({
    flags: '--request-timeout <duration>',
    help: 'bound on requests other than watch, proxy and logs; they get 504 after it',
    parse: duration,
    default: 60_000,
    check: (ms, name) => (ms >= 1_000 && ms <= 24 * 3_600_000 ? undefined : `${name} must be between 1s and 24h`),
  }),
  /** Connections accepted at once; more are dropped at accept. */
  maxConnections: flag({ flags: '--max-connections <n>', help: 'connections accepted at once', parse: integer(1, 1_000_000), default: 4096 }),
  /**
   * HTTP/2 beside HTTP/1.1 by ALPN. Off by default: in the rolling-restart e2e, kube-apiserver's HTTP/2 client still
   * wrote a few PATCHes into connections a stopping replica then closed, and answered them with 503 (see the README).
   */
  enableHttp2Serving: flag({
    flags: '--enable-http2-serving [bool]',
    help: 'offer HTTP/2 by ALPN beside HTTP/1.1 (kube-apiserver then multiplexes its requests and watches on a few connections)',
    parse: boolean,
    default: false,
  }),
  /**
   * Server processes sharing the port, each with its own storage client and watch cache, as replicas have theirs
   * (src/server/workers/). The in-flight and connection limits above are the replica's: each worker takes its share.
   * 0 by default: one per whole CPU of the pod's CPU limit (the cgroup quota), so a replica uses the cores it is given.
   */
  workers: flag({
    flags: '--workers <n>',
    help: 'server processes sharing the port (0: one per CPU of the cgroup quota, or up to 4 without one); SQLite is served by one',
    parse: integer(0, 256),
    default: 0,
  }),
  /** kube-apiserver's audit log: a Policy picks each request's level, the log backend writes Event JSON lines. */
  audit: combine({
    flags: {
      policyFile: flag({ flags: '--audit-policy-file <file>', help: 'audit.k8s.io/v1 Policy (YAML or JSON) deciding what is audited, and at which level' }),
      logPath: flag({ flags: '--audit-log-path <file>', help: 'file the audit events are appended to, one JSON line each; "-" is standard output' }),
      maxAgeDays: flag({ flags: '--audit-log-maxage <days>', help: 'days a rotated audit log is kept (0: no limit)', parse: integer(0, 100_000), default: 0 }),
      maxBackups: flag({ flags: '--audit-log-maxbackup <n>', help: 'rotated audit logs kept (0: no limit)', parse: integer(0, 100_000), default: 0 }),
      maxSizeMB: flag({ flags: '--audit-log-maxsize <megabytes>', help: 'size at which the audit log is rotated (0: never)', parse: integer(0, 1_000_000), default: 0 }),
    },
    // As kube-apiserver: a policy without a backend audits nothing, and a log without a policy has no events.
    check: ({ policyFile, logPath }) =>
      (policyFile === undefined) !== (logPath === undefined) ? '--audit-policy-file and --audit-log-path go together' : undefined,
    value: (audit): AuditOptions | undefined =>
      audit.policyFile === undefined || audit.logPath === undefined
        ? undefined
        : { policyFile: audit.policyFile, logPath: audit.logPath, maxAgeDays: audit.maxAgeDays, maxBackups: audit.maxBackups, maxSizeMB: audit.maxSizeMB },
  }),
} satisfies OptionTable;

export type Config = OptionValues<typeof options> & {
  /** Largest request body accepted, in bytes (kube-apiserver's 3 MiB); fixed, not a flag. */
  maxRequestBodyBytes: number;
  /** Set in a worker process: which of how many (the primary passes it in the environment when it forks). */
  worker: WorkerIdentity | undefined;
};

export interface WorkerIdentity {
  index: number;
  count: number;
  /** Standalone: what would otherwise be random per process, made once by the primary for every worker. */
  standalone?: StandaloneIdentity;
}

function workerIdentity(value: string | undefined, standalone: string | undefined): WorkerIdentity | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(value ?? '');
  if (!match) return undefined;
  return { index: Number(match[1]), count: Number(match[2]), ...(standalone ? { standalone: JSON.parse(standalone) as StandaloneIdentity } : {}) };
}

/** The rule between options that each make their own value of `Config`, checked after every other. */
function checkAcross(c: OptionValues<typeof options>): string | undefined {
  if ((c.tlsCertFile === undefined) !== (c.tlsPrivateKeyFile === undefined)) return '--tls-cert-file and --tls-private-key-file go together';
  if (c.storage.kind === 'sqlite' && c.workers > 1) return '--workers above 1 needs etcd: SQLite has one writer, so one process serves it';
  if (c.standalone && c.kubeconfig) return '--kubeconfig is for delegated mode; --standalone does not talk to kube-apiserver';
  if (!c.standalone && (c.tokenAuthFile || c.writeKubeconfig)) {
    return '--token-auth-file and --write-kubeconfig are for --standalone; delegated mode authenticates through kube-apiserver';
  }
  return undefined;
}

/** The names of --tls-dns-names. */
export function dnsNames(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}

function etcdServers(urls: string): string[] {
  return urls.split(',').map((s) => s.trim()).filter(Boolean);
}

function sqlitePath(spec: string): string {
  return spec.startsWith(sqlitePrefix) ? spec.slice(sqlitePrefix.length) : '';
}

function isLogLevel(level: string): level is LogLevel {
  return (logLevels as readonly string[]).includes(level);
}

function refuse(message: string | undefined): void {
  if (message !== undefined) throw new InvalidArgumentError(message);
}

export function parseConfig(argv: string[]): Config {
  const program = new Command().name('ai-apiserver').description('Kubernetes aggregated API server for ai.example.io: notebooks, jobs, datasets');
  const entries = Object.entries(options as OptionTable);
  const commanderOptions = new Map<Flag<unknown>, Option>();
  for (const declared of entries.flatMap(([, entry]) => (entry.kind === 'flag' ? [entry] : Object.values(entry.flags)))) {
    const option = new Option(declared.flags, declared.help);
    const name = option.long!;
    if (declared.parse) option.argParser((text: string) => declared.parse!(text, name));
    if (declared.default !== undefined) option.default(declared.default);
    program.addOption(option);
    commanderOptions.set(declared, option);
  }
  program.exitOverride().parse(argv, { from: 'user' });

  const valueOf = (declared: Flag<unknown>): unknown => {
    const option = commanderOptions.get(declared)!;
    const value: unknown = program.getOptionValue(option.attributeName());
    refuse(declared.check?.(value, option.long!));
    return value;
  };
  // Every flag's own check first, in the order --help lists them; then the rules between flags.
  const read = new Map<string, unknown>();
  for (const [key, entry] of entries) {
    read.set(key, entry.kind === 'flag' ? valueOf(entry) : Object.fromEntries(Object.entries(entry.flags).map(([part, declared]) => [part, valueOf(declared)])));
  }
  const values: Record<string, unknown> = {};
  for (const [key, entry] of entries) {
    if (entry.kind === 'flag') {
      values[key] = read.get(key);
      continue;
    }
    const parts = read.get(key) as FlagValues<FlagTable>;
    refuse(entry.check?.(parts));
    values[key] = entry.value(parts);
  }
  const config = values as OptionValues<typeof options>;
  refuse(checkAcross(config));
  // The CPU quota is read here, once, like everything else the server learns from its environment.
  const workers = config.storage.kind === 'sqlite' ? 1 : config.workers === 0 ? defaultWorkers() : config.workers;
  return { ...config, workers, controllers: config.controllers && !config.standalone, maxRequestBodyBytes, worker: workerIdentity(process.env[workerVariable], process.env[standaloneIdentityVariable]) };
}
