// Namespace lifecycle admission against kube-apiserver: a create in a missing namespace is 404, in a terminating
// one 403 NamespaceTerminating. Answers are cached for a second, and concurrent creates share one question: a
// burst asks once.
import type { KubeApi } from '../auth/kube-api.js';
import { TtlCache } from '../auth/ttl-cache.js';
import { apiErrors } from '../api/meta/errors.js';
import type { NamespaceLifecycle } from '../registry/strategy.js';

export class KubeNamespaceLifecycle implements NamespaceLifecycle {
  private readonly phases = new TtlCache<string>();
  private readonly asking = new Map<string, Promise<string>>();

  constructor(private readonly api: KubeApi) {}

  async admitCreate(namespace: string): Promise<void> {
    const phase = this.phases.get(namespace) ?? (await this.ask(namespace));
    if (phase === 'Missing') throw apiErrors.namespaceNotFound(namespace);
    if (phase === 'Terminating') throw apiErrors.namespaceTerminating(namespace);
  }

  private ask(namespace: string): Promise<string> {
    let question = this.asking.get(namespace);
    if (!question) {
      question = this.api
        .namespacePhase(namespace)
        .then((phase) => {
          this.phases.set(namespace, phase ?? 'Missing', 1_000);
          return phase ?? 'Missing';
        })
        .finally(() => this.asking.delete(namespace));
      this.asking.set(namespace, question);
    }
    return question;
  }
}
