// The opaque `continue` of a paginated LIST: base64 of JSON naming the snapshot revision and the next key, in
// the shape kube-apiserver uses, so clients treat it as opaque and the server can verify it. A token that does
// not decode is refused with kube's wording, each message prefixed as its store prefixes them.
import { apiErrors, type ApiError } from '../api/meta/errors.js';

interface Token {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

export function encodeContinue(revision: number, nextKey: string, keyPrefix: string): string {
  const token: Token = { v: 'meta.k8s.io/v1', rv: revision, start: nextKey.slice(keyPrefix.length) };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

const invalid = (why: string): ApiError => apiErrors.badRequest(`invalid continue token: continue key is not valid${why}`);

/** Where unpadded URL-safe base64 stops being valid, as Go's decoder reports it; -1 when it is valid. */
function base64Error(value: string): number {
  const bad = value.search(/[^A-Za-z0-9_-]/);
  if (bad >= 0) return bad;
  return value.length % 4 === 1 ? value.length - 1 : -1;
}

export function decodeContinue(value: string, keyPrefix: string): { revision: number; startKey: string } {
  const badByte = base64Error(value);
  if (badByte >= 0) throw invalid(`: illegal base64 data at input byte ${badByte}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch (error) {
    throw invalid(`: ${(error as Error).message}`);
  }
  // JSON null decodes into Go's zero token: no version, which the version check below refuses.
  if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
    throw invalid(': json: cannot unmarshal into a continue token');
  }
  const token = (parsed ?? {}) as Partial<Record<keyof Token, unknown>>;
  const version = typeof token.v === 'string' ? token.v : '';
  if (version !== 'meta.k8s.io/v1') throw invalid(`: server does not recognize this encoded version ${version}`);
  if (typeof token.rv !== 'number' || !Number.isSafeInteger(token.rv) || token.rv <= 0) {
    throw invalid(': incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  const start = typeof token.start === 'string' ? token.start : '';
  if (start === '') throw invalid(': encoded start key empty (version meta.k8s.io/v1)');
  // A key that a path cleaner would change could range outside this resource's prefix: refused, not normalized.
  const key = start.startsWith('/') ? start : `/${start}`;
  if (key.slice(1).split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) throw invalid(`: ${start}`);
  return { revision: token.rv, startKey: keyPrefix + key.slice(1) };
}
