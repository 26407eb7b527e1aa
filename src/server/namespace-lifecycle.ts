// Namespace lifecycle admission against kube-apiserver: a create in a missing namespace is 404, in a terminating
// one 403 NamespaceTerminating. Answers are cached for a second: creates in bursts ask once.
import type { KubeApi } from '../auth/kube-api.js';
import { TtlCache } from '../auth/ttl-cache.js';
import { apiErrors } from '../registry/errors.js';
import type { NamespaceLifecycle } from '../registry/strategy.js';

export class KubeNamespaceLifecycle implements NamespaceLifecycle {
  private readonly phases = new TtlCache<string>();

  constructor(private readonly api: KubeApi) {}

  async admitCreate(namespace: string): Promise<void> {
    let phase = this.phases.get(namespace);
    if (phase === undefined) {
      phase = (await this.api.namespacePhase(namespace)) ?? 'Missing';
      this.phases.set(namespace, phase, 1_000);
    }
    if (phase === 'Missing') throw apiErrors.namespaceNotFound(namespace);
    if (phase === 'Terminating') throw apiErrors.namespaceTerminating(namespace);
  }
}
