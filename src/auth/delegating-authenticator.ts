// Delegated authentication in kube-apiserver's order: (1) front-proxy headers, only over a connection whose client
// certificate chains to the requestheader CA with a CN in allowed-names; (2) a client certificate from
// client-ca-file; (3) a bearer token through TokenReview, cached 10 s; otherwise the request is anonymous.
// Headers that fail the front-proxy check are ignored, never trusted: fail closed.
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { AuthenticationConfig, RequestHeaderConfig } from './authentication-config.js';
import type { KubeApi } from './kube-api.js';
import { TtlCache } from './ttl-cache.js';
import { anonymousUser, withAuthenticatedGroup, type AuthRequest, type Authenticator, type UserInfo } from './user.js';

const clientAuthUsage = '1.3.6.1.5.5.7.3.2';
const tokenCacheMs = 10_000;

/** The peer's certificate chain, leaf first, as the TLS handshake presented it. */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = socket.getPeerCertificate?.(true);
  const seen = new Set<string>();
  while (current && current.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}

/** The leaf if it verifies up to one of `roots` (through intermediates the peer sent) and is valid now. */
export function verifiedLeaf(chain: X509Certificate[], roots: X509Certificate[], requireClientAuth: boolean): X509Certificate | undefined {
  const leaf = chain[0];
  if (!leaf || roots.length === 0) return undefined;
  const now = Date.now();
  const valid = (cert: X509Certificate): boolean => Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
  if (requireClientAuth) {
    const usages = leaf.keyUsage;
    if (usages !== undefined && !usages.includes(clientAuthUsage)) return undefined;
  }
  let cert = leaf;
  for (let depth = 0; depth < chain.length; depth++) {
    if (!valid(cert)) return undefined;
    const root = roots.find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    if (root) return valid(root) ? leaf : undefined;
    const issuer = chain.slice(1).find((c) => c !== cert && cert.checkIssued(c) && cert.verify(c.publicKey) && c.ca);
    if (!issuer) return undefined;
    cert = issuer;
  }
  return undefined;
}

function subjectField(cert: X509Certificate, field: 'CN' | 'O'): string[] {
  return cert.subject
    .split('\n')
    .filter((line) => line.startsWith(`${field}=`))
    .map((line) => line.slice(field.length + 1));
}

/** Header values in order, every line kept: Node joins repeats in `headers`, so read rawHeaders. */
function headerLines(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  return values;
}

function fromRequestHeaders(request: AuthRequest, config: RequestHeaderConfig): UserInfo | undefined {
  let name = '';
  for (const header of config.usernameHeaders) {
    name = headerLines(request.rawHeaders, header).find((v) => v !== '') ?? '';
    if (name) break;
  }
  if (!name) return undefined;
  const groups = config.groupHeaders.flatMap((header) => headerLines(request.rawHeaders, header));
  // Keyed by the names kube-apiserver forwards from a user's authentication (`__proto__` included).
  const extra = Object.create(null) as Record<string, string[]>;
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const header = request.rawHeaders[i]!.toLowerCase();
    const prefix = config.extraPrefixes.find((p) => header.startsWith(p));
    if (!prefix) continue;
    const key = decodeURIComponent(header.slice(prefix.length)).toLowerCase();
    (extra[key] ??= []).push(request.rawHeaders[i + 1]!);
  }
  return withAuthenticatedGroup({ name, uid: '', groups, extra });
}

/** What a connection's client certificate proves, judged once per connection (as Go judges it at the handshake). */
interface CertificateVerdict {
  /** The configuration it was judged against: a reloaded one (new CAs) judges again. */
  config: AuthenticationConfig;
  /** The leaf's expiry: a connection outliving its certificate is judged again. */
  until: number;
  /** A front-proxy certificate this server trusts: the request headers name the user. */
  frontProxy: boolean;
  /** The user of a certificate from client-ca-file. */
  certificateUser?: UserInfo;
}

export class DelegatingAuthenticator implements Authenticator {
  private readonly tokens = new TtlCache<UserInfo | null>();
  private readonly verdicts = new WeakMap<TLSSocket, CertificateVerdict>();
  private readonly log: Logger;

  constructor(
    private readonly config: () => AuthenticationConfig,
    private readonly api: KubeApi,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'authn' });
  }

  async authenticate(request: AuthRequest): Promise<UserInfo | undefined> {
    const config = this.config();
    const verdict = this.certificateVerdict(request.socket, config);
    if (verdict?.frontProxy && config.requestHeader) {
      const user = fromRequestHeaders(request, config.requestHeader);
      if (user) return user;
    }
    if (verdict?.certificateUser) return verdict.certificateUser;
    const authorization = request.headers.authorization;
    const header = Array.isArray(authorization) ? authorization[0] : authorization;
    const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (bearer) return (await this.reviewToken(bearer)) ?? undefined;
    return anonymousUser;
  }

  /** Parsing and verifying the peer's chain costs more than the rest of a request: once per connection. */
  private certificateVerdict(socket: TLSSocket, config: AuthenticationConfig): CertificateVerdict | undefined {
    const cached = this.verdicts.get(socket);
    if (cached && cached.config === config && Date.now() <= cached.until) return cached;
    const chain = peerChain(socket);
    if (chain.length === 0) return undefined;
    const verdict: CertificateVerdict = { config, until: Date.parse(chain[0]!.validTo), frontProxy: false };
    if (config.requestHeader) {
      const leaf = verifiedLeaf(chain, config.requestHeader.cas, true);
      const cn = leaf ? (subjectField(leaf, 'CN')[0] ?? '') : '';
      verdict.frontProxy = leaf !== undefined && (config.requestHeader.allowedNames.length === 0 || config.requestHeader.allowedNames.includes(cn));
      if (leaf && !verdict.frontProxy) this.log.warn({ cn }, 'front-proxy certificate CN not in requestheader-allowed-names: headers ignored');
    }
    const leaf = verifiedLeaf(chain, config.clientCas, false);
    const name = leaf ? subjectField(leaf, 'CN')[0] : undefined;
    if (leaf && name) verdict.certificateUser = withAuthenticatedGroup({ name, uid: '', groups: subjectField(leaf, 'O'), extra: {} });
    this.verdicts.set(socket, verdict);
    return verdict;
  }

  private async reviewToken(token: string): Promise<UserInfo | null> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached;
    const review = await this.api.tokenReview(token);
    const user =
      review.authenticated && review.user?.username
        ? withAuthenticatedGroup({ name: review.user.username, uid: review.user.uid ?? '', groups: review.user.groups ?? [], extra: review.user.extra ?? {} })
        : null;
    this.tokens.set(key, user, tokenCacheMs);
    return user;
  }
}
