// Delegated authentication in kube-apiserver's order: (1) front-proxy headers, only over a connection whose client
// certificate chains to the requestheader CA with a CN in allowed-names; (2) a client certificate from
// client-ca-file; (3) a bearer token through TokenReview, cached 10 s; otherwise the request is anonymous.
// Headers that fail the front-proxy check are ignored, never trusted: fail closed.
import { createHash, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthenticationConfig, RequestHeaderConfig } from './authentication-config.js';
import type { KubeApi } from './kube-api.js';
import { TtlCache } from './ttl-cache.js';
import { anonymousUser, withAuthenticatedGroup, type AuthRequest, type Authenticator, type UserInfo } from './user.js';

const clientAuthUsage = '1.3.6.1.5.5.7.3.2';
const tokenCacheMs = 10_000;

/** The peer's certificate chain, leaf first, as the TLS handshake presented it. */
function peerChain(request: AuthRequest): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = request.socket.getPeerCertificate?.(true);
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
  const extra: Record<string, string[]> = {};
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const header = request.rawHeaders[i]!.toLowerCase();
    const prefix = config.extraPrefixes.find((p) => header.startsWith(p));
    if (!prefix) continue;
    const key = decodeURIComponent(header.slice(prefix.length)).toLowerCase();
    (extra[key] ??= []).push(request.rawHeaders[i + 1]!);
  }
  return withAuthenticatedGroup({ name, uid: '', groups, extra });
}

export class DelegatingAuthenticator implements Authenticator {
  private readonly tokens = new TtlCache<UserInfo | null>();
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
    const chain = peerChain(request);
    if (chain.length > 0 && config.requestHeader) {
      const leaf = verifiedLeaf(chain, config.requestHeader.cas, true);
      const cn = leaf ? (subjectField(leaf, 'CN')[0] ?? '') : '';
      const allowed = leaf !== undefined && (config.requestHeader.allowedNames.length === 0 || config.requestHeader.allowedNames.includes(cn));
      if (allowed) {
        const user = fromRequestHeaders(request, config.requestHeader);
        if (user) return user;
      } else if (leaf) {
        this.log.warn({ cn }, 'front-proxy certificate CN not in requestheader-allowed-names: headers ignored');
      }
    }
    if (chain.length > 0) {
      const leaf = verifiedLeaf(chain, config.clientCas, false);
      if (leaf) {
        const name = subjectField(leaf, 'CN')[0];
        if (name) return withAuthenticatedGroup({ name, uid: '', groups: subjectField(leaf, 'O'), extra: {} });
      }
    }
    const authorization = request.headers.authorization;
    const header = Array.isArray(authorization) ? authorization[0] : authorization;
    const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (bearer) return (await this.reviewToken(bearer)) ?? undefined;
    return anonymousUser;
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
