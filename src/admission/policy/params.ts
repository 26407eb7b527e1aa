// Param objects for policies with a paramKind, as k8s.io/apiserver's policy source and CollectParams (v0.32.2) find
// them: the kind resolved to a resource through discovery, one list-and-watch cache per kind in use (stopped when no
// policy uses it), and a binding's paramRef (name or selector, namespace defaulting to the request's for a namespaced
// kind, parameterNotFoundAction) resolved against it. Errors are kube's configuration errors, worded as kube's.
import type { Logger } from 'pino';
import type { Transport } from '../../kube/transport.js';
import { watchCollection, type CollectionWatch, type WatchedObject } from '../../kube/watch-collection.js';
import { labelSelectorMatches } from '../rules.js';
import type { ParamKind, ParamRef } from './types.js';

/** How long a request waits for a new kind's first list, as CollectParams's WaitForCacheSync. */
const syncWaitMs = 1000;
const retryMs = 5000;
/** A discovery call that hangs is given up and retried, as a failed one is. */
const discoveryTimeoutMs = 30_000;

type ParamObject = WatchedObject & Record<string, unknown>;

interface KindState {
  /** Settles when discovery answered: the cache, or kube's error for an unknown kind. */
  resolved: Promise<{ watch: CollectionWatch<ParamObject>; namespaced: boolean } | { error: string }>;
  current?: { watch: CollectionWatch<ParamObject>; namespaced: boolean } | { error: string };
  retry?: NodeJS.Timeout;
}

interface ApiResourceList {
  resources?: { name: string; namespaced: boolean; kind: string }[];
}

/** schema.ParseGroupVersion: "v1" is the core group; more than one slash is an error. */
function parseGroupVersion(apiVersion: string): { group: string; version: string } | undefined {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0]! };
  if (parts.length === 2) return { group: parts[0]!, version: parts[1]! };
  return undefined;
}

/** ParamKind's generated String(), as kube prints it in its messages. */
const paramKindString = (kind: ParamKind): string => `&ParamKind{APIVersion:${kind.apiVersion ?? ''},Kind:${kind.kind ?? ''},}`;

export class ParamSource {
  private readonly kinds = new Map<string, KindState>();

  constructor(
    private readonly transport: Transport,
    private readonly logger: Logger,
  ) {}

  private keyOf(kind: ParamKind): string {
    return `${kind.apiVersion ?? ''}\n${kind.kind ?? ''}`;
  }

  /** Keeps caches for exactly these kinds: starts the new ones, stops those no policy names any more. */
  retain(kinds: readonly ParamKind[]): void {
    const wanted = new Map(kinds.map((k) => [this.keyOf(k), k]));
    for (const [key, state] of this.kinds) {
      if (wanted.has(key)) continue;
      this.drop(state);
      this.kinds.delete(key);
    }
    for (const [key, kind] of wanted) if (!this.kinds.has(key)) this.kinds.set(key, this.start(kind));
  }

  stop(): void {
    for (const state of this.kinds.values()) this.drop(state);
    this.kinds.clear();
  }

  private drop(state: KindState): void {
    clearTimeout(state.retry);
    void state.resolved.then((r) => ('watch' in r ? r.watch.stop() : undefined));
  }

  private start(kind: ParamKind): KindState {
    const state: KindState = { resolved: Promise.resolve({ error: '' }) };
    const attempt = (): void => {
      state.resolved = this.resolve(kind).then((result) => {
        state.current = result;
        // kube's policy source retries a kind it could not find (a CRD installed later).
        if ('error' in result && this.kinds.get(this.keyOf(kind)) === state) state.retry = setTimeout(attempt, retryMs);
        return result;
      });
    };
    attempt();
    return state;
  }

  private async resolve(kind: ParamKind): Promise<{ watch: CollectionWatch<ParamObject>; namespaced: boolean } | { error: string }> {
    const gv = parseGroupVersion(kind.apiVersion ?? '');
    if (!gv) return { error: `failed to parse paramKind APIVersion: unexpected GroupVersion string: ${kind.apiVersion ?? ''}` };
    const notFound = { error: `failed to find resource referenced by paramKind: '${gv.group}/${gv.version}, Kind=${kind.kind ?? ''}'` };
    const base = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`;
    let list: ApiResourceList;
    try {
      list = await this.transport.json<ApiResourceList>({ method: 'GET', path: base, signal: AbortSignal.timeout(discoveryTimeoutMs) });
    } catch (error) {
      this.logger.warn({ err: error, paramKind: kind }, 'discovery of a policy paramKind failed');
      return notFound;
    }
    const resource = (list.resources ?? []).find((r) => r.kind === kind.kind && !r.name.includes('/'));
    if (!resource) return notFound;
    const watch = watchCollection<ParamObject>(this.transport, {
      collection: `${base}/${resource.name}`,
      onError: (error) => this.logger.warn({ err: error, paramKind: kind }, 'watch of policy params failed; retrying'),
    });
    return { watch, namespaced: resource.namespaced };
  }

  /** What discovery said of the kind, waiting for its first answer no longer than the request. */
  private async resolved(kind: ParamKind, signal?: AbortSignal): Promise<KindState['current']> {
    const state = this.kinds.get(this.keyOf(kind));
    if (!state) return undefined;
    if (state.current) return state.current;
    if (!signal) return state.resolved;
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      state.resolved.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject,
      );
    });
  }

  /** The policy's configuration error when its paramKind names no resource (kube's hook ConfigurationError). */
  async kindError(kind: ParamKind | undefined, signal?: AbortSignal): Promise<string | undefined> {
    if (!kind) return undefined;
    const resolved = await this.resolved(kind, signal);
    return resolved && 'error' in resolved ? resolved.error : undefined;
  }

  /**
   * CollectParams: the params one binding evaluates its policy with, [null] when it uses none; raises kube's
   * configuration error (the caller words it as "failed to configure binding").
   */
  async collect(kind: ParamKind | undefined, ref: ParamRef | undefined, namespace: string, signal?: AbortSignal): Promise<unknown[]> {
    if (!kind || !ref) return [null];
    const resolved = await this.resolved(kind, signal);
    if (!resolved || 'error' in resolved) throw new Error(`paramKind kind \`${paramKindString(kind)}\` not known`);
    const { watch, namespaced } = resolved;
    let paramsNamespace: string | undefined;
    if (namespaced) {
      paramsNamespace = ref.namespace || namespace;
      if (!paramsNamespace) throw new Error('cannot use namespaced paramRef in policy binding that matches cluster-scoped resources');
    }
    if (!watch.synced) {
      const timeout = AbortSignal.timeout(syncWaitMs);
      try {
        await watch.whenSynced(signal ? AbortSignal.any([signal, timeout]) : timeout);
      } catch {
        throw new Error(`paramKind kind \`${paramKindString(kind)}\` not yet synced to use for admission`);
      }
    }
    if (ref.namespace && !namespaced) throw new Error('paramRef.namespace must not be provided for a cluster-scoped `paramKind`');
    let params: ParamObject[];
    if (ref.name) {
      if (ref.selector) throw new Error('paramRef.name and paramRef.selector are mutually exclusive');
      const found = watch.get(paramsNamespace ?? '', ref.name);
      params = found ? [found] : [];
    } else if (ref.selector) {
      params = watch.list(paramsNamespace).filter((p) => labelSelectorMatches(ref.selector, p.metadata?.labels));
    } else {
      throw new Error('one of name or selector must be provided');
    }
    if (params.length === 0 && ref.parameterNotFoundAction === 'Deny') {
      throw new Error('no params found for policy binding with `Deny` parameterNotFoundAction');
    }
    // A list's items carry no apiVersion and kind; kube fills them in from paramKind for CEL.
    return params.map((p) => ({ ...p, apiVersion: kind.apiVersion, kind: kind.kind }));
  }
}
