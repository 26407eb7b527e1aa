// The opaque `continue` of a paginated LIST: base64 of JSON naming the snapshot revision and the next key, in
// the shape kube-apiserver uses, so clients treat it as opaque and the server can verify it.
import { apiErrors } from './errors.js';

interface Token {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

export function encodeContinue(revision: number, nextKey: string, keyPrefix: string): string {
  const token: Token = { v: 'meta.k8s.io/v1', rv: revision, start: nextKey.slice(keyPrefix.length) };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodeContinue(value: string, keyPrefix: string): { revision: number; startKey: string } {
  let token: Partial<Token>;
  try {
    token = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<Token>;
  } catch {
    throw apiErrors.badRequest('continue key is not valid: illegal base64 data');
  }
  if (token.v !== 'meta.k8s.io/v1' || typeof token.rv !== 'number' || typeof token.start !== 'string') {
    throw apiErrors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (token.rv <= 0) throw apiErrors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (token.start.includes('..') || token.start.startsWith('/')) throw apiErrors.badRequest('continue key is not valid: path traversal');
  return { revision: token.rv, startKey: keyPrefix + token.start };
}
