// What a request asks to do, parsed as kube-apiserver's RequestInfoFactory parses it, for authorization:
// verb (get/list/watch/create/update/patch/delete/deletecollection), namespace, resource, subresource, name.
import { queryBoolean } from '../api/meta/query-bool.js';

export interface ResourceAttributes {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export type RequestAttributes =
  | { kind: 'resource'; attributes: ResourceAttributes }
  | { kind: 'nonResource'; path: string; verb: string };

const methodVerbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

function truthy(value: string | null): boolean {
  return value !== null && queryBoolean(value);
}

export function requestAttributes(method: string, url: string): RequestAttributes {
  const parsed = new URL(url, 'https://placeholder');
  const path = parsed.pathname;
  // Non-resource requests are authorized by the lowercase HTTP method.
  const nonResourceVerb = method.toLowerCase();
  const parts = path.split('/').filter(Boolean);
  // /apis/<group>/<version>/... with at least a resource; anything shorter is discovery, a non-resource path.
  if (parts[0] !== 'apis' || parts.length < 4) return { kind: 'nonResource', path, verb: nonResourceVerb };
  const [, group = '', version = ''] = parts;
  let rest = parts.slice(3);
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  // Methods without a verb (OPTIONS, TRACE, …) have the empty verb, as kube's RequestInfoFactory gives them.
  let verb = methodVerbs[method] ?? '';
  const query = parsed.searchParams;
  if (name === '') {
    if (method === 'GET' || method === 'HEAD') verb = truthy(query.get('watch')) ? 'watch' : 'list';
    if (method === 'DELETE') verb = 'deletecollection';
  } else if ((method === 'GET' || method === 'HEAD') && truthy(query.get('watch'))) {
    verb = 'watch';
  }
  let resolvedName = name;
  // A list or watch pinned to one name by fieldSelector is authorized as that name, as kube-apiserver does.
  if ((verb === 'list' || verb === 'watch') && name === '') {
    for (const term of (query.get('fieldSelector') ?? '').split(',')) {
      const match = /^\s*metadata\.name\s*==?\s*(.+?)\s*$/.exec(term);
      if (match) resolvedName = match[1]!;
    }
  }
  return { kind: 'resource', attributes: { verb, group, version, resource, subresource, namespace, name: resolvedName } };
}
