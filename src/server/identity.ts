// Who sends a request and whether they may: the two steps of kube-apiserver's handler chain (WithAuthentication,
// WithAuthorization), shared by Fastify's hooks and the WebSocket upgrade path, each refusal an ApiError.
import type { Logger } from 'pino';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import { requestAttributes } from '../auth/request-info.js';
import type { AuthRequest, Authenticator, Authorizer, Decision, UserInfo } from '../auth/user.js';

/** kube's apierrors.NewUnauthorized("Unauthorized"), what its unauthorized handler answers. */
function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

type WarnLog = Pick<Logger, 'warn'>;

export class Identity {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly authorizer: Authorizer,
  ) {}

  /** The request's user; 401 when its credentials are refused or cannot be checked (no anonymous fallback then). */
  async authenticate(request: AuthRequest, log: WarnLog): Promise<UserInfo> {
    let user: UserInfo | undefined;
    try {
      user = await this.authenticator.authenticate(request);
    } catch (error) {
      log.warn({ err: error }, 'authentication failed');
    }
    if (!user) throw unauthorized();
    return user;
  }

  /** Resolves when `user` may do what the method and URL ask; 403 with the authorizer's reason otherwise. */
  async authorize(user: UserInfo, method: string, url: string, log: WarnLog, decided?: (decision: Decision) => void): Promise<void> {
    let decision;
    try {
      decision = await this.authorizer.authorize(user, method, url);
    } catch (error) {
      // Fail closed: an authorizer that cannot answer never lets a request through.
      log.warn({ err: error }, 'authorization failed');
      throw apiErrors.serviceUnavailable('the authorizer is unavailable; try again');
    }
    decided?.(decision);
    if (!decision.allowed) throw apiErrors.forbiddenRequest(user.name, requestAttributes(method, url), decision.reason);
  }
}
