// Who is making a request, as kube-apiserver's user.Info carries it, and the contract of an authenticator.
import type { TLSSocket } from 'node:tls';

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** What an authenticator may look at: headers as sent (repeated lines kept) and the TLS connection. */
export interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  /** Node's rawHeaders: name, value, name, value... Repeated X-Remote-Group lines survive only here. */
  rawHeaders: string[];
  socket: TLSSocket;
}

export interface Authenticator {
  /** The user behind a request, undefined when it carries no credentials this authenticator accepts. */
  authenticate(request: AuthRequest): Promise<UserInfo | undefined>;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

export interface Authorizer {
  authorize(user: UserInfo, method: string, url: string): Promise<Decision>;
}

export const anonymousUser: UserInfo = { name: 'system:anonymous', uid: '', groups: ['system:unauthenticated'], extra: {} };

export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  return user.groups.includes('system:authenticated') ? user : { ...user, groups: [...user.groups, 'system:authenticated'] };
}
