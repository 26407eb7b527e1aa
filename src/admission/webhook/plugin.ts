// MutatingAdmissionWebhook and ValidatingAdmissionWebhook (k8s.io/apiserver's webhook plugins, v0.32.2): the
// cluster's webhook configurations, read through informers, decide which webhooks a request reaches; each gets an
// AdmissionReview v1 and its answer is checked as kube checks it. Mutating webhooks run one after another and may
// patch the object (JSONPatch), once more for those that asked (reinvocationPolicy IfNeeded) when a later one changed
// it; validating webhooks run at once and the first refusal wins. A webhook that cannot be called refuses the request
// (failurePolicy Fail, a 500 naming it) or is passed over (Ignore); none holds a request past its timeout.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError, apiErrors } from '../../api/meta/errors.js';
import type { KubeObject, Status } from '../../api/meta/types.js';
import { applyJsonPatch, decodeJsonPatch } from '../../registry/json-patch.js';
import { sameJson } from '../../registry/json-tree.js';
import type { AdmissionAttributes, AdmissionOutcome, MutationOutcome } from '../../registry/admission.js';
import type { Transport } from '../../kube/transport.js';
import { watchCollection, type CollectionWatch } from '../../kube/watch-collection.js';
import { compileCel, type CelProgram } from '../cel/index.js';
import type { AdmissionMetrics } from '../metrics.js';
import type { AdmissionPlugin } from '../plugin.js';
import { callWebhook, WebhookCallError } from './client.js';
import { labelSelectorMatches, ruleMatches } from '../rules.js';
import { namespaceSelectorApplies, objectSelectorMatches } from './matching.js';
import { webhooksOf, type Webhook, type WebhookConfiguration } from './types.js';

/** How long a request waits for the first list of configurations, as kube's admission Handler.WaitForReady. */
const readyWaitMs = 10_000;

interface Namespace {
  metadata?: { name?: string; labels?: Record<string, string> };
}

/** The informers both webhook plugins read: each kind of configuration, and namespaces for namespace selectors. */
export class WebhookSources {
  readonly validating: ConfigurationSource;
  readonly mutating: ConfigurationSource;
  private readonly namespaces: CollectionWatch<Namespace & { metadata?: { name?: string } }>;

  constructor(
    private readonly transport: Transport,
    logger: Logger,
  ) {
    const log = logger.child({ component: 'admission-webhooks' });
    this.validating = new ConfigurationSource(transport, 'validatingwebhookconfigurations', log);
    this.mutating = new ConfigurationSource(transport, 'mutatingwebhookconfigurations', log);
    this.namespaces = watchCollection(transport, {
      collection: '/api/v1/namespaces',
      onError: (error) => log.warn({ err: error }, 'watch of namespaces failed; retrying'),
    });
  }

  /** The labels of a request's namespace: from the cache, else from kube-apiserver (a namespace created a moment ago). */
  async namespaceLabels(name: string, signal?: AbortSignal): Promise<Record<string, string> | undefined> {
    const cached = this.namespaces.get('', name);
    if (cached) return cached.metadata?.labels;
    try {
      const namespace = await this.transport.json<Namespace>({ method: 'GET', path: `/api/v1/namespaces/${encodeURIComponent(name)}`, signal });
      return namespace.metadata?.labels;
    } catch (error) {
      const status = (error as { status?: Status }).status;
      if (status?.code === 404) throw apiErrors.namespaceNotFound(name);
      throw apiErrors.internal(error instanceof Error ? error.message : String(error));
    }
  }

  stop(): void {
    this.validating.stop();
    this.mutating.stop();
    this.namespaces.stop();
  }
}

/** One kind of webhook configuration, with its webhooks in kube's order, recomputed when a configuration changes. */
class ConfigurationSource {
  private readonly watch: CollectionWatch<WebhookConfiguration & { metadata?: { name?: string } }>;
  private hooks: Webhook[] = [];
  private readonly programs = new Map<string, CelProgram | string>();

  constructor(transport: Transport, resource: string, logger: Logger) {
    this.watch = watchCollection(transport, {
      collection: `/apis/admissionregistration.k8s.io/v1/${resource}`,
      onChange: () => {
        this.hooks = webhooksOf(this.watch.list());
        this.programs.clear();
      },
      onError: (error) => logger.warn({ err: error, resource }, 'watch of webhook configurations failed; retrying'),
    });
  }

  get synced(): boolean {
    return this.watch.synced;
  }

  whenSynced(signal?: AbortSignal): Promise<void> {
    return this.watch.whenSynced(signal);
  }

  get webhooks(): readonly Webhook[] {
    return this.hooks;
  }

  /** A match condition compiled once per configuration version; a string is the compile error. */
  program(hook: Webhook, index: number, expression: string): CelProgram | string {
    const key = `${hook.uid}/${index}/${expression}`;
    let program = this.programs.get(key);
    if (program === undefined) {
      const compiled = compileCel(expression, { variables: ['object', 'oldObject', 'request', 'authorizer'] });
      program = compiled.ok ? compiled.program : compiled.message;
      this.programs.set(key, program);
    }
    return program;
  }

  stop(): void {
    this.watch.stop();
  }
}

type HookType = 'admit' | 'validating';

interface Verified {
  allowed: boolean;
  patch?: Buffer;
  patchType?: string;
  result?: Partial<Status>;
  warnings: string[];
  auditAnnotations: Record<string, string>;
}

abstract class WebhookPlugin implements AdmissionPlugin {
  abstract readonly name: string;
  protected abstract readonly type: HookType;

  constructor(
    protected readonly source: ConfigurationSource,
    protected readonly sources: WebhookSources,
    protected readonly metrics: AdmissionMetrics | undefined,
    protected readonly logger: Logger,
  ) {}

  handles(): boolean {
    return !this.source.synced || this.source.webhooks.length > 0;
  }

  /** WaitForReady: the first list of configurations, or a refusal after kube's ten seconds. */
  protected async ready(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<void> {
    if (this.source.synced) return;
    const wait = AbortSignal.timeout(readyWaitMs);
    try {
      await this.source.whenSynced(signal ? AbortSignal.any([signal, wait]) : wait);
    } catch {
      throw forbidden(attributes, 'not yet ready to handle request');
    }
  }

  /**
   * ShouldCallHook. kube looks at the selectors before the rules but lets a namespace lookup's error count only for a
   * webhook whose rules match; rules first gives the same answers without reading namespaces for webhooks of other
   * resources (pods' webhooks are in every cluster). Then matchConditions.
   */
  protected async shouldCall(hook: Webhook, attributes: AdmissionAttributes, signal?: AbortSignal): Promise<boolean> {
    const spec = hook.spec;
    if (!(spec.rules ?? []).some((rule) => ruleMatches(rule, attributes))) return false;
    if (!objectSelectorMatches(spec.objectSelector, attributes)) return false;
    if (namespaceSelectorApplies(spec.namespaceSelector, attributes)) {
      if (!labelSelectorMatches(spec.namespaceSelector, await this.sources.namespaceLabels(attributes.namespace, signal))) return false;
    }
    const conditions = spec.matchConditions ?? [];
    if (conditions.length === 0) return true;
    const activation = { object: attributes.object, oldObject: attributes.oldObject, request: celRequest(attributes) };
    const errors: string[] = [];
    for (const [index, condition] of conditions.entries()) {
      const program = this.source.program(hook, index, condition.expression);
      if (typeof program === 'string') {
        errors.push(`compilation failed: ${program}`);
        continue;
      }
      const result = program.evaluate(activation);
      if (!result.ok) errors.push(`expression '${condition.expression}' resulted in error: ${result.message}`);
      else if (result.value === false) return false;
      else if (result.value !== true) errors.push(`expression '${condition.expression}' resulted in error: no such overload`);
    }
    if (errors.length === 0) return true;
    if (hook.failurePolicy === 'Ignore') return false;
    this.logger.warn({ webhook: spec.name, errors }, 'failed evaluating match conditions, failing closed');
    throw forbidden(attributes, errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`);
  }

  /** One call with its answer checked (callHook up to the answer's allowed); call failures raise WebhookCallError. */
  protected async call(hook: Webhook, attributes: AdmissionAttributes, signal?: AbortSignal): Promise<Verified> {
    const spec = hook.spec;
    if (attributes.dryRun) {
      if (spec.sideEffects === undefined) throw new WebhookCallError(spec.name, 'Webhook SideEffects is nil', apiErrors.badRequest('Webhook SideEffects is nil'));
      if (spec.sideEffects !== 'None' && spec.sideEffects !== 'NoneOnDryRun') {
        throw apiErrors.badRequest(`admission webhook ${JSON.stringify(spec.name)} does not support dry run`);
      }
    }
    const version = (spec.admissionReviewVersions ?? []).find((v) => v === 'v1' || v === 'v1beta1');
    if (!version) {
      throw new WebhookCallError(
        spec.name,
        'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
        apiErrors.badRequest('error creating admission objects'),
      );
    }
    const uid = randomUUID();
    const body = JSON.stringify(reviewOf(uid, version, attributes));
    const answer = await callWebhook({ name: spec.name, config: spec.clientConfig, body, timeoutSeconds: hook.timeoutSeconds, signal });
    const invalid = (why: string): WebhookCallError =>
      new WebhookCallError(spec.name, `received invalid webhook response: ${why}`, apiErrors.serviceUnavailable('error validating webhook response'));
    return verifyResponse(answer, uid, version, this.type === 'admit', invalid);
  }

  /** A call's outcome in kube's metrics; the refusal, if any, as kube raises it. */
  protected observe(hook: Webhook, attributes: AdmissionAttributes, start: number, error: unknown): void {
    const seconds = (performance.now() - start) / 1000;
    const name = hook.spec.name;
    const op = attributes.operation;
    if (error === undefined) return this.metrics?.observeWebhook(name, this.type, op, seconds, false, 200);
    if (error instanceof WebhookCallError) {
      const rejected = hook.failurePolicy !== 'Ignore';
      if (rejected && !error.cancelled) this.metrics?.observeWebhookRejection(name, this.type, op, 'calling_webhook_error', error.status.code);
      this.metrics?.observeWebhook(name, this.type, op, seconds, rejected, error.status.code);
    } else if (error instanceof Rejection) {
      this.metrics?.observeWebhookRejection(name, this.type, op, 'no_error', error.error.code);
      this.metrics?.observeWebhook(name, this.type, op, seconds, true, error.error.code);
    } else {
      this.metrics?.observeWebhookRejection(name, this.type, op, 'apiserver_internal_error', 0);
      this.metrics?.observeWebhook(name, this.type, op, seconds, true, 0);
    }
  }

  protected failedOpen(hook: Webhook, error: WebhookCallError): void {
    this.logger.warn({ webhook: hook.spec.name, err: error.message }, 'failed calling webhook, failing open');
    if (!error.cancelled) this.metrics?.webhookFailOpen.inc({ name: hook.spec.name, type: this.type });
  }
}

/** A webhook's refusal (kube's ErrWebhookRejection), carrying the Status returned to the client. */
class Rejection extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

export class ValidatingWebhookPlugin extends WebhookPlugin {
  readonly name = 'ValidatingAdmissionWebhook';
  protected readonly type = 'validating';

  constructor(sources: WebhookSources, metrics: AdmissionMetrics | undefined, logger: Logger) {
    super(sources.validating, sources, metrics, logger.child({ component: 'admission-webhooks', plugin: 'ValidatingAdmissionWebhook' }));
  }

  async validate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<AdmissionOutcome> {
    await this.ready(attributes, signal);
    const outcome: AdmissionOutcome = { warnings: [], auditAnnotations: {} };
    const relevant: Webhook[] = [];
    for (const hook of this.source.webhooks) if (await this.shouldCall(hook, attributes, signal)) relevant.push(hook);
    if (relevant.length === 0) return outcome;
    const results = await Promise.all(relevant.map((hook, index) => this.dispatch(hook, index, attributes, outcome, signal)));
    const refusal = results.find((r) => r !== undefined);
    if (refusal) throw refusal;
    return outcome;
  }

  /** One webhook; resolves with its refusal rather than rejecting, so every call finishes before the answer. */
  private async dispatch(hook: Webhook, index: number, attributes: AdmissionAttributes, outcome: AdmissionOutcome, signal?: AbortSignal): Promise<ApiError | undefined> {
    const start = performance.now();
    let error: unknown;
    try {
      const verified = await this.call(hook, attributes, signal);
      for (const [key, value] of Object.entries(verified.auditAnnotations)) outcome.auditAnnotations[`${hook.spec.name}/${key}`] = value;
      outcome.warnings.push(...verified.warnings);
      if (!verified.allowed) error = new Rejection(deniedBy(hook.spec.name, verified.result));
    } catch (caught) {
      error = caught;
    }
    this.observe(hook, attributes, start, error);
    if (error === undefined) return undefined;
    if (error instanceof WebhookCallError) {
      if (hook.failurePolicy === 'Ignore') {
        this.failedOpen(hook, error);
        if (!error.cancelled) outcome.auditAnnotations[`failed-open.validating.webhook.admission.k8s.io/round_0_index_${index}`] = hook.spec.name;
        return undefined;
      }
      this.logger.warn({ webhook: hook.spec.name, err: error.message }, 'failed calling webhook, failing closed');
      return apiErrors.internal(error.message);
    }
    if (error instanceof Rejection) return error.error;
    return error instanceof ApiError ? error : apiErrors.internal(String(error));
  }
}

export class MutatingWebhookPlugin extends WebhookPlugin {
  readonly name = 'MutatingAdmissionWebhook';
  protected readonly type = 'admit';

  constructor(sources: WebhookSources, metrics: AdmissionMetrics | undefined, logger: Logger) {
    super(sources.mutating, sources, metrics, logger.child({ component: 'admission-webhooks', plugin: 'MutatingAdmissionWebhook' }));
  }

  async mutate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<MutationOutcome> {
    await this.ready(attributes, signal);
    const outcome: MutationOutcome = { object: attributes.object, warnings: [], auditAnnotations: {} };
    // kube's reinvocation context: webhooks with IfNeeded called before a later change are called once more.
    const reinvocable = new Set<string>();
    const reinvoke = new Set<string>();
    const hooks = this.source.webhooks;
    let changedAny = false;
    for (const round of [0, 1]) {
      if (round === 1 && !changedAny) break;
      for (const [index, hook] of hooks.entries()) {
        if (!(await this.shouldCall(hook, attributes, signal))) continue;
        if (round === 1 && !reinvoke.has(hook.uid)) continue;
        const changed = await this.dispatch(hook, round, index, attributes, outcome, signal);
        if (changed) {
          changedAny = true;
          for (const uid of reinvocable) reinvoke.add(uid);
          reinvocable.clear();
        }
        if (hook.spec.reinvocationPolicy === 'IfNeeded') reinvocable.add(hook.uid);
      }
    }
    outcome.object = attributes.object;
    return outcome;
  }

  /** One webhook; resolves with whether it changed the object, which it writes into `attributes.object`. */
  private async dispatch(
    hook: Webhook,
    round: number,
    index: number,
    attributes: AdmissionAttributes,
    outcome: MutationOutcome,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const start = performance.now();
    const name = hook.spec.name;
    let error: unknown;
    let changed = false;
    let called = false;
    try {
      const verified = await this.call(hook, attributes, signal);
      called = true;
      for (const [key, value] of Object.entries(verified.auditAnnotations)) outcome.auditAnnotations[`${name}/${key}`] = value;
      outcome.warnings.push(...verified.warnings);
      if (!verified.allowed) throw new Rejection(deniedBy(name, verified.result));
      changed = this.applyPatch(hook, verified, attributes);
    } catch (caught) {
      error = caught;
    }
    if (called || error instanceof WebhookCallError || error instanceof Rejection) {
      outcome.auditAnnotations[`mutation.webhook.admission.k8s.io/round_${round}_index_${index}`] = JSON.stringify({
        configuration: hook.configuration,
        webhook: name,
        mutated: changed,
      });
    }
    this.observe(hook, attributes, start, error);
    if (error === undefined) return changed;
    if (error instanceof WebhookCallError) {
      if (hook.failurePolicy === 'Ignore') {
        this.failedOpen(hook, error);
        if (!error.cancelled) outcome.auditAnnotations[`failed-open.mutation.webhook.admission.k8s.io/round_${round}_index_${index}`] = name;
        if (signal?.aborted) throw apiErrors.timeout('request did not complete within requested timeout');
        return false;
      }
      this.logger.warn({ webhook: name, err: error.message }, 'failed calling webhook, failing closed');
      throw apiErrors.internal(error.message);
    }
    if (error instanceof Rejection) throw error.error;
    throw error instanceof ApiError ? error : apiErrors.internal(String(error));
  }

  /** The webhook's JSONPatch applied to the object; whether that changed it. */
  private applyPatch(hook: Webhook, verified: Verified, attributes: AdmissionAttributes): boolean {
    const name = hook.spec.name;
    if (!verified.patch || verified.patch.length === 0) return false;
    let operations: unknown;
    try {
      operations = JSON.parse(verified.patch.toString('utf8'));
      decodeJsonPatch(operations);
    } catch (error) {
      throw apiErrors.internal((error as Error).message);
    }
    if (!Array.isArray(operations) || operations.length === 0) return false;
    if (attributes.object === null) {
      throw apiErrors.internal(`admission webhook ${JSON.stringify(name)} attempted to modify the object, which is not supported for this operation`);
    }
    if (verified.patchType !== 'JSONPatch') {
      throw new WebhookCallError(name, `unsupported patch type ${JSON.stringify(verified.patchType)}`, deniedBy(name, verified.result));
    }
    let patched: unknown;
    try {
      patched = applyJsonPatch(attributes.object, operations);
    } catch (error) {
      throw apiErrors.internal((error as Error).message);
    }
    if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) {
      throw apiErrors.internal('json: cannot unmarshal non-object into Go value of type map[string]interface {}');
    }
    const changed = !sameJson(attributes.object, patched);
    attributes.object = patched as KubeObject;
    return changed;
  }
}

/** `<resource>.<group> "<name>" is forbidden: <why>`, as admission.NewForbidden words it. */
function forbidden(attributes: AdmissionAttributes, why: string): ApiError {
  return apiErrors.forbidden({ group: attributes.resource.group, resource: attributes.resource.resource, kind: attributes.kind.kind }, attributes.name, why);
}

/** webhookerrors.ToStatusErr: the webhook's Status, at least 400 and Failure, its message prefixed with who denied. */
function deniedBy(webhook: string, result: Partial<Status> | undefined): ApiError {
  const deniedBy = `admission webhook ${JSON.stringify(webhook)} denied the request`;
  const code = typeof result?.code === 'number' && result.code >= 400 ? result.code : 400;
  const message = result?.message ? `${deniedBy}: ${result.message}` : result?.reason ? `${deniedBy}: ${result.reason}` : `${deniedBy} without explanation`;
  const error = new ApiError(code, result?.reason ?? '', message, result?.details);
  if (!result?.reason) delete error.status.reason;
  if (result?.metadata && typeof result.metadata === 'object') error.status.metadata = result.metadata;
  return error;
}

/** The request the webhook is sent (CreateV1AdmissionReview), omitting what Go's omitempty omits. */
function reviewOf(uid: string, version: string, attributes: AdmissionAttributes): unknown {
  const user = attributes.userInfo;
  return {
    kind: 'AdmissionReview',
    apiVersion: `admission.k8s.io/${version}`,
    request: {
      uid,
      kind: attributes.kind,
      resource: attributes.resource,
      ...(attributes.subResource ? { subResource: attributes.subResource } : {}),
      requestKind: attributes.kind,
      requestResource: attributes.resource,
      ...(attributes.subResource ? { requestSubResource: attributes.subResource } : {}),
      ...(attributes.name ? { name: attributes.name } : {}),
      ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
      operation: attributes.operation,
      userInfo: {
        ...(user.name ? { username: user.name } : {}),
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.groups.length > 0 ? { groups: user.groups } : {}),
        ...(Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}),
      },
      object: attributes.object,
      oldObject: attributes.oldObject,
      dryRun: attributes.dryRun,
      options: attributes.options,
    },
  };
}

/** CEL's `request` for matchConditions: the AdmissionRequest's fields as kube's CreateAdmissionRequest fills them. */
function celRequest(attributes: AdmissionAttributes): Record<string, unknown> {
  const user = attributes.userInfo;
  return {
    kind: attributes.kind,
    resource: attributes.resource,
    subResource: attributes.subResource,
    requestKind: attributes.kind,
    requestResource: attributes.resource,
    requestSubResource: attributes.subResource,
    name: attributes.name,
    namespace: attributes.namespace,
    operation: attributes.operation,
    userInfo: { username: user.name, uid: user.uid, groups: user.groups, extra: user.extra },
    dryRun: attributes.dryRun,
    options: attributes.options,
  };
}

/** VerifyAdmissionResponse, with the decoding checks client-go makes before it. */
function verifyResponse(answer: unknown, uid: string, version: string, mutating: boolean, invalid: (why: string) => WebhookCallError): Verified {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) throw invalid('webhook response was absent');
  const review = answer as { apiVersion?: unknown; kind?: unknown; response?: Record<string, unknown> | null };
  const response = review.response;
  if (response === undefined || response === null || typeof response !== 'object') throw invalid('webhook response was absent');
  if (version === 'v1') {
    if (response.uid !== uid) throw invalid(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(typeof response.uid === 'string' ? response.uid : '')}`);
    if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
      const [group, ver] = typeof review.apiVersion === 'string' && review.apiVersion.includes('/') ? review.apiVersion.split('/', 2) : ['', String(review.apiVersion ?? '')];
      throw invalid(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}/${ver}, Kind=${String(review.kind ?? '')}`);
    }
  }
  const patch = typeof response.patch === 'string' && response.patch !== '' ? Buffer.from(response.patch, 'base64') : undefined;
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined;
  if (mutating && version === 'v1') {
    if (patch && response.patchType === undefined) throw invalid('webhook returned response.patch but not response.patchType');
    if (!patch && response.patchType !== undefined && response.patchType !== null) throw invalid('webhook returned response.patchType but not response.patch');
    if (patchType === '') throw invalid('webhook returned invalid response.patchType of ""');
  } else if (!mutating) {
    if (patch) throw invalid('validating webhook may not return response.patch');
    if (response.patchType !== undefined && response.patchType !== null) throw invalid('validating webhook may not return response.patchType');
  }
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const annotations: Record<string, string> = Object.create(null) as Record<string, string>;
  if (response.auditAnnotations && typeof response.auditAnnotations === 'object') {
    for (const [key, value] of Object.entries(response.auditAnnotations)) if (typeof value === 'string') annotations[key] = value;
  }
  return {
    allowed: response.allowed === true,
    ...(patch ? { patch } : {}),
    ...(mutating ? { patchType: patchType ?? (version === 'v1beta1' && patch ? 'JSONPatch' : undefined) } : {}),
    // AdmissionResponse.Result is `status` on the wire.
    ...(response.status && typeof response.status === 'object' ? { result: response.status as Partial<Status> } : {}),
    warnings: strings(response.warnings),
    auditAnnotations: annotations,
  };
}
