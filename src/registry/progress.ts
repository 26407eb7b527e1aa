// The progress subresource (jobs/progress): a workload's rank 0 reports step, epochs, metrics and an ETA as a small
// object of its own kind, kept in the parent's status.progress. A trainer may report on every step, so writes are
// throttled per object: the first report of a window is stored at once, later ones are answered with the state they
// make (200, never an error) and coalesced into one write at the end of the window, so a thousand reports in a
// second cost two writes and the last report is never lost while the server runs. Windows are kept per server
// process: with several replicas or workers (--workers) each one throttles the reports it receives, so a job may get
// that many writes per window, and a coalesced report never replaces a later one another process stored.
import type { Logger } from 'pino';
import { apiErrors } from '../api/meta/errors.js';
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import { toMetaTime } from '../api/meta/time.js';
import type { KubeObject } from '../api/meta/types.js';
import type { ProgressStrategy } from './strategy.js';
import type { ApplyOptions, Store, WriteOptions, WriteResult } from './store.js';
import type { GroupVersionKind, Subresource } from './subresources.js';

/** What a report carries; `lastUpdateTime` is the server's. */
export interface ProgressFields {
  step?: number;
  totalSteps?: number;
  epoch?: number;
  totalEpochs?: number;
  metrics?: Record<string, number>;
  estimatedRemainingSeconds?: number;
  lastUpdateTime?: string;
}

const countFields = ['step', 'totalSteps', 'epoch', 'totalEpochs', 'estimatedRemainingSeconds'] as const;
const known = new Set<string>(['apiVersion', 'kind', 'metadata', ...countFields, 'metrics', 'lastUpdateTime']);
const maxMetrics = 32;
const metricName = /^[A-Za-z_][A-Za-z0-9_./-]{0,62}$/;

export interface ProgressOptions {
  /** At most one stored write per object per this many milliseconds; 0 stores every report. */
  intervalMs: number;
  logger: Logger;
  /** The clock, in milliseconds. */
  now?: () => number;
}

interface Window {
  uid: string;
  /** The latest report accepted, stored or not: what the next one is merged onto. */
  latest: ProgressFields;
  /** A report accepted since the last write, to be stored when the window ends. */
  pending?: { fields: ProgressFields; fieldManager: string };
  /** Where the rate behind an estimated ETA is measured from: a report's step and when it came. */
  anchor: { step: number; at: number };
  timer?: NodeJS.Timeout;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The fields of status.progress, in their declared order, whatever else the object held. */
function fieldsOf(value: unknown): ProgressFields {
  if (!isRecord(value)) return {};
  const fields: ProgressFields = {};
  for (const key of countFields) if (typeof value[key] === 'number') fields[key] = value[key];
  if (isRecord(value.metrics)) {
    const metrics = Object.create(null) as Record<string, number>;
    for (const [name, metric] of Object.entries(value.metrics)) if (typeof metric === 'number') metrics[name] = metric;
    fields.metrics = metrics;
  }
  if (typeof value.lastUpdateTime === 'string') fields.lastUpdateTime = value.lastUpdateTime;
  return fields;
}

export class ProgressSubresource implements Subresource {
  readonly name = 'progress';
  readonly gvk: GroupVersionKind;
  readonly schemaName: string;
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(
    private readonly store: Store,
    strategy: ProgressStrategy,
    private readonly options: ProgressOptions,
  ) {
    const { group, version } = store.strategy.info;
    this.gvk = { group, version, kind: strategy.kind };
    this.schemaName = strategy.schemaName;
    this.now = options.now ?? Date.now;
    this.log = options.logger;
  }

  /** The parent's stored progress, as the subresource's kind. */
  private view(parent: KubeObject, fields: ProgressFields = fieldsOf(parent.status?.progress)): KubeObject {
    const { name, namespace, uid, resourceVersion, creationTimestamp } = parent.metadata;
    return {
      apiVersion: `${this.gvk.group}/${this.gvk.version}`,
      kind: this.gvk.kind,
      metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
      ...fields,
    };
  }

  async get(namespace: string, name: string, resourceVersion = ''): Promise<KubeObject> {
    return this.view((await this.store.get(namespace, name, resourceVersion)).object);
  }

  update(namespace: string, name: string, body: unknown, options: WriteOptions): Promise<WriteResult> {
    return this.report(namespace, name, () => body, options);
  }

  patch(namespace: string, name: string, patch: (current: KubeObject) => unknown, options: WriteOptions): Promise<WriteResult> {
    return this.report(namespace, name, patch, options);
  }

  /** Reports carry no ownership worth tracking field by field: the whole object is rank 0's. */
  apply(): Promise<WriteResult> {
    return Promise.reject(apiErrors.unsupportedMediaType(['application/json-patch+json', 'application/merge-patch+json']));
  }

  /** Clears the timers of open windows; their reports are not stored. */
  stop(): void {
    for (const window of this.windows.values()) clearTimeout(window.timer);
    this.windows.clear();
  }

  private async report(namespace: string, name: string, wantedOf: (current: KubeObject) => unknown, options: WriteOptions): Promise<WriteResult> {
    const key = `${namespace}/${name}`;
    const parent = (await this.store.get(namespace, name)).object;
    let window = this.windows.get(key);
    if (window && window.uid !== parent.metadata.uid) {
      clearTimeout(window.timer);
      this.windows.delete(key);
      window = undefined;
    }
    const previous = window?.latest ?? fieldsOf(parent.status?.progress);
    const current = this.view(parent, previous);
    let wanted = wantedOf(current);
    if (!isRecord(wanted)) throw apiErrors.badRequest(`the body of a ${this.gvk.kind} must be a JSON object`);
    const warnings = this.unknownFields(wanted, options);
    if (options.admission && this.store.admission) {
      const attributes = { ...this.store.attributes('UPDATE', options, namespace, name, wanted as KubeObject, current, 'progress'), kind: this.gvk };
      const mutated = await this.store.admission.mutate(attributes, options.signal);
      warnings.push(...mutated.warnings);
      if (mutated.object) wanted = mutated.object;
      warnings.push(...(await this.store.admission.validate({ ...attributes, object: wanted as KubeObject }, options.signal)).warnings);
    }
    const body = wanted as Record<string, unknown>;
    const errors = validate(body);
    if (errors.length > 0) throw apiErrors.invalid({ group: this.gvk.group, resource: `${this.store.strategy.info.resource}/progress`, kind: this.gvk.kind }, name, errors);
    const rv = isRecord(body.metadata) ? body.metadata.resourceVersion : undefined;
    if (typeof rv === 'string' && rv !== '' && rv !== parent.metadata.resourceVersion) throw apiErrors.modified(this.store.ref, name);

    const now = this.now();
    const fields = fieldsOf(body);
    fields.lastUpdateTime = toMetaTime(new Date(now));
    const anchor = window?.anchor ?? anchorOf(previous);
    this.estimate(fields, previous, anchor, now);
    const fieldManager = options.fieldManager ?? '';

    if (options.dryRun || this.options.intervalMs === 0) {
      const result = await this.write(namespace, name, parent.metadata.uid ?? '', fields, { ...options, fieldManager });
      return { ...result, warnings: [...warnings, ...result.warnings] };
    }
    if (window) {
      // Inside the window: answered now, stored when it ends.
      window.latest = fields;
      window.pending = { fields, fieldManager };
      if (fields.step !== undefined && fields.step !== anchor.step && now - anchor.at >= 1000) window.anchor = { step: fields.step, at: now };
      return { object: this.view(parent, fields), warnings, created: false };
    }
    const opened: Window = { uid: parent.metadata.uid ?? '', latest: fields, anchor: { step: fields.step ?? 0, at: now } };
    this.windows.set(key, opened);
    this.arm(key, opened);
    try {
      const result = await this.write(namespace, name, opened.uid, fields, { ...options, fieldManager });
      return { ...result, warnings: [...warnings, ...result.warnings] };
    } catch (error) {
      if (!opened.pending && this.windows.get(key) === opened) {
        clearTimeout(opened.timer);
        this.windows.delete(key);
      }
      throw error;
    }
  }

  private arm(key: string, window: Window): void {
    window.timer = setTimeout(() => this.windowEnded(key, window), this.options.intervalMs);
    window.timer.unref();
  }

  private windowEnded(key: string, window: Window): void {
    if (this.windows.get(key) !== window) return;
    const pending = window.pending;
    if (!pending) {
      this.windows.delete(key);
      return;
    }
    window.pending = undefined;
    this.arm(key, window);
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    this.write(namespace, name, window.uid, pending.fields, { fieldManager: pending.fieldManager }, true).catch((error: unknown) => {
      this.log.warn({ err: error, namespace, name }, 'coalesced progress not stored');
    });
  }

  /**
   * Stores `fields` as the parent's status.progress, unless the parent is no longer the object they were reported for.
   * A coalesced report (`coalesced`) is not stored over a later one: windows are per server process, and another
   * replica or worker may have stored a report accepted after it.
   */
  private async write(namespace: string, name: string, uid: string, fields: ProgressFields, options: WriteOptions, coalesced = false): Promise<WriteResult> {
    const { admission: _admission, ...rest } = options;
    const result = await this.store.patch(
      namespace,
      name,
      (current) => {
        if (uid && current.metadata.uid !== uid) throw apiErrors.conflict(this.store.ref, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ''}`);
        const stored = fieldsOf(current.status?.progress).lastUpdateTime;
        if (coalesced && stored !== undefined && fields.lastUpdateTime !== undefined && stored > fields.lastUpdateTime) return current;
        return { ...current, status: { ...(current.status ?? {}), progress: { ...fields } } };
      },
      rest,
      true,
    );
    return { ...result, object: this.view(result.object) };
  }

  /** An ETA is the trainer's when it sends one with its step; otherwise it comes from the steps done since the anchor. */
  private estimate(fields: ProgressFields, previous: ProgressFields, anchor: { step: number; at: number }, now: number): void {
    const sentWithStep = fields.estimatedRemainingSeconds !== undefined && (fields.estimatedRemainingSeconds !== previous.estimatedRemainingSeconds || fields.step === previous.step);
    if (sentWithStep) return;
    delete fields.estimatedRemainingSeconds;
    const { step, totalSteps } = fields;
    if (step === undefined || totalSteps === undefined || step <= anchor.step || now <= anchor.at) {
      if (step !== undefined && step === previous.step && previous.estimatedRemainingSeconds !== undefined) fields.estimatedRemainingSeconds = previous.estimatedRemainingSeconds;
      return;
    }
    const perStep = (now - anchor.at) / 1000 / (step - anchor.step);
    fields.estimatedRemainingSeconds = Math.max(0, Math.round((totalSteps - step) * perStep));
  }

  private unknownFields(body: Record<string, unknown>, options: WriteOptions): string[] {
    const unknown = Object.keys(body).filter((key) => !known.has(key));
    if (unknown.length === 0 || options.fieldValidation === 'Ignore') return [];
    if (options.fieldValidation === 'Strict') throw apiErrors.strictDecoding(unknown);
    return unknown.map((field) => `unknown field "${field}"`);
  }
}

function anchorOf(previous: ProgressFields): { step: number; at: number } {
  const at = previous.lastUpdateTime ? Date.parse(previous.lastUpdateTime) : Number.NaN;
  return { step: previous.step ?? 0, at: Number.isNaN(at) ? Number.POSITIVE_INFINITY : at };
}

function validate(body: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  for (const key of countFields) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) errors.push(fieldErrors.invalid(key, value, 'must be an integer'));
    else if (value < 0) errors.push(fieldErrors.invalid(key, value, 'must be greater than or equal to 0'));
  }
  const { step, totalSteps, metrics } = body;
  if (typeof step === 'number' && typeof totalSteps === 'number' && step > totalSteps) {
    errors.push(fieldErrors.invalid('step', step, 'must be less than or equal to totalSteps'));
  }
  if (metrics !== undefined && metrics !== null) {
    if (!isRecord(metrics)) {
      errors.push(fieldErrors.invalid('metrics', metrics, 'must be a map of metric names to numbers'));
    } else {
      const names = Object.keys(metrics);
      if (names.length > maxMetrics) errors.push({ type: 'FieldValueTooMany', field: 'metrics', value: names.length, detail: `must have at most ${maxMetrics} items` });
      for (const name of names) {
        const value = metrics[name];
        if (!metricName.test(name)) errors.push(fieldErrors.invalid(`metrics[${name}]`, name, 'a metric name must start with a letter or underscore and hold at most 63 letters, digits, "_", ".", "/" or "-"'));
        else if (typeof value !== 'number' || !Number.isFinite(value)) errors.push(fieldErrors.invalid(`metrics[${name}]`, value ?? null, 'must be a finite number'));
      }
    }
  }
  return errors;
}
