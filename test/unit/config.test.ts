// Server flags whose rules come from Kubernetes: the leader-election timings are checked as client-go's
// leaderelection package checks its LeaseDuration, RenewDeadline and RetryPeriod.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, type Config } from '../../src/config.js';
import { maxRequestBodyBytes } from '../../src/server/request-limits.js';
import { defaultWorkers } from '../../src/server/workers/cpu-quota.js';

describe('leader-election flags', () => {
  it('default to kube-controller-manager\'s 15s, 10s and 2s', () => {
    assert.deepEqual(parseConfig([]).leaderElection, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });

  it('take Go durations', () => {
    const config = parseConfig(['--leader-elect-lease-duration=4s', '--leader-elect-renew-deadline=3000ms', '--leader-elect-retry-period=1s']);
    assert.deepEqual(config.leaderElection, { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 });
  });

  for (const [flags, message] of [
    [['--leader-elect-lease-duration=10s'], /lease-duration must be greater than --leader-elect-renew-deadline/],
    [['--leader-elect-renew-deadline=2400ms'], /renew-deadline must be greater than 1.2 × --leader-elect-retry-period/],
    [['--leader-elect-lease-duration=500ms', '--leader-elect-renew-deadline=400ms', '--leader-elect-retry-period=100ms'], /at least 1s/],
  ] as const) {
    it(`refuse ${flags.join(' ')}`, () => {
      assert.throws(() => parseConfig([...flags]), message);
    });
  }
});

// Today's values, flag by flag: the option table in src/config.ts is the only place they are declared, so these pin
// what it must keep producing.
const defaults: Config = {
  storage: { kind: 'sqlite', path: 'data/ai-apiserver.db' },
  etcdPrefix: '/registry',
  securePort: 8443,
  bindAddress: '0.0.0.0',
  tlsCertFile: undefined,
  tlsPrivateKeyFile: undefined,
  tlsCertCheckIntervalMs: 60_000,
  tlsSecret: 'ai-system/ai-apiserver-tls',
  tlsDnsNames: 'ai-apiserver.ai-system.svc,ai-apiserver.ai-system.svc.cluster.local,ai-apiserver.ai-system,ai-apiserver,localhost',
  tlsCertLifetimeMs: 365 * 24 * 3_600_000,
  tlsApiService: 'v1alpha1.ai.example.io',
  standalone: false,
  kubeconfig: undefined,
  tokenAuthFile: undefined,
  writeKubeconfig: undefined,
  logLevel: 'info',
  loggingFormat: 'json',
  shutdownDelaySeconds: 0,
  maxRequestBodyBytes: 3_145_728,
  controllers: true,
  leaderElectionNamespace: 'ai-system',
  leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  notebookActivityUrl: 'http://{name}.{namespace}.svc/apis/ai.example.io/v1alpha1/namespaces/{namespace}/notebooks/{name}/proxy/api/status',
  notebookActivityIntervalSeconds: 60,
  progressWriteIntervalSeconds: 5,
  notebookUpstreamUrl: 'http://{name}.{namespace}.svc',
  datasetLoaderImage: 'ai-apiserver:0.1.0',
  maxRequestsInflight: 400,
  maxMutatingRequestsInflight: 200,
  enablePriorityAndFairness: true,
  requestTimeoutMs: 60_000,
  maxConnections: 4096,
  enableHttp2Serving: false,
  workers: 1,
  audit: undefined,
  worker: undefined,
};

describe('server flags', () => {
  it('without flags give the whole default configuration, the body limit being kube-apiserver\'s 3 MiB', () => {
    assert.deepEqual(parseConfig([]), defaults);
    assert.equal(maxRequestBodyBytes, 3 * 1024 * 1024);
  });

  const parses: { name: string; argv: string[]; want: Partial<Config> }[] = [
    { name: '--etcd-servers keeps objects in etcd, its list trimmed', argv: ['--etcd-servers', 'http://a:2379, http://b:2379,'], want: { storage: { kind: 'etcd', servers: ['http://a:2379', 'http://b:2379'] }, workers: defaultWorkers() } },
    {
      name: '--etcd-cafile, --etcd-certfile and --etcd-keyfile: TLS to etcd with a client certificate',
      argv: ['--etcd-servers', 'https://a:2379,https://b:2379', '--etcd-cafile', 'ca.crt', '--etcd-certfile', 'c.crt', '--etcd-keyfile', 'c.key'],
      want: { storage: { kind: 'etcd', servers: ['https://a:2379', 'https://b:2379'], tls: { caFile: 'ca.crt', certFile: 'c.crt', keyFile: 'c.key' } }, workers: defaultWorkers() },
    },
    {
      name: '--etcd-cafile alone: TLS to etcd without a client certificate',
      argv: ['--etcd-servers', 'https://a:2379', '--etcd-cafile', 'ca.crt'],
      want: { storage: { kind: 'etcd', servers: ['https://a:2379'], tls: { caFile: 'ca.crt', certFile: undefined, keyFile: undefined } }, workers: defaultWorkers() },
    },
    { name: '--storage sqlite:PATH keeps objects in that file', argv: ['--storage', 'sqlite:/var/lib/ai.db'], want: { storage: { kind: 'sqlite', path: '/var/lib/ai.db' } } },
    { name: '--etcd-prefix', argv: ['--etcd-prefix=/ai'], want: { etcdPrefix: '/ai' } },
    { name: '--secure-port at its lower bound', argv: ['--secure-port', '0'], want: { securePort: 0 } },
    { name: '--secure-port at its upper bound', argv: ['--secure-port', '65535'], want: { securePort: 65535 } },
    { name: 'the last of a repeated flag', argv: ['--secure-port', '1', '--secure-port', '2'], want: { securePort: 2 } },
    { name: '--bind-address', argv: ['--bind-address', '127.0.0.1'], want: { bindAddress: '127.0.0.1' } },
    { name: '--tls-cert-file with --tls-private-key-file', argv: ['--tls-cert-file', 'c.pem', '--tls-private-key-file', 'k.pem'], want: { tlsCertFile: 'c.pem', tlsPrivateKeyFile: 'k.pem' } },
    {
      name: 'the self-managed certificate\'s Secret, names, lifetime and APIService, and the file check interval',
      argv: ['--tls-secret', 'ops/serving', '--tls-dns-names', 'a.b.svc, c', '--tls-cert-lifetime', '30s', '--tls-apiservice=', '--tls-cert-check-interval', '500ms'],
      want: { tlsSecret: 'ops/serving', tlsDnsNames: 'a.b.svc, c', tlsCertLifetimeMs: 30_000, tlsApiService: '', tlsCertCheckIntervalMs: 500 },
    },
    { name: '--standalone runs no controllers', argv: ['--standalone'], want: { standalone: true, controllers: false } },
    { name: '--standalone with its token file and kubeconfig to write', argv: ['--standalone', '--token-auth-file', 't.csv', '--write-kubeconfig', 'kc'], want: { standalone: true, controllers: false, tokenAuthFile: 't.csv', writeKubeconfig: 'kc' } },
    { name: '--kubeconfig in delegated mode', argv: ['--kubeconfig', 'kc'], want: { kubeconfig: 'kc' } },
    { name: '-v 1 logs at info', argv: ['-v', '1'], want: { logLevel: 'info' } },
    { name: '-v 2 logs at debug', argv: ['-v', '2'], want: { logLevel: 'debug' } },
    { name: '-v 4 logs at debug', argv: ['-v', '4'], want: { logLevel: 'debug' } },
    { name: '-v 5 logs at trace', argv: ['-v', '5'], want: { logLevel: 'trace' } },
    { name: '--v=10 logs at trace', argv: ['--v=10'], want: { logLevel: 'trace' } },
    { name: '--log-level', argv: ['--log-level', 'warn'], want: { logLevel: 'warn' } },
    { name: '--log-level overrides -v', argv: ['-v', '5', '--log-level', 'error'], want: { logLevel: 'error' } },
    { name: '--logging-format text', argv: ['--logging-format', 'text'], want: { loggingFormat: 'text' } },
    { name: '--shutdown-delay-duration at its upper bound', argv: ['--shutdown-delay-duration', '600'], want: { shutdownDelaySeconds: 600 } },
    { name: '--no-controllers', argv: ['--no-controllers'], want: { controllers: false } },
    { name: '--leader-election-namespace', argv: ['--leader-election-namespace', 'ai-ops'], want: { leaderElectionNamespace: 'ai-ops' } },
    {
      name: 'leader-election durations in every Go unit',
      argv: ['--leader-elect-lease-duration=1h1m', '--leader-elect-renew-deadline=1.5m', '--leader-elect-retry-period=1s500ms1000us1000µs1000000ns'],
      want: { leaderElection: { leaseDurationMs: 3_660_000, renewDeadlineMs: 90_000, retryPeriodMs: 1_503 } },
    },
    { name: '--notebook-activity-url', argv: ['--notebook-activity-url', 'http://{name}:8888/api/status'], want: { notebookActivityUrl: 'http://{name}:8888/api/status' } },
    { name: '--notebook-upstream-url', argv: ['--notebook-upstream-url', 'http://{name}:8888'], want: { notebookUpstreamUrl: 'http://{name}:8888' } },
    { name: '--notebook-activity-interval at its upper bound', argv: ['--notebook-activity-interval', '3600'], want: { notebookActivityIntervalSeconds: 3600 } },
    { name: '--dataset-loader-image', argv: ['--dataset-loader-image', 'loader:2'], want: { datasetLoaderImage: 'loader:2' } },
    { name: '--max-requests-inflight 0 (no limit)', argv: ['--max-requests-inflight', '0'], want: { maxRequestsInflight: 0 } },
    { name: '--max-mutating-requests-inflight at its upper bound', argv: ['--max-mutating-requests-inflight', '100000'], want: { maxMutatingRequestsInflight: 100_000 } },
    { name: '--enable-priority-and-fairness alone is true', argv: ['--enable-priority-and-fairness'], want: { enablePriorityAndFairness: true } },
    { name: '--enable-priority-and-fairness false', argv: ['--enable-priority-and-fairness', 'false'], want: { enablePriorityAndFairness: false } },
    { name: '--enable-priority-and-fairness=true', argv: ['--enable-priority-and-fairness=true'], want: { enablePriorityAndFairness: true } },
    { name: '--request-timeout at its lower bound', argv: ['--request-timeout', '1s'], want: { requestTimeoutMs: 1_000 } },
    { name: '--request-timeout at its upper bound', argv: ['--request-timeout', '24h'], want: { requestTimeoutMs: 86_400_000 } },
    { name: '--max-connections at its upper bound', argv: ['--max-connections', '1000000'], want: { maxConnections: 1_000_000 } },
    { name: '--enable-http2-serving alone is true', argv: ['--enable-http2-serving'], want: { enableHttp2Serving: true } },
    { name: '--workers on etcd', argv: ['--etcd-servers', 'http://a:2379', '--workers', '3'], want: { storage: { kind: 'etcd', servers: ['http://a:2379'] }, workers: 3 } },
    { name: '--workers 1 on SQLite', argv: ['--workers', '1'], want: { workers: 1 } },
    { name: '--workers 0 on etcd: one per CPU of the quota', argv: ['--etcd-servers', 'http://a:2379', '--workers', '0'], want: { storage: { kind: 'etcd', servers: ['http://a:2379'] }, workers: defaultWorkers() } },
    { name: '--workers 0 on SQLite: one', argv: ['--workers', '0'], want: { workers: 1 } },
    {
      name: 'the audit flags',
      argv: ['--audit-policy-file', 'policy.yaml', '--audit-log-path', '-', '--audit-log-maxage', '7', '--audit-log-maxbackup', '3', '--audit-log-maxsize', '100'],
      want: { audit: { policyFile: 'policy.yaml', logPath: '-', maxAgeDays: 7, maxBackups: 3, maxSizeMB: 100 } },
    },
  ];
  for (const { name, argv, want } of parses) {
    it(`take ${name}, the rest left at their defaults`, () => {
      assert.deepEqual(parseConfig(argv), { ...defaults, ...want });
    });
  }

  const bad = (option: string, value: string, rule: string): string => `error: option '${option}' argument '${value}' is invalid. ${rule}`;
  const refusals: { argv: string[]; message: string }[] = [
    { argv: ['--etcd-servers', ' , '], message: '--etcd-servers needs at least one URL' },
    { argv: ['--workers', '2'], message: '--workers above 1 needs etcd: SQLite has one writer, so one process serves it' },
    { argv: ['--storage', 'etcd'], message: '--storage must be sqlite:PATH (for etcd, give --etcd-servers)' },
    { argv: ['--storage', 'sqlite:'], message: '--storage must be sqlite:PATH (for etcd, give --etcd-servers)' },
    { argv: ['--storage', 'sqlite:a.db', '--etcd-servers', 'http://a:2379'], message: '--storage and --etcd-servers are alternatives: give one of them' },
    { argv: ['--etcd-prefix', 'registry'], message: '--etcd-prefix must start with "/"' },
    { argv: ['--etcd-cafile', 'ca.crt'], message: '--etcd-cafile, --etcd-certfile and --etcd-keyfile go with --etcd-servers' },
    { argv: ['--etcd-servers', 'https://a:2379', '--etcd-cafile', 'ca.crt', '--etcd-certfile', 'c.crt'], message: '--etcd-certfile and --etcd-keyfile go together' },
    { argv: ['--etcd-servers', 'https://a:2379', '--etcd-certfile', 'c.crt', '--etcd-keyfile', 'c.key'], message: '--etcd-certfile needs --etcd-cafile' },
    { argv: ['--etcd-servers', 'https://a:2379,http://b:2379', '--etcd-cafile', 'ca.crt'], message: '--etcd-cafile needs https:// URLs in --etcd-servers' },
    { argv: ['--secure-port', '65536'], message: bad('--secure-port <port>', '65536', '--secure-port must be an integer in [0, 65535]') },
    { argv: ['--secure-port', '-1'], message: bad('--secure-port <port>', '-1', '--secure-port must be an integer in [0, 65535]') },
    { argv: ['--secure-port', '1.5'], message: bad('--secure-port <port>', '1.5', '--secure-port must be an integer in [0, 65535]') },
    { argv: ['--secure-port', 'https'], message: bad('--secure-port <port>', 'https', '--secure-port must be an integer in [0, 65535]') },
    { argv: ['--secure-port', ''], message: bad('--secure-port <port>', '', '--secure-port must be an integer in [0, 65535]') },
    { argv: ['--secure-port', '1e3'], message: bad('--secure-port <port>', '1e3', '--secure-port must be an integer in [0, 65535]') },
    { argv: ['--secure-port'], message: 'error: option \'--secure-port <port>\' argument missing' },
    { argv: ['--tls-cert-file', 'c.pem'], message: '--tls-cert-file and --tls-private-key-file go together' },
    { argv: ['--tls-private-key-file', 'k.pem'], message: '--tls-cert-file and --tls-private-key-file go together' },
    { argv: ['--tls-secret', 'ai-apiserver-tls'], message: '--tls-secret must be namespace/name' },
    { argv: ['--tls-dns-names', ' , '], message: '--tls-dns-names needs at least one name' },
    { argv: ['--tls-cert-lifetime', '9s'], message: '--tls-cert-lifetime must be at least 10s' },
    { argv: ['--tls-cert-check-interval', '99ms'], message: '--tls-cert-check-interval must be at least 100ms' },
    { argv: ['--standalone', '--kubeconfig', 'kc'], message: '--kubeconfig is for delegated mode; --standalone does not talk to kube-apiserver' },
    { argv: ['--token-auth-file', 't.csv'], message: '--token-auth-file and --write-kubeconfig are for --standalone; delegated mode authenticates through kube-apiserver' },
    { argv: ['--write-kubeconfig', 'kc'], message: '--token-auth-file and --write-kubeconfig are for --standalone; delegated mode authenticates through kube-apiserver' },
    { argv: ['-v', '11'], message: bad('-v, --v <level>', '11', '--v must be an integer in [0, 10]') },
    { argv: ['--log-level', 'verbose'], message: '--log-level must be one of fatal, error, warn, info, debug, trace' },
    { argv: ['--logging-format', 'pretty'], message: bad('--logging-format <format>', 'pretty', '--logging-format must be json or text') },
    { argv: ['--shutdown-delay-duration', '601'], message: bad('--shutdown-delay-duration <seconds>', '601', '--shutdown-delay-duration must be an integer in [0, 600]') },
    { argv: ['--controllers'], message: 'error: unknown option \'--controllers\'\n(Did you mean --no-controllers?)' },
    { argv: ['--leader-elect-lease-duration', '15'], message: bad('--leader-elect-lease-duration <duration>', '15', '--leader-elect-lease-duration must be a duration such as 60s or 1m0s') },
    { argv: ['--leader-elect-renew-deadline', '10 s'], message: bad('--leader-elect-renew-deadline <duration>', '10 s', '--leader-elect-renew-deadline must be a duration such as 60s or 1m0s') },
    { argv: ['--leader-elect-retry-period', '2d'], message: bad('--leader-elect-retry-period <duration>', '2d', '--leader-elect-retry-period must be a duration such as 60s or 1m0s') },
    { argv: ['--notebook-activity-interval', '0'], message: bad('--notebook-activity-interval <seconds>', '0', '--notebook-activity-interval must be an integer in [1, 3600]') },
    { argv: ['--notebook-activity-interval', '3601'], message: bad('--notebook-activity-interval <seconds>', '3601', '--notebook-activity-interval must be an integer in [1, 3600]') },
    { argv: ['--max-requests-inflight', '100001'], message: bad('--max-requests-inflight <n>', '100001', '--max-requests-inflight must be an integer in [0, 100000]') },
    { argv: ['--max-mutating-requests-inflight', '-1'], message: bad('--max-mutating-requests-inflight <n>', '-1', '--max-mutating-requests-inflight must be an integer in [0, 100000]') },
    { argv: ['--enable-priority-and-fairness=no'], message: bad('--enable-priority-and-fairness [bool]', 'no', '--enable-priority-and-fairness must be true or false') },
    { argv: ['--request-timeout', '999ms'], message: '--request-timeout must be between 1s and 24h' },
    { argv: ['--request-timeout', '24h1ns'], message: '--request-timeout must be between 1s and 24h' },
    { argv: ['--request-timeout', '60'], message: bad('--request-timeout <duration>', '60', '--request-timeout must be a duration such as 60s or 1m0s') },
    { argv: ['--max-connections', '0'], message: bad('--max-connections <n>', '0', '--max-connections must be an integer in [1, 1000000]') },
    { argv: ['--max-connections', '1000001'], message: bad('--max-connections <n>', '1000001', '--max-connections must be an integer in [1, 1000000]') },
    { argv: ['--workers', '257'], message: bad('--workers <n>', '257', '--workers must be an integer in [0, 256]') },
    { argv: ['--audit-policy-file', 'policy.yaml'], message: '--audit-policy-file and --audit-log-path go together' },
    { argv: ['--audit-log-path', '-'], message: '--audit-policy-file and --audit-log-path go together' },
    { argv: ['--audit-log-maxsize', '1000001'], message: bad('--audit-log-maxsize <megabytes>', '1000001', '--audit-log-maxsize must be an integer in [0, 1000000]') },
    { argv: ['--etcd'], message: 'error: unknown option \'--etcd\'' },
    { argv: ['serve'], message: 'error: too many arguments. Expected 0 arguments but got 1.' },
  ];
  for (const { argv, message } of refusals) {
    it(`refuse ${argv.join(' ')}: ${message.split('\n')[0]}`, () => {
      assert.throws(() => parseConfig(argv), { message });
    });
  }

  it('are listed by --help with their help text and defaults, in this order', () => {
    const options: [string, string][] = [
      ['--etcd-servers <urls>', 'comma-separated etcd client URLs; objects are kept in etcd (any number of replicas)'],
      ['--storage <backend>', 'sqlite:PATH keeps objects in an embedded SQLite file (one replica only); the default, at sqlite:data/ai-apiserver.db, when --etcd-servers is not given'],
      ['--etcd-cafile <file>', 'CA (PEM) that signed the etcd members\' serving certificates; --etcd-servers are then https:// URLs'],
      ['--etcd-certfile <file>', 'client certificate (PEM) presented to etcd'],
      ['--etcd-keyfile <file>', 'private key of --etcd-certfile (PEM)'],
      ['--etcd-prefix <prefix>', 'prefix of every key written to the store (default: "/registry")'],
      ['--secure-port <port>', 'HTTPS port (default: 8443)'],
      ['--bind-address <address>', 'address to listen on (default: "0.0.0.0")'],
      ['--tls-cert-file <file>', 'serving certificate (PEM), reloaded when it changes; when absent, delegated mode keeps one in --tls-secret and standalone generates a self-signed one'],
      ['--tls-private-key-file <file>', 'private key of --tls-cert-file (PEM)'],
      ['--tls-cert-check-interval <duration>', 'how often --tls-cert-file is re-read besides when its folder reports a change (default: 60000)'],
      ['--tls-secret <namespace/name>', 'Secret holding the self-managed serving certificate (delegated mode without --tls-cert-file) (default: "ai-system/ai-apiserver-tls")'],
      [
        '--tls-dns-names <names>',
        'comma-separated DNS names of the self-managed serving certificate (the Service\'s names) (default: "ai-apiserver.ai-system.svc,ai-apiserver.ai-system.svc.cluster.local,ai-apiserver.ai-system,ai-apiserver,localhost")',
      ],
      ['--tls-cert-lifetime <duration>', 'validity of each self-managed serving certificate; a new one replaces it at 80% of it (default: 31536000000)'],
      ['--tls-apiservice <name>', 'APIService whose caBundle is kept equal to the self-managed certificate\'s CAs; empty: none (default: "v1alpha1.ai.example.io")'],
      ['--standalone', 'run without kube-apiserver: bearer tokens from --token-auth-file, every authenticated user allowed (default: false)'],
      ['--kubeconfig <file>', 'kubeconfig for reaching kube-apiserver (TokenReview, SubjectAccessReview, namespaces); in-cluster config when absent'],
      ['--token-auth-file <file>', 'static tokens, one "token,user,uid,\\"group1,group2\\"" per line (standalone)'],
      ['--write-kubeconfig <file>', 'write a kubeconfig for this server (standalone)'],
      ['-v, --v <level>', 'log verbosity as kube components take it (0-10) (default: 0)'],
      ['--log-level <level>', 'pino log level; overrides --v'],
      ['--logging-format <format>', 'log format: json (one object per line) or text (coloured, one readable line per entry) (default: "json")'],
      ['--shutdown-delay-duration <seconds>', 'seconds /readyz fails before the server stops (default: 0)'],
      ['--no-controllers', 'do not run the notebook, job and dataset controllers'],
      ['--leader-election-namespace <ns>', 'namespace of the controllers\' Lease (default: "ai-system")'],
      ['--leader-elect-lease-duration <duration>', 'how long a standby waits after the leader\'s last renewal before taking the Lease (default: 15000)'],
      ['--leader-elect-renew-deadline <duration>', 'how long the leader keeps trying to renew before it stops leading (default: 10000)'],
      ['--leader-elect-retry-period <duration>', 'how often every replica tries to take or renew the Lease (default: 2000)'],
      [
        '--notebook-activity-url <template>',
        'where Jupyter reports last_activity; {namespace} and {name} are replaced (default: "http://{name}.{namespace}.svc/apis/ai.example.io/v1alpha1/namespaces/{namespace}/notebooks/{name}/proxy/api/status")',
      ],
      ['--notebook-upstream-url <template>', 'where notebooks/proxy sends a notebook\'s traffic (the request path is kept); {namespace} and {name} are replaced (default: "http://{name}.{namespace}.svc")'],
      ['--notebook-activity-interval <seconds>', 'how often idle policies are checked (default: 60)'],
      ['--progress-write-interval <seconds>', "at most one stored write of a job's progress per this many seconds; reports in between are answered and coalesced into the next write (default: 5)"],
      ['--dataset-loader-image <image>', 'image of the dataset prefetch Job: the server\'s own, whose ai-dataset-loader fills /data from SOURCE_URI (default: "ai-apiserver:0.1.0")'],
      ['--max-requests-inflight <n>', 'GET and LIST requests served at once (0: no limit); watches, proxy and logs take no seat (default: 400)'],
      ['--max-mutating-requests-inflight <n>', 'other requests served at once (0: no limit) (default: 200)'],
      ['--enable-priority-and-fairness [bool]', 'queue requests per user and serve users fairly when seats are full; false: refuse them at once (default: true)'],
      ['--request-timeout <duration>', 'bound on requests other than watch, proxy and logs; they get 504 after it (default: 60000)'],
      ['--max-connections <n>', 'connections accepted at once (default: 4096)'],
      ['--enable-http2-serving [bool]', 'offer HTTP/2 by ALPN beside HTTP/1.1 (kube-apiserver then multiplexes its requests and watches on a few connections) (default: false)'],
      ['--workers <n>', 'server processes sharing the port (0: one per CPU of the cgroup quota, or up to 4 without one); SQLite is served by one (default: 0)'],
      ['--audit-policy-file <file>', 'audit.k8s.io/v1 Policy (YAML or JSON) deciding what is audited, and at which level'],
      ['--audit-log-path <file>', 'file the audit events are appended to, one JSON line each; "-" is standard output'],
      ['--audit-log-maxage <days>', 'days a rotated audit log is kept (0: no limit) (default: 0)'],
      ['--audit-log-maxbackup <n>', 'rotated audit logs kept (0: no limit) (default: 0)'],
      ['--audit-log-maxsize <megabytes>', 'size at which the audit log is rotated (0: never) (default: 0)'],
      ['-h, --help', 'display help for command'],
    ];
    const want = ['Usage: ai-apiserver [options]', 'Kubernetes aggregated API server for ai.example.io: notebooks, jobs, datasets', 'Options:', ...options.flat()].join(' ');
    // Commander wraps help to the terminal's width; the words and their order are what is pinned.
    assert.equal(helpText().replace(/\s+/g, ' ').trim(), want);
  });
});

/** What --help prints: commander writes it to stdout, then throws instead of exiting (exitOverride). */
function helpText(): string {
  let text = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    text += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    assert.throws(() => parseConfig(['--help']), { code: 'commander.helpDisplayed' });
  } finally {
    process.stdout.write = write;
  }
  return text;
}
