// The ResourceQuota admission plugin, last of the validating plugins as in kube-apiserver: every create of ours is
// counted against count/<resource>.ai.example.io quotas and charged to them (kube enforces these for CRDs itself,
// but leaves aggregated APIs to their servers); a job's or notebook's pods are compared with the compute quotas
// they will be charged to, and a Warning says when they will not fit.
import { Counter, type Registry } from 'prom-client';
import { ApiError, apiErrors } from '../../api/meta/errors.js';
import { StatusError } from '../../kube/status-error.js';
import type { KubeObject } from '../../api/meta/types.js';
import type { AdmissionAttributes, AdmissionOutcome } from '../../registry/admission.js';
import type { AdmissionPlugin } from '../plugin.js';
import { countUsage, QuotaRefusal } from './check.js';
import { computeWarnings, podPlan, type PodPlan } from './compute.js';
import { QuotaEvaluator } from './evaluator.js';
import type { QuotaAccess } from './quota-access.js';

/** kube's quota admission gives up on a namespace's queue after this long, as an internal error. */
const evaluationTimeoutMs = 10_000;

export class ResourceQuotaPlugin implements AdmissionPlugin {
  readonly name = 'ResourceQuota';
  private readonly evaluator: QuotaEvaluator;
  private readonly rejections: Counter<'resource'>;

  /**
   * `stored` reads an object of ours as stored (the watch cache): a Scale carries no pod template, so a scale of a
   * job is compared through the job it scales.
   */
  constructor(
    private readonly access: QuotaAccess,
    registry: Registry,
    private readonly stored?: (resource: string, namespace: string, name: string) => unknown,
  ) {
    this.evaluator = new QuotaEvaluator(access);
    // kube-apiserver has no metric of its own for quota refusals (only the admission controller's, by plugin).
    this.rejections = new Counter({
      name: 'ai_apiserver_quota_rejections_total',
      help: 'Creates refused by a ResourceQuota, by resource.',
      labelNames: ['resource'],
      registers: [registry],
    });
  }

  handles(attributes: AdmissionAttributes): boolean {
    if (attributes.namespace === '' || attributes.object === null) return false;
    if (attributes.subResource === 'scale') return attributes.operation === 'UPDATE' && attributes.resource.resource === 'jobs' && this.stored !== undefined;
    if (attributes.subResource !== '') return false;
    return attributes.operation === 'CREATE' || (attributes.operation === 'UPDATE' && podPlan(attributes.resource.resource, attributes.object) !== undefined);
  }

  async validate(attributes: AdmissionAttributes): Promise<AdmissionOutcome> {
    const { namespace, resource } = attributes;
    if (attributes.operation === 'CREATE') await this.charge(attributes);
    const { plan, previous } = attributes.subResource === 'scale' ? this.scalePlans(attributes) : objectPlans(attributes);
    const warnings: string[] = [];
    if (plan && plan.replicas > 0) warnings.push(...computeWarnings(plan, await this.access.quotas(namespace), previous));
    return { warnings, auditAnnotations: {} };
  }

  /** A Scale's replicas, old and new, applied to the pods of the object it scales. */
  private scalePlans(attributes: AdmissionAttributes): { plan?: PodPlan; previous?: PodPlan } {
    const stored = podPlan(attributes.resource.resource, this.stored?.(attributes.resource.resource, attributes.namespace, attributes.name));
    const replicas = (scale: KubeObject | null): unknown => (scale?.spec as { replicas?: unknown } | undefined)?.replicas;
    const [next, before] = [replicas(attributes.object), replicas(attributes.oldObject)];
    // A suspended job runs no pods, whatever its replicas.
    if (!stored || stored.replicas === 0 || typeof next !== 'number') return {};
    return { plan: { ...stored, replicas: next }, ...(typeof before === 'number' ? { previous: { ...stored, replicas: before } } : {}) };
  }

  private async charge(attributes: AdmissionAttributes): Promise<void> {
    const { group, resource } = attributes.resource;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(apiErrors.internal('resource quota evaluation timed out')), evaluationTimeoutMs);
    });
    try {
      await Promise.race([this.evaluator.evaluate({ namespace: attributes.namespace, usage: countUsage(group, resource), dryRun: attributes.dryRun }), timeout]);
    } catch (error) {
      if (error instanceof QuotaRefusal) {
        this.rejections.inc({ resource });
        throw apiErrors.forbidden({ group, resource, kind: '' }, forbiddenName(attributes), error.message);
      }
      if (error instanceof ApiError) throw error;
      // A quota kube-apiserver would not let us write (a conflict past the retries): its Status, as kube's quota
      // admission returns the client's error.
      if (error instanceof StatusError) throw new ApiError(error.code, error.reason ?? 'InternalError', error.message, error.status.details);
      throw apiErrors.internal(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
    }
  }
}

function objectPlans(attributes: AdmissionAttributes): { plan?: PodPlan; previous?: PodPlan } {
  const plan = podPlan(attributes.resource.resource, attributes.object);
  const previous = attributes.oldObject ? podPlan(attributes.resource.resource, attributes.oldObject) : undefined;
  return { ...(plan ? { plan } : {}), ...(previous ? { previous } : {}) };
}

/** admission.NewForbidden's name: the request's, else the object's, else its generateName, else "Unknown". */
function forbiddenName(attributes: AdmissionAttributes): string {
  const metadata = attributes.object?.metadata;
  return attributes.name || metadata?.name || metadata?.generateName || 'Unknown';
}
