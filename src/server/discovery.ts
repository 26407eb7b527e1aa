// Discovery documents: legacy (/apis, /apis/<group>, /apis/<group>/<version>) and aggregated v2 on /apis, built
// once from the strategies. The aggregator polls these every minute and never tolerates a slow or failing answer.
import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../registry/strategy.js';

const mainVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const subresourceVerbs = ['get', 'patch', 'update'];

function subresourceKind(info: ResourceInfo, subresource: string): { group: string; version: string; kind: string } {
  return subresource === 'scale'
    ? { group: 'autoscaling', version: 'v1', kind: 'Scale' }
    : { group: info.group, version: info.version, kind: info.kind };
}

export function apiResourceList(resources: readonly ResourceInfo[], group: string, version: string): unknown {
  const list: unknown[] = [];
  for (const info of resources) {
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
      const k = subresourceKind(info, sub);
      list.push({
        name: `${info.resource}/${sub}`,
        singularName: '',
        namespaced: info.namespaced,
        ...(sub === 'scale' ? { group: k.group, version: k.version } : {}),
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

export function aggregatedDiscovery(resources: readonly ResourceInfo[], group: string, version: string, apiVersion: 'v2' | 'v2beta1'): unknown {
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
            resources: resources.map((info) => ({
              resource: info.resource,
              responseKind: { group: info.group, version: info.version, kind: info.kind },
              scope: 'Namespaced',
              singularResource: info.singular,
              verbs: mainVerbs,
              shortNames: info.shortNames,
              categories: info.categories,
              subresources: [
                ...info.subresources.map((sub) => ({
                  subresource: sub,
                  responseKind: subresourceKind(info, sub),
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
