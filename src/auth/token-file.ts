// kube-apiserver's --token-auth-file: CSV lines `token,user,uid,"group1,group2"`, for --standalone. Every user it
// authenticates also gets system:authenticated, as kube-apiserver adds it.
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { AuthRequest, Authenticator, UserInfo } from './user.js';

/** Splits one CSV record: commas separate fields, double quotes group them, "" is a literal quote. */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields;
}

export function parseTokenFile(content: string): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  content.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [token, name, uid, groups] = csvFields(line).map((f) => f.trim());
    if (!token || !name) throw new Error(`token file line ${index + 1}: need at least token and user name`);
    const groupList = (groups ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    tokens.set(token, { name, uid: uid ?? '', groups: [...new Set([...groupList, 'system:authenticated'])], extra: {} });
  });
  return tokens;
}

export class TokenAuthenticator implements Authenticator {
  constructor(private readonly tokens: Map<string, UserInfo>) {}

  static fromFile(path: string): TokenAuthenticator {
    return new TokenAuthenticator(parseTokenFile(readFileSync(path, 'utf8')));
  }

  /** Some token this authenticator accepts, for writing a kubeconfig. */
  firstToken(): string | undefined {
    return this.tokens.keys().next().value;
  }

  async authenticate(request: AuthRequest): Promise<UserInfo | undefined> {
    return this.lookup(request.headers.authorization);
  }

  private lookup(header: string | string[] | undefined): UserInfo | undefined {
    const value = Array.isArray(header) ? header[0] : header;
    const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
    if (!match) return undefined;
    const presented = Buffer.from(match[1]!);
    for (const [token, user] of this.tokens) {
      const known = Buffer.from(token);
      if (known.length === presented.length && timingSafeEqual(known, presented)) return user;
    }
    return undefined;
  }
}
