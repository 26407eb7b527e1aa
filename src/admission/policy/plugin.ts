// The ValidatingAdmissionPolicy admission plugin (k8s.io/apiserver's policy/validating, v0.32.2) for the resources
// this server serves: policies and bindings from kube-apiserver through list-and-watch caches, each policy's CEL
// compiled once per generation, and kube's dispatch: policy match, binding match, params, one evaluation per param,
// then the binding's validationActions (Deny refuses, Warn warns, Audit annotates). Every message and code is kube's.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApiError, apiErrors } from '../../api/meta/errors.js';
import { StatusError } from '../../kube/status-error.js';
import type { Transport } from '../../kube/transport.js';
import { watchCollection, type CollectionWatch } from '../../kube/watch-collection.js';
import type { AdmissionAttributes, AdmissionOutcome } from '../../registry/admission.js';
import type { AdmissionPlugin } from '../plugin.js';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import { matchResources } from './matching.js';
import { PolicyMetrics, type CheckErrorType } from './metrics.js';
import { ParamSource } from './params.js';
import type { ParamKind, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding } from './types.js';
import { validate, type Decision, type FailurePolicy } from './validator.js';

const group = '/apis/admissionregistration.k8s.io/v1';
/** How long a request waits for the first list of policies and bindings, as kube's plugin WaitForReady. */
const readyWaitMs = 10_000;
/** kube cuts a published audit annotation value at 10 KiB. */
const maxAuditAnnotationValueLength = 10 * 1024;
const validationFailureKey = 'validation.policy.admission.k8s.io/validation_failure';

interface Namespace {
  metadata?: Record<string, unknown> & { name?: string; labels?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}

interface Hook {
  policy: ValidatingAdmissionPolicy;
  name: string;
  compiled: CompiledPolicy;
  bindings: ValidatingAdmissionPolicyBinding[];
}

interface Denial {
  policy: string;
  binding?: string;
  message: string;
  reason?: string;
}

export interface PolicyPluginOptions {
  transport: Transport;
  logger: Logger;
  registry: Registry;
}

/** kube's StatusReason → code for a validation's reason; anything else is Invalid's 422. */
const reasonCodes: Readonly<Record<string, number>> = Object.assign(Object.create(null) as Record<string, number>, {
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  Invalid: 422,
});

/** validating.ErrorType: the metric's error_type for a decision. */
function errorType(decision: Decision): CheckErrorType {
  if (decision.evaluation === 'admit') return 'no_error';
  if (decision.message.startsWith('compilation')) return 'compile_error';
  if (decision.message.startsWith('validation failed due to running out of cost budget')) return 'out_of_budget';
  return 'invalid_error';
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class ValidatingAdmissionPolicyPlugin implements AdmissionPlugin {
  readonly name = 'ValidatingAdmissionPolicy';
  private readonly policies: CollectionWatch<ValidatingAdmissionPolicy>;
  private readonly bindings: CollectionWatch<ValidatingAdmissionPolicyBinding>;
  private readonly namespaces: CollectionWatch<Namespace>;
  private readonly params: ParamSource;
  private readonly metrics: PolicyMetrics;
  private readonly logger: Logger;
  private readonly transport: Transport;
  /** Compiled policies by name, kept while their uid and generation stay the same. */
  private readonly compiled = new Map<string, { key: string; compiled: CompiledPolicy }>();
  private current: Hook[] = [];
  private dirty = true;
  private rebuildQueued = false;
  private stopped = false;

  constructor(options: PolicyPluginOptions) {
    this.logger = options.logger.child({ component: 'validating-admission-policy' });
    this.transport = options.transport;
    this.metrics = new PolicyMetrics(options.registry);
    this.params = new ParamSource(options.transport, this.logger);
    const follow = <T extends object>(collection: string, what: string): CollectionWatch<T> =>
      watchCollection<T>(options.transport, {
        collection,
        onChange: () => this.changed(),
        onError: (error) => this.logger.warn({ err: error }, `watch of ${what} failed; retrying`),
      });
    this.policies = follow(`${group}/validatingadmissionpolicies`, 'ValidatingAdmissionPolicies');
    this.bindings = follow(`${group}/validatingadmissionpolicybindings`, 'ValidatingAdmissionPolicyBindings');
    this.namespaces = watchCollection<Namespace>(options.transport, {
      collection: '/api/v1/namespaces',
      onError: (error) => this.logger.warn({ err: error }, 'watch of namespaces failed; retrying'),
    });
  }

  /** Resolves once policies and bindings are listed. */
  async ready(signal?: AbortSignal): Promise<void> {
    await Promise.all([this.policies.whenSynced(signal), this.bindings.whenSynced(signal)]);
  }

  stop(): void {
    this.stopped = true;
    this.policies.stop();
    this.bindings.stop();
    this.namespaces.stop();
    this.params.stop();
  }

  /**
   * Marks the hooks stale and rebuilds them soon, once for a burst of events: compiling and starting param caches
   * then happens beside requests rather than in the first one after a change.
   */
  private changed(): void {
    if (this.dirty && this.rebuildQueued) return;
    this.dirty = true;
    this.rebuildQueued = true;
    setImmediate(() => {
      this.rebuildQueued = false;
      if (!this.stopped && this.policies.synced && this.bindings.synced) this.hooks();
    });
  }

  /** Policies with at least one binding, rebuilt after a change (kube's policy source): compiled ones are reused. */
  private hooks(): Hook[] {
    if (!this.dirty) return this.current;
    this.dirty = false;
    const byPolicy = new Map<string, ValidatingAdmissionPolicyBinding[]>();
    for (const binding of this.bindings.list()) {
      const name = binding.spec?.policyName ?? '';
      byPolicy.set(name, [...(byPolicy.get(name) ?? []), binding]);
    }
    const hooks: Hook[] = [];
    const paramKinds: ParamKind[] = [];
    for (const [name, bindings] of byPolicy) {
      const policy = this.policies.get('', name);
      // Bindings whose policy does not exist (yet) are skipped, as kube skips them.
      if (!policy) continue;
      const key = `${policy.metadata?.uid ?? ''}/${policy.metadata?.generation ?? ''}`;
      let entry = this.compiled.get(name);
      if (entry?.key !== key) {
        entry = { key, compiled: compilePolicy(policy) };
        this.compiled.set(name, entry);
      }
      if (policy.spec?.paramKind) paramKinds.push(policy.spec.paramKind);
      bindings.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      hooks.push({ policy, name, compiled: entry.compiled, bindings });
    }
    for (const name of this.compiled.keys()) if (!byPolicy.has(name) || !this.policies.get('', name)) this.compiled.delete(name);
    this.params.retain(paramKinds);
    hooks.sort((a, b) => a.name.localeCompare(b.name));
    this.current = hooks;
    return hooks;
  }

  handles(): boolean {
    return !this.policies.synced || !this.bindings.synced || this.hooks().length > 0;
  }

  async validate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<AdmissionOutcome> {
    if (!this.policies.synced || !this.bindings.synced) {
      const timeout = AbortSignal.timeout(readyWaitMs);
      try {
        await this.ready(signal ? AbortSignal.any([signal, timeout]) : timeout);
      } catch {
        throw this.forbidden(attributes, 'not yet ready to handle request');
      }
    }
    const outcome: AdmissionOutcome = { warnings: [], auditAnnotations: {} };
    const denials: Denial[] = [];
    let namespace: Promise<Namespace> | undefined;
    const namespaceOf = (): Promise<Namespace> => (namespace ??= this.namespace(attributes.namespace));
    const namespaceLabels = async (): Promise<Record<string, string> | undefined> => {
      // A namespace being created or updated is matched by the labels it is given.
      if (attributes.resource.resource === 'namespaces' && attributes.subResource === '' && (attributes.operation === 'CREATE' || attributes.operation === 'UPDATE')) {
        return attributes.object?.metadata?.labels;
      }
      return (await namespaceOf()).metadata?.labels;
    };
    const configError = (hook: Hook, binding: ValidatingAdmissionPolicyBinding | undefined, error: string): void => {
      const failurePolicy = hook.policy.spec?.failurePolicy ?? 'Fail';
      if (failurePolicy === 'Ignore') return;
      const bindingName = binding?.metadata?.name;
      const message =
        failurePolicy === 'Fail'
          ? `failed to configure ${bindingName === undefined ? 'policy' : 'binding'}: ${error}`
          : `unrecognized failure policy: '${failurePolicy as string}'`;
      denials.push({ policy: hook.name, ...(bindingName === undefined ? {} : { binding: bindingName }), message });
    };
    const request = requestOf(attributes);

    for (const hook of this.hooks()) {
      const constraints = hook.policy.spec?.matchConstraints;
      if (!constraints) {
        configError(hook, undefined, 'policy contained no match constraints, a required field');
        continue;
      }
      try {
        if (!(await matchResources(constraints, attributes, namespaceLabels))) continue;
      } catch (error) {
        configError(hook, undefined, messageOf(error));
        continue;
      }
      const kindError = await this.params.kindError(hook.policy.spec?.paramKind, signal);
      if (kindError !== undefined) {
        configError(hook, undefined, kindError);
        continue;
      }
      const failurePolicy: FailurePolicy = hook.policy.spec?.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail';
      const annotations = new Map<string, string[]>();
      for (const binding of hook.bindings) {
        const bindingName = binding.metadata?.name ?? '';
        try {
          if (binding.spec?.matchResources && !(await matchResources(binding.spec.matchResources, attributes, namespaceLabels))) continue;
        } catch (error) {
          configError(hook, binding, messageOf(error));
          continue;
        }
        let params: unknown[];
        try {
          params = await this.params.collect(hook.policy.spec?.paramKind, binding.spec?.paramRef, attributes.namespace, signal);
        } catch (error) {
          configError(hook, binding, messageOf(error));
          continue;
        }
        // The namespace object a namespace's own request would name is not given to it (kube's special case).
        const isNamespace = attributes.kind.group === '' && attributes.kind.version === 'v1' && attributes.kind.kind === 'Namespace';
        const namespaceObject = attributes.namespace === '' || isNamespace ? null : celNamespace(await namespaceOf());
        for (const param of params) {
          const result = validate(hook.compiled, failurePolicy, {
            object: attributes.object,
            oldObject: attributes.oldObject,
            request,
            params: param,
            namespaceObject,
          });
          result.decisions.forEach((decision, index) => {
            if (decision.action === 'admit') {
              if (decision.evaluation === 'error') this.metrics.observe(hook.name, bindingName, errorType(decision), 'allow', decision.seconds);
              return;
            }
            for (const action of binding.spec?.validationActions ?? []) {
              if (action === 'Deny') {
                denials.push({ policy: hook.name, binding: bindingName, message: decision.message, ...(decision.reason ? { reason: decision.reason } : {}) });
                this.metrics.observe(hook.name, bindingName, errorType(decision), 'deny', decision.seconds);
              } else if (action === 'Audit') {
                const value = JSON.stringify([
                  { message: decision.message, policy: binding.spec?.policyName ?? '', binding: bindingName, expressionIndex: index, validationActions: binding.spec?.validationActions },
                ]);
                // kube's AddAnnotation keeps the first value of a key.
                if (!Object.hasOwn(outcome.auditAnnotations, validationFailureKey)) outcome.auditAnnotations[validationFailureKey] = value;
                this.metrics.observe(hook.name, bindingName, errorType(decision), 'audit', decision.seconds);
              } else if (action === 'Warn') {
                outcome.warnings.push(`Validation failed for ValidatingAdmissionPolicy '${hook.name}' with binding '${bindingName}': ${decision.message}`);
                this.metrics.observe(hook.name, bindingName, errorType(decision), 'warn', decision.seconds);
              }
            }
          });
          for (const annotation of result.auditAnnotations) {
            if (annotation.action === 'publish') {
              const value = annotation.value.slice(0, maxAuditAnnotationValueLength);
              const values = annotations.get(annotation.key) ?? [];
              if (!values.includes(value)) annotations.set(annotation.key, [...values, value]);
            } else if (annotation.action === 'error') {
              denials.push({ policy: hook.name, binding: bindingName, message: annotation.message });
              this.metrics.observe(hook.name, bindingName, 'invalid_error', 'deny', annotation.seconds);
            }
          }
        }
      }
      for (const [key, values] of annotations) {
        const name = `${hook.name}/${key}`;
        if (!Object.hasOwn(outcome.auditAnnotations, name)) outcome.auditAnnotations[name] = values.join(', ');
      }
    }

    const denial = denials[0];
    if (denial === undefined) return outcome;
    // The annotations made so far belong to the refused request's audit event too.
    if (Object.keys(outcome.auditAnnotations).length > 0) attributes.annotate?.(outcome.auditAnnotations);
    const message =
      denial.binding === undefined
        ? `ValidatingAdmissionPolicy '${denial.policy}' denied request: ${denial.message}`
        : `ValidatingAdmissionPolicy '${denial.policy}' with binding '${denial.binding}' denied request: ${denial.message}`;
    const reason = denial.reason || 'Invalid';
    const forbidden = this.forbidden(attributes, message);
    throw new ApiError(reasonCodes[reason] ?? 422, reason, forbidden.message, {
      ...forbidden.status.details,
      causes: [{ message }],
    });
  }

  /** admission.NewForbidden: the name the request gives, else the object's name or generateName, else "Unknown". */
  private forbidden(attributes: AdmissionAttributes, why: string): ApiError {
    const meta = attributes.object?.metadata;
    const name = attributes.name || meta?.name || meta?.generateName || 'Unknown';
    return apiErrors.forbidden({ group: attributes.resource.group, resource: attributes.resource.resource, kind: '' }, name, why);
  }

  /** The request's namespace from the cache, else from kube-apiserver (a namespace created a moment ago). */
  private async namespace(name: string): Promise<Namespace> {
    const cached = this.namespaces.get('', name);
    if (cached) return cached;
    try {
      return await this.transport.json<Namespace>({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(name)}` });
    } catch (error) {
      if (error instanceof StatusError && error.code === 404) throw apiErrors.namespaceNotFound(name);
      throw apiErrors.internal(messageOf(error));
    }
  }
}

/** cel.CreateNamespaceObject: the namespace's spec, status and some of its metadata. */
function celNamespace(namespace: Namespace): Namespace {
  const meta = namespace.metadata ?? {};
  const kept = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers'];
  const metadata: Record<string, unknown> = {};
  for (const key of kept) if (meta[key] !== undefined) metadata[key] = meta[key];
  return { metadata, spec: namespace.spec ?? {}, status: namespace.status ?? {} };
}

/** cel.CreateAdmissionRequest as JSON: AdmissionRequest v1 without object and oldObject. */
function requestOf(a: AdmissionAttributes): Record<string, unknown> {
  const kind = { group: a.kind.group, version: a.kind.version, kind: a.kind.kind };
  const resource = { group: a.resource.group, version: a.resource.version, resource: a.resource.resource };
  const user = a.userInfo;
  return {
    uid: '',
    kind,
    resource,
    ...(a.subResource ? { subResource: a.subResource } : {}),
    requestKind: kind,
    requestResource: resource,
    ...(a.subResource ? { requestSubResource: a.subResource } : {}),
    ...(a.name ? { name: a.name } : {}),
    ...(a.namespace ? { namespace: a.namespace } : {}),
    operation: a.operation,
    userInfo: {
      ...(user.name ? { username: user.name } : {}),
      ...(user.uid ? { uid: user.uid } : {}),
      ...(user.groups.length > 0 ? { groups: user.groups } : {}),
      ...(Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}),
    },
    object: null,
    oldObject: null,
    dryRun: a.dryRun,
    options: a.options,
  };
}
