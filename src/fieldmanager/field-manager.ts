// Field ownership of one resource (or subresource), layered as kube-apiserver's default field manager: every
// write records who changed what in metadata.managedFields; server-side apply merges, prunes and conflicts; the
// kubectl client-side → server-side migration is honoured through the last-applied annotation.
import type { Logger } from 'pino';
import type { KubeObject, ManagedFieldsEntry } from '../api/meta/types.js';
import { toMetaTime } from '../api/meta/time.js';
import { ApiError, apiErrors } from '../api/meta/errors.js';
import { FieldSet } from './field-set.js';
import {
  cloneManaged,
  decodeManagedFields,
  emptyManaged,
  encodeManagedFields,
  isResetManagedFields,
  managerIdentifier,
  printManager,
  type Managed,
} from './managed-fields.js';
import { pathString } from './path.js';
import type { SmdSchema } from './schema.js';
import { runToEnd, type Steps } from './steps.js';
import { TypedValueError } from './typed.js';
import { ConflictsError, Updater, type Conflict } from './updater.js';
import { goJson, type Json } from './value.js';

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
const maxUpdateManagers = 10;
const ancientChanges = 'ancient-changes';
const beforeFirstApply = 'before-first-apply';
const currentOperation = 'current-operation';
const maxAnnotationsBytes = 256 * 1024;

/** Fields that describe the object rather than configure it: nobody owns them. */
const strippedFields = FieldSet.of(
  [{ field: 'apiVersion' }],
  [{ field: 'kind' }],
  [{ field: 'metadata' }],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => [
    { field: 'metadata' },
    { field: f },
  ]),
);

export interface FieldManagerOptions {
  schema: SmdSchema;
  /** Component name of the kind's schema, e.g. io.example.ai.v1alpha1.Notebook. */
  typeName: string;
  apiVersion: string;
  kind: string;
  /** "" for the main resource, else "status" or "scale". */
  subresource: string;
  /** Top-level fields the strategy resets on this endpoint. */
  resetFields: string[];
  logger: Logger;
}

export class FieldManager {
  private readonly updater: Updater;

  constructor(private readonly options: FieldManagerOptions) {
    const reset = options.resetFields.length > 0 ? FieldSet.of(...options.resetFields.map((f) => [{ field: f }])) : undefined;
    this.updater = new Updater(options.schema, { named: options.typeName }, reset);
  }

  /** An empty object of the kind: what a create is compared against. */
  emptyObject(): KubeObject {
    return { apiVersion: this.options.apiVersion, kind: this.options.kind } as KubeObject;
  }

  /**
   * Records the fields an update (create, replace, merge or JSON patch, /status write) changed as owned by
   * `manager`. Never fails the write: ownership that cannot be computed is dropped, as kube-apiserver does.
   */
  update(live: KubeObject, next: KubeObject, manager: string): KubeObject {
    return runToEnd(this.updateSteps(live, next, manager));
  }

  /** update, in steps between which a caller may let the event loop run. */
  *updateSteps(live: KubeObject, next: KubeObject, manager: string): Steps<KubeObject> {
    try {
      let managed = this.liveOrNew(live, next);
      const object = withoutManagedFields(next);
      if (managed.fields.size === 0 && live.metadata?.uid) return object;
      yield;
      managed = yield* this.recordUpdate(live, object, managed, manager);
      yield;
      return withManagedFields(object, managed);
    } catch (error) {
      this.options.logger.error({ err: error, name: next.metadata?.name }, 'failed to update managedFields');
      return withoutManagedFields(next);
    }
  }

  /** Server-side apply of `config` onto `live` (an empty object when creating). */
  apply(live: KubeObject, config: KubeObject, manager: string, force: boolean): KubeObject {
    return runToEnd(this.applySteps(live, config, manager, force));
  }

  /** apply, in steps between which a caller may let the event loop run. */
  *applySteps(live: KubeObject, config: KubeObject, manager: string, force: boolean): Steps<KubeObject> {
    let managed: Managed;
    try {
      managed = decodeManagedFields(live.metadata?.managedFields);
    } catch (error) {
      throw apiErrors.internal(`failed to decode managed fields: ${(error as Error).message}`);
    }
    this.checkConfig(config);
    try {
      this.updater.typedValues.validateApplied(config as unknown as Json, { named: this.options.typeName });
    } catch (error) {
      if (error instanceof TypedValueError) {
        // kube-apiserver answers this with a 500; it is the client's mistake, so 400 with the same words.
        const id = `${config.metadata?.namespace ?? ''}/${config.metadata?.name ?? ''}; ${gvkString(config.apiVersion, config.kind)}`;
        throw apiErrors.badRequest(`failed to create typed patch object (${id}): ${error.message}`);
      }
      throw error;
    }
    yield;
    let result: { object: KubeObject; managed: Managed };
    try {
      result = yield* this.applyOnce(live, config, cloneManaged(managed), manager, force);
    } catch (error) {
      if (!(error instanceof ConflictsError)) throw error;
      if (manager !== 'kubectl') throw conflictError(error.conflicts);
      // kubectl moving from client-side to server-side apply: fields it set last time, unchanged since, are its own.
      const allowed = this.allowedFromLastApplied(live);
      const remaining = allowed ? error.conflicts.filter((c) => !allowed.has(c.path)) : error.conflicts;
      if (remaining.length > 0) throw conflictError(remaining);
      result = yield* this.applyOnce(live, config, cloneManaged(managed), manager, true);
    }
    yield;
    let object = result.object;
    if (manager === 'kubectl' && object.metadata?.annotations?.[lastAppliedAnnotation]) object = withLastApplied(object, config);
    const applied = withManagedFields(object, result.managed);
    yield;
    return applied;
  }

  /** An apply configuration must be of this kind and version and must not carry managedFields. */
  checkConfig(config: { apiVersion?: unknown; kind?: unknown; metadata?: { managedFields?: unknown } }): void {
    const { apiVersion, kind } = this.options;
    if (config.apiVersion !== apiVersion || config.kind !== kind) {
      throw apiErrors.badRequest(`invalid object type: ${gvkString(config.apiVersion, config.kind)}`);
    }
    if (config.metadata?.managedFields !== undefined) throw apiErrors.badRequest('metadata.managedFields must be nil');
  }

  private *applyOnce(live: KubeObject, config: KubeObject, managed: Managed, manager: string, force: boolean): Steps<{ object: KubeObject; managed: Managed }> {
    if (managed.fields.size === 0) {
      // Fields set before anyone applied belong to "before-first-apply", so applying over them conflicts.
      managed = yield* this.recordUpdate(this.emptyObject(), withoutManagedFields(live), managed, beforeFirstApply);
    }
    const id = managerIdentifier({ manager, operation: 'Apply', subresource: this.options.subresource });
    const applied = yield* this.updater.apply(asJson(withoutManagedFields(live)), config as unknown as Json, this.options.apiVersion, managed.fields, id, force);
    this.strip(managed, id);
    if (applied.object === undefined) return { object: withoutManagedFields(live), managed };
    managed.times.set(id, toMetaTime());
    return { object: applied.object as unknown as KubeObject, managed };
  }

  private *recordUpdate(live: KubeObject, next: KubeObject, managed: Managed, manager: string): Steps<Managed> {
    const id = managerIdentifier({
      manager: manager || 'unknown',
      operation: 'Update',
      apiVersion: this.options.apiVersion,
      subresource: this.options.subresource,
    });
    yield* this.updater.update(asJson(withoutManagedFields(live)), asJson(next), this.options.apiVersion, managed.fields, currentOperation);
    this.strip(managed, currentOperation);
    const changed = managed.fields.get(currentOperation);
    if (changed) {
      managed.fields.delete(currentOperation);
      const previous = managed.fields.get(id);
      managed.fields.set(id, previous ? { ...changed, set: changed.set.union(previous.set) } : changed);
      managed.times.set(id, toMetaTime());
    }
    capUpdateManagers(managed);
    return managed;
  }

  private strip(managed: Managed, id: string): void {
    const owned = managed.fields.get(id);
    if (!owned) return;
    const set = owned.set.difference(strippedFields);
    if (set.empty()) managed.fields.delete(id);
    else managed.fields.set(id, { ...owned, set });
  }

  /** Managed fields of the request object when it carries valid ones (a client may rewrite them), else the live ones. */
  private liveOrNew(live: KubeObject, next: KubeObject): Managed {
    const fromLive = (): Managed => {
      try {
        return decodeManagedFields(live.metadata?.managedFields);
      } catch {
        return emptyManaged();
      }
    };
    if (this.options.subresource !== '') return fromLive();
    const requested = next.metadata?.managedFields;
    if (isResetManagedFields(requested)) return emptyManaged();
    try {
      const managed = decodeManagedFields(requested);
      return managed.fields.size > 0 ? managed : fromLive();
    } catch {
      return fromLive();
    }
  }

  private allowedFromLastApplied(live: KubeObject): FieldSet | undefined {
    const text = live.metadata?.annotations?.[lastAppliedAnnotation];
    if (!text) return undefined;
    let lastApplied: Json;
    try {
      lastApplied = JSON.parse(text) as Json;
    } catch {
      return undefined;
    }
    if ((lastApplied as { apiVersion?: unknown } | null)?.apiVersion !== this.options.apiVersion) return undefined;
    const typed = this.updater.typedValues;
    const root = { named: this.options.typeName };
    try {
      typed.validateApplied(lastApplied, root);
    } catch {
      return undefined;
    }
    const comparison = typed.compare(lastApplied, asJson(live), root);
    return typed.toFieldSet(lastApplied, root).difference(comparison.modified).difference(comparison.added).difference(comparison.removed);
  }
}

function asJson(object: KubeObject): Json {
  return object as unknown as Json;
}

function withoutManagedFields(object: KubeObject): KubeObject {
  if (object.metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function withManagedFields(object: KubeObject, managed: Managed): KubeObject {
  const entries: ManagedFieldsEntry[] | undefined = encodeManagedFields(managed);
  const { managedFields: _old, ...metadata } = object.metadata ?? {};
  return { ...object, metadata: entries ? { ...metadata, managedFields: entries } : metadata };
}

/** The applied configuration as kubectl's annotation records it, when the object still carries that annotation. */
function withLastApplied(object: KubeObject, config: KubeObject): KubeObject {
  const annotations = { ...(config.metadata?.annotations ?? {}) };
  delete annotations[lastAppliedAnnotation];
  const metadata = { ...(config.metadata ?? {}) } as Record<string, unknown>;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  // As Go's json.Encoder writes unstructured objects: sorted keys, HTML escaped, a trailing newline.
  const value = `${goJson({ ...config, metadata })}\n`;
  const next: Record<string, string> = { ...(object.metadata.annotations ?? {}), [lastAppliedAnnotation]: value };
  const size = Object.entries(next).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > maxAnnotationsBytes) delete next[lastAppliedAnnotation];
  return { ...object, metadata: { ...object.metadata, annotations: next } };
}

/** Beyond ten Update managers, the oldest ones are merged into "ancient-changes". */
function capUpdateManagers(managed: Managed): void {
  const updaters = [...managed.fields].filter(([, owned]) => !owned.applied).map(([id]) => id);
  if (updaters.length <= maxUpdateManagers) return;
  const seconds = (id: string): number => {
    const time = managed.times.get(id);
    return time ? Math.floor(Date.parse(time) / 1000) : 0;
  };
  updaters.sort((a, b) => seconds(a) - seconds(b) || (a < b ? -1 : a > b ? 1 : 0));
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > maxUpdateManagers; i++) {
    const id = updaters[i]!;
    const owned = managed.fields.get(id)!;
    const time = managed.times.get(id);
    const bucket = managerIdentifier({ manager: ancientChanges, operation: 'Update', apiVersion: owned.apiVersion });
    const first = firstByVersion.get(owned.apiVersion);
    if (first === undefined) {
      firstByVersion.set(owned.apiVersion, id);
      continue;
    }
    if (!managed.fields.has(bucket)) {
      managed.fields.set(bucket, managed.fields.get(first)!);
      managed.fields.delete(first);
    }
    managed.fields.set(bucket, { ...owned, set: owned.set.union(managed.fields.get(bucket)!.set) });
    managed.fields.delete(id);
    managed.times.set(bucket, time);
    length--;
  }
}

function gvkString(apiVersion: unknown, kind: unknown): string {
  const gv = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = gv.indexOf('/');
  const [group, version] = slash < 0 ? ['', gv] : [gv.slice(0, slash), gv.slice(slash + 1)];
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

/** 409 with one FieldManagerConflict cause per field, worded as kube-apiserver words it. */
export function conflictError(conflicts: Conflict[]): ApiError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${pathString(conflicts[0]!.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), pathString(c.path)]);
    const lines: string[] = [];
    for (const manager of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(manager)}:`);
      for (const path of byManager.get(manager)!) lines.push(`- ${path}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}
