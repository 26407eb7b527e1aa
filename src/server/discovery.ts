// Discovery documents: legacy (/apis, /apis/<group>, /apis/<group>/<version>) and aggregated v2 on /apis, built
// once from the resources' strategies. The aggregator polls these every minute and never tolerates a slow or failing answer.
import { createHash } from 'node:crypto';
import { scopeOf, type Strategy } from '../registry/strategy.js';
import { subresourceShape } from '../registry/subresources.js';

const mainVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const subresourceVerbs = ['get', 'patch', 'update'];

export function apiResourceList(resources: readonly Strategy[], group: string, version: string): unknown {
  const list: unknown[] = [];
  for (const strategy of resources) {
    const info = strategy.info;
    list.push({
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: mainVerbs,
      shortNames: info.shortNames,
      categories: info.categories,
      storageVersionHash: createHash('sha256').update(`${info.group}/${info.version}/${info.kind}`).digest('base64').slice(0, 11),
    });
    for (const sub of info.subresources) {
      const k = subresourceShape(strategy, sub).gvk;
      list.push({
        name: `${info.resource}/${sub}`,
        singularName: '',
        namespaced: info.namespaced,
        // Named only when it differs from the group-version of the list, as kube-apiserver names them.
        ...(k.group !== info.group || k.version !== info.version ? { group: k.group, version: k.version } : {}),
        kind: k.kind,
        verbs: subresourceVerbs,
      });
    }
    for (const sub of info.connect ?? []) {
      list.push({ name: `${info.resource}/${sub.name}`, singularName: '', namespaced: info.namespaced, kind: sub.kind, verbs: sub.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources: list };
}

function groupVersion(group: string, version: string): { groupVersion: string; version: string } {
  return { groupVersion: `${group}/${version}`, version };
}

export function apiGroup(group: string, version: string): unknown {
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: [groupVersion(group, version)],
    preferredVersion: groupVersion(group, version),
  };
}

export function apiGroupList(group: string, version: string): unknown {
  const { kind: _kind, apiVersion: _apiVersion, ...entry } = apiGroup(group, version) as Record<string, unknown>;
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [entry] };
}

export function aggregatedDiscovery(resources: readonly Strategy[], group: string, version: string, apiVersion: 'v2' | 'v2beta1'): unknown {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
    metadata: {},
    items: [
      {
        metadata: { name: group, creationTimestamp: null },
        versions: [
          {
            version,
            resources: resources.map(({ info, schemaName }) => ({
              resource: info.resource,
              responseKind: { group: info.group, version: info.version, kind: info.kind },
              scope: scopeOf(info),
              singularResource: info.singular,
              verbs: mainVerbs,
              shortNames: info.shortNames,
              categories: info.categories,
              subresources: [
                ...info.subresources.map((sub) => ({
                  subresource: sub,
                  responseKind: subresourceShape({ info, schemaName }, sub).gvk,
                  verbs: subresourceVerbs,
                })),
                ...(info.connect ?? []).map((sub) => ({
                  subresource: sub.name,
                  responseKind: { group: info.group, version: info.version, kind: sub.kind },
                  verbs: sub.verbs,
                })),
              ],
            })),
            freshness: 'Current',
          },
        ],
      },
    ],
  };
}

/** An empty aggregated document, for /api: this server serves no legacy core group. */
export function emptyAggregatedDiscovery(apiVersion: 'v2' | 'v2beta1'): unknown {
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items: [] };
}

export function etagOf(body: string): string {
  return `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"`;
}
