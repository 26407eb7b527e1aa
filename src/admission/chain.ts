// The admission chain (k8s.io/apiserver's admission chainAdmissionHandler): mutating plugins in order, each seeing
// what the previous made of the object, then validating plugins in order; the first refusal ends the request.
// Plugins with nothing to say about a request are skipped without cost.
import type { AdmissionAttributes, AdmissionChain, AdmissionOutcome, MutationOutcome } from '../registry/admission.js';
import type { AdmissionMetrics, StepType } from './metrics.js';
import type { AdmissionPlugin } from './plugin.js';

export class PluginChain implements AdmissionChain {
  private readonly mutating: AdmissionPlugin[];
  private readonly validating: AdmissionPlugin[];

  /** `plugins` in kube's order; each runs in the phases it implements. */
  constructor(
    plugins: readonly AdmissionPlugin[],
    private readonly metrics?: AdmissionMetrics,
  ) {
    this.mutating = plugins.filter((p) => p.mutate);
    this.validating = plugins.filter((p) => p.validate);
  }

  /** Whether any plugin could run: with none, the store skips admission altogether. */
  get empty(): boolean {
    return this.mutating.length === 0 && this.validating.length === 0;
  }

  async mutate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<MutationOutcome> {
    const outcome: MutationOutcome = { object: attributes.object, warnings: [], auditAnnotations: {} };
    await this.step('admit', attributes, async () => {
      for (const plugin of this.mutating) {
        if (!plugin.handles(attributes)) continue;
        const result = await this.timed(plugin, 'admit', attributes, () => plugin.mutate!(attributes, signal));
        attributes.object = result.object;
        outcome.object = result.object;
        merge(outcome, result, attributes);
      }
    });
    return outcome;
  }

  async validate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<AdmissionOutcome> {
    const outcome: AdmissionOutcome = { warnings: [], auditAnnotations: {} };
    await this.step('validate', attributes, async () => {
      for (const plugin of this.validating) {
        if (!plugin.handles(attributes)) continue;
        merge(outcome, await this.timed(plugin, 'validate', attributes, () => plugin.validate!(attributes, signal)), attributes);
      }
    });
    return outcome;
  }

  private async step(type: StepType, attributes: AdmissionAttributes, run: () => Promise<void>): Promise<void> {
    const start = performance.now();
    let rejected = true;
    try {
      await run();
      rejected = false;
    } finally {
      this.metrics?.step.observe({ type, operation: attributes.operation, rejected: String(rejected) }, (performance.now() - start) / 1000);
    }
  }

  private async timed<T>(plugin: AdmissionPlugin, type: StepType, attributes: AdmissionAttributes, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    let rejected = true;
    try {
      const result = await run();
      rejected = false;
      return result;
    } finally {
      this.metrics?.controller.observe(
        { name: plugin.name, type, operation: attributes.operation, rejected: String(rejected) },
        (performance.now() - start) / 1000,
      );
    }
  }
}

function merge(into: AdmissionOutcome, from: AdmissionOutcome, attributes: AdmissionAttributes): void {
  into.warnings.push(...from.warnings);
  if (Object.keys(from.auditAnnotations).length === 0) return;
  Object.assign(into.auditAnnotations, from.auditAnnotations);
  attributes.annotate?.(from.auditAnnotations);
}
