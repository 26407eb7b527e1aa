// Who is making a request, as kube-apiserver's user.Info carries it.
export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface Authenticator {
  /** The user behind a request, undefined when it carries no credentials this authenticator accepts. */
  authenticate(headers: Record<string, string | string[] | undefined>): UserInfo | undefined;
}
