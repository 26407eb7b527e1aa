// Content negotiation as kube-apiserver does it: plain JSON, server-side Table, PartialObjectMetadata(List), and
// aggregated discovery, picked from the Accept header in order; anything else is 406.

export type Representation = 'json' | 'table' | 'metadata';

/** The media type of a Content-Type header, without parameters, lower-cased ("" when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...rest] = part.split(';').map((s) => s.trim());
      // Parameter names come from the client: no prototype, so `constructor` or `__proto__` are plain keys.
      const params: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((r) => r.type !== '');
}

const jsonLike = (type: string): boolean => type === 'application/json' || type === '*/*' || type === 'application/*';

/**
 * The representation for an object or list request, or undefined when nothing acceptable is offered.
 * `list` decides between PartialObjectMetadata and PartialObjectMetadataList, as kube-apiserver does.
 */
export function negotiate(header: string | undefined, list: boolean): Representation | undefined {
  const ranges = parseAccept(header);
  if (ranges.length === 0) return 'json';
  for (const range of ranges) {
    if (!jsonLike(range.type)) continue;
    const as = range.params.as;
    if (as === undefined) return 'json';
    if (range.params.g !== 'meta.k8s.io') continue;
    if (as === 'Table' && (range.params.v === 'v1' || range.params.v === 'v1beta1')) return 'table';
    if (range.params.v !== 'v1') continue;
    if (as === (list ? 'PartialObjectMetadataList' : 'PartialObjectMetadata')) return 'metadata';
  }
  return undefined;
}

export const contentTypes: Record<Representation, string> = {
  json: 'application/json',
  table: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  metadata: 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
};

export const listContentTypes: Record<Representation, string> = {
  ...contentTypes,
  metadata: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
};

export const aggregatedDiscoveryType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const aggregatedDiscoveryTypeBeta = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated discovery version the client asked for first, if any. */
export function wantsAggregatedDiscovery(header: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const range of parseAccept(header)) {
    if (range.type !== 'application/json') continue;
    if (range.params.g === 'apidiscovery.k8s.io' && range.params.as === 'APIGroupDiscoveryList') {
      if (range.params.v === 'v2') return 'v2';
      if (range.params.v === 'v2beta1') return 'v2beta1';
    }
    if (range.params.as === undefined) return undefined;
  }
  return undefined;
}

export function aggregatedDiscoveryContentType(version: 'v2' | 'v2beta1'): string {
  return version === 'v2' ? aggregatedDiscoveryType : aggregatedDiscoveryTypeBeta;
}
