// The namespace's ResourceQuotas as k8s.io/apiserver's quota admission reads and writes them (resource_access.go): an
// informer on every namespace's quotas; over it, the versions this process wrote itself, newer than the informer may
// yet have seen; for a namespace the informer holds none of, a live list remembered for 30 s (a quota created a
// moment ago is not missed); status writes by PUT on .../resourcequotas/<name>/status with the resourceVersion read.
import type { Logger } from 'pino';
import type { Transport } from '../../kube/transport.js';
import { watchCollection, type CollectionWatch } from '../../kube/watch-collection.js';
import type { ResourceQuota } from './resource-list.js';

interface List {
  metadata?: { resourceVersion?: string };
  items?: ResourceQuota[];
}

const liveTtlMs = 30_000;
const namespaced = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/resourcequotas`;

/** resourceVersions are etcd revisions: kube's quota accessor compares them as integers to keep the newer copy. */
function newer(a: ResourceQuota, b: ResourceQuota): boolean {
  try {
    return BigInt(a.metadata.resourceVersion) > BigInt(b.metadata.resourceVersion);
  } catch {
    return false;
  }
}

export interface QuotaAccess {
  /** The namespace's quotas, as fresh as this process knows them. */
  quotas(namespace: string, signal?: AbortSignal): Promise<ResourceQuota[]>;
  /** The namespace's quotas read from kube-apiserver now (after a conflict). */
  liveQuotas(namespace: string, signal?: AbortSignal): Promise<ResourceQuota[]>;
  /** Writes the quota's status under its resourceVersion; a conflict rejects with kube's 409 StatusError. */
  updateStatus(quota: ResourceQuota, signal?: AbortSignal): Promise<void>;
}

export class QuotaInformer implements QuotaAccess {
  private readonly cache: CollectionWatch<ResourceQuota>;
  /** kube's updatedQuotas: versions newer than the informer's (this process's writes, live reads) until it catches up. */
  private readonly fresher = new Map<string, ResourceQuota>();
  private readonly live = new Map<string, { at: number; quotas: Promise<ResourceQuota[]> }>();

  constructor(
    private readonly transport: Transport,
    logger: Logger,
  ) {
    const log = logger.child({ component: 'quota-informer' });
    this.cache = watchCollection<ResourceQuota>(transport, {
      collection: '/api/v1/resourcequotas',
      onError: (error) => log.warn({ err: error }, 'listing or watching ResourceQuotas failed; retrying'),
    });
  }

  stop(): void {
    this.cache.stop();
  }

  async quotas(namespace: string, signal?: AbortSignal): Promise<ResourceQuota[]> {
    const cached = this.cache.synced ? this.cache.list(namespace) : [];
    const found = cached.length > 0 ? cached : await this.liveLookup(namespace, signal);
    return found.map((quota) => {
      const key = `${namespace}/${quota.metadata.name}`;
      const mine = this.fresher.get(key);
      if (mine && newer(mine, quota)) return mine;
      this.fresher.delete(key);
      return quota;
    });
  }

  async liveQuotas(namespace: string, signal?: AbortSignal): Promise<ResourceQuota[]> {
    const list = await this.transport.json<List>({ method: 'GET', path: namespaced(namespace), ...(signal ? { signal } : {}) });
    const items = list.items ?? [];
    for (const quota of items) {
      const key = `${namespace}/${quota.metadata.name}`;
      const mine = this.fresher.get(key);
      if (!mine || newer(quota, mine)) this.fresher.set(key, quota);
    }
    this.live.set(namespace, { at: Date.now(), quotas: Promise.resolve(items) });
    return items;
  }

  async updateStatus(quota: ResourceQuota, signal?: AbortSignal): Promise<void> {
    const { namespace, name } = quota.metadata;
    const updated = await this.transport.json<ResourceQuota>({
      method: 'PUT',
      path: `${namespaced(namespace)}/${encodeURIComponent(name)}/status`,
      body: quota,
      ...(signal ? { signal } : {}),
    });
    this.fresher.set(`${namespace}/${name}`, updated);
  }

  /** kube's liveLookupCache: one list per namespace at a time, its answer kept for 30 s. */
  private liveLookup(namespace: string, signal?: AbortSignal): Promise<ResourceQuota[]> {
    const entry = this.live.get(namespace);
    if (entry && Date.now() - entry.at < liveTtlMs) return entry.quotas;
    const quotas = this.liveQuotas(namespace, signal);
    this.live.set(namespace, { at: Date.now(), quotas });
    quotas.catch(() => this.live.delete(namespace));
    return quotas;
  }
}
