// Delegated authorization: a SubjectAccessReview to kube-apiserver for every request outside the always-allowed
// set, cached 10 s for allows and denies as kube-apiserver's delegating authorizer does.
import type { Logger } from 'pino';
import type { KubeApi } from './kube-api.js';
import { requestAttributes } from './request-info.js';
import { TtlCache } from './ttl-cache.js';
import type { Authorizer, Decision, UserInfo } from './user.js';

const alwaysAllowedPaths = new Set(['/healthz', '/readyz', '/livez']);
const cacheMs = 10_000;

export class SarAuthorizer implements Authorizer {
  private readonly cache = new TtlCache<Decision>();
  private readonly log: Logger;

  constructor(
    private readonly api: KubeApi,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'authz' });
  }

  async authorize(user: UserInfo, method: string, url: string): Promise<Decision> {
    const path = url.split('?')[0]!;
    if (alwaysAllowedPaths.has(path) || user.groups.includes('system:masters')) return { allowed: true, reason: '' };
    const request = requestAttributes(method, url);
    const spec = {
      user: user.name,
      uid: user.uid || undefined,
      groups: user.groups,
      extra: user.extra,
      ...(request.kind === 'resource'
        ? { resourceAttributes: request.attributes }
        : { nonResourceAttributes: { path: request.path, verb: request.verb } }),
    };
    const key = JSON.stringify(spec);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const review = await this.api.subjectAccessReview(spec);
    const decision: Decision = { allowed: review.allowed && review.denied !== true, reason: review.reason ?? '' };
    this.cache.set(key, decision, cacheMs);
    this.log.debug({ user: user.name, spec, decision }, 'access review');
    return decision;
  }
}
