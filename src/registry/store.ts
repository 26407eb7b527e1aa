// The generic store: every verb implemented once, with kube-apiserver's semantics (k8s.io/apiserver's
// registry/generic/registry.Store). A resource only supplies a Strategy; this file never names one. Where a read is
// served from (the watch cache or storage) is its CachedStorage's choice; the store states what is asked.
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { fieldErrors, type FieldError } from '../api/meta/field-errors.js';
import { validateObjectMeta, validateObjectMetaUpdate } from '../api/meta/object-meta-validation.js';
import { toMetaTime } from '../api/meta/time.js';
import type { DeleteOptions, KubeObject, ObjectMeta } from '../api/meta/types.js';
import type { SchemaValidator } from '../api/schema-validator.js';
import type { CachedStorage, ObjectPage } from '../storage/cached-storage.js';
import { skipUpdate, StorageError, type StoredValue } from '../storage/interface.js';
import type { CacheWatcher } from '../storage/watch-cache.js';
import { decodeContinue, encodeContinue } from './continue-token.js';
import { ApiError, apiErrors, type ResourceRef } from '../api/meta/errors.js';
import { fromStorageError } from './storage-errors.js';
import { generateName, generateNameAttempts } from './generate-name.js';
import { parseResourceVersion, selectorFilter, validateListOptions, validateWatchOptions } from './list-options.js';
import { decodeObject, encode, encodeWrite, maxStoredObjectBytes, objectKey, objectTooLarge, type EncodedWrite } from './codec.js';
import type { NamespaceLifecycle, Strategy } from './strategy.js';
import { FieldManager } from '../fieldmanager/field-manager.js';
import type { SmdSchema } from '../fieldmanager/schema.js';
import { runSteps } from '../fieldmanager/steps.js';
import { cloneSteps, jsonDepth, maxKeptDepth, sameJson } from './json-tree.js';
import type { AdmissionAttributes, AdmissionChain, AdmissionKind, AdmissionOperation, AdmissionRequest } from './admission.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface WriteOptions {
  dryRun?: boolean;
  /** What to do with fields the schema does not know: kube-apiserver's default is Warn (drop, and warn). */
  fieldValidation?: FieldValidation;
  signal?: AbortSignal;
  /** Who writes, for metadata.managedFields: the fieldManager parameter, else the User-Agent's product name. */
  fieldManager?: string;
  /** The body already carries its managedFields (server-side apply, /scale computed them). */
  ownershipRecorded?: boolean;
  /**
   * What kube's strict JSON decoding reports beyond unknown fields (`duplicate field "metadata.labels.a"`, a JSON
   * patch's `json patch unknown field "[0].x"`): warnings under Warn; under Strict a create or update fails.
   */
  strictErrors?: string[];
  /** A user's request, which admission sees; the server's own writes (controllers) carry none. */
  admission?: AdmissionRequest;
  /**
   * What admission sees of a subresource whose objects are another kind (a Scale): the view of the parent, built
   * on every attempt. Its mutating admission is the subresource's own (it runs on the view before the write).
   */
  admissionView?: AdmissionView;
}

export interface AdmissionView {
  subResource: string;
  kind: AdmissionKind;
  of(parent: KubeObject): KubeObject;
}

export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  signal?: AbortSignal;
}

/**
 * An object as read: its serialization ready for the encoder, and the object decoded. From the watch cache,
 * `object` is decoded anew on every access (the cache keeps JSON only): read it once per use.
 */
export interface ReadObject {
  readonly object: KubeObject;
  readonly json: string;
}

export interface ListResult {
  items: ReadObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
  /** Admission's warnings for a deletecollection's items. */
  warnings?: string[];
}

export interface WriteResult {
  object: KubeObject;
  /** `object` with its serialization, when the write has it; whoever answers with another object leaves it behind. */
  serialized?: ReadObject;
  warnings: string[];
  /** Set when a write to a name created the object (server-side apply of an absent object). */
  created?: boolean;
}

export interface DeleteResult {
  object: KubeObject;
  /** Admission's warnings. */
  warnings?: string[];
  /** False when finalizers keep the object (it now carries a deletionTimestamp). */
  deleted: boolean;
}

export interface StoreOptions {
  /** Storage key prefix of this resource, e.g. "/registry/ai.example.io/notebooks/". */
  prefix: string;
  strategy: Strategy;
  /** The resource's storage behind its watch cache, which chooses where each read is served from. */
  storage: CachedStorage;
  validator: SchemaValidator;
  /** The schemas as server-side apply reads them. */
  smd: SmdSchema;
  logger: Logger;
  namespaces?: NamespaceLifecycle;
  /** Webhooks, policies and quota, for writes that carry an AdmissionRequest. */
  admission?: AdmissionChain;
}

/**
 * Objects of more values than this (a few thousand labels) are written in slices: the event loop gets a turn
 * between the phases of the write (decoding, field ownership, validation, encoding), each a few tens of
 * milliseconds at the body limit, where the whole pipeline of a 100,000-key body takes a second or more.
 */
const slicedValues = 4_096;

/** Gives the event loop a turn between the phases of a large write; undefined for a small one. */
type Pause = (() => Promise<void>) | undefined;
const pauseFor = (values: number): Pause => (values > slicedValues ? () => nextTurn() : undefined);

/**
 * A write starts on a later turn than the one that read and parsed its request: the store cannot tell how large
 * that body was (up to 3 MiB, tens of milliseconds to parse), and copying and patching it is a slice of its own.
 */
const afterDecoding = (): Promise<void> => nextTurn();

export class Store {
  readonly ref: ResourceRef;
  readonly strategy: Strategy;
  private readonly storage: CachedStorage;
  private readonly validator: SchemaValidator;
  private readonly prefix: string;
  private readonly apiVersion: string;
  private readonly log: Logger;
  private readonly namespaces: NamespaceLifecycle | undefined;
  /** Subresources that admit views of their own (Scale) run mutating admission through it. */
  readonly admission: AdmissionChain | undefined;
  /** Field ownership per endpoint: the main resource resets status, /status resets spec (as for custom resources). */
  readonly fieldManagers: { main: FieldManager; status: FieldManager };
  /** The most that setting kind, apiVersion and an empty metadata adds to a body's JSON (their commas included). */
  private readonly defaultedBytes: number;

  constructor(options: StoreOptions) {
    this.namespaces = options.namespaces;
    this.admission = options.admission;
    this.strategy = options.strategy;
    this.storage = options.storage;
    this.validator = options.validator;
    this.prefix = options.prefix;
    const info = options.strategy.info;
    this.ref = { group: info.group, resource: info.resource, kind: info.kind };
    this.apiVersion = `${info.group}/${info.version}`;
    this.defaultedBytes = Buffer.byteLength(JSON.stringify({ kind: info.kind, apiVersion: this.apiVersion, metadata: {} }));
    this.log = options.logger.child({ component: 'store', resource: info.resource });
    const common = { schema: options.smd, typeName: options.strategy.schemaName, apiVersion: this.apiVersion, kind: info.kind, logger: this.log };
    this.fieldManagers = {
      main: new FieldManager({ ...common, subresource: '', resetFields: ['status'] }),
      status: new FieldManager({ ...common, subresource: 'status', resetFields: ['spec'] }),
    };
  }

  async create(namespace: string, body: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    await afterDecoding();
    const decoded = await this.decodeBody(body, options.fieldValidation, options.strictErrors);
    const { warnings, pause } = decoded;
    const main = this.fieldManagers.main;
    let object = options.ownershipRecorded
      ? decoded.object
      : await runSteps(main.updateSteps(main.emptyObject(), decoded.object, options.fieldManager ?? ''), pause);
    await pause?.();
    if (object.metadata.namespace && object.metadata.namespace !== namespace) {
      throw apiErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    object.metadata.namespace = namespace;
    // kube's create handler admits before the store's BeforeCreate: no uid or creationTimestamp yet. NamespaceLifecycle
    // is kube's first admission plugin: no webhook is called for a create in a missing or terminating namespace.
    const admitted = options.admission !== undefined && this.admission !== undefined;
    if (admitted) await this.namespaces?.admitCreate(namespace);
    if (options.admission && this.admission) {
      const attributes = this.attributes('CREATE', options, namespace, object.metadata.name ?? '', object, null);
      const mutated = await this.admission.mutate(attributes, options.signal);
      warnings.push(...mutated.warnings);
      object = this.afterMutation(mutated.object ?? object, object);
      object.metadata.namespace = namespace;
    }
    const meta = object.metadata;
    if (meta.resourceVersion) throw apiErrors.badRequest('resourceVersion should not be set on objects to be created');
    meta.uid = randomUUID();
    meta.creationTimestamp = toMetaTime();
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    const generated = !meta.name && !!meta.generateName;
    this.strategy.prepareForCreate(object);
    const provisionalName = meta.name || (meta.generateName ? generateName(meta.generateName) : '');
    if (generated) meta.name = provisionalName;
    const errors = [...this.validator.validate(this.strategy.schemaName, object), ...this.strategy.validate(object)];
    await pause?.();
    errors.push(...validateObjectMeta(meta, this.strategy.validateName));
    if (errors.length > 0) throw apiErrors.invalid(this.ref, meta.name ?? '', errors);
    await pause?.();
    warnings.push(...this.strategy.warnings(object));
    if (!admitted) await this.namespaces?.admitCreate(namespace);
    if (options.admission && this.admission) {
      const attributes = this.attributes('CREATE', options, namespace, meta.name!, object, null);
      warnings.push(...(await this.admission.validate(attributes, options.signal)).warnings);
    }
    if (options.dryRun) {
      // A dry run answers as the real create would, so a name already taken is still 409.
      if (await this.read(objectKey(this.prefix, namespace, meta.name!), meta.name!)) throw apiErrors.alreadyExists(this.ref, meta.name!);
      return { object, warnings };
    }

    for (let attempt = 1; ; attempt++) {
      try {
        const encoded = encodeWrite(object);
        const stored = await this.storage.create(objectKey(this.prefix, namespace, meta.name!), encoded.value);
        await pause?.();
        return { ...readBack(stored, encoded), warnings };
      } catch (error) {
        if (generated && error instanceof StorageError && error.code === 'AlreadyExists' && attempt < generateNameAttempts) {
          meta.name = generateName(meta.generateName!);
          continue;
        }
        throw fromStorageError(error, this.ref, meta.name!);
      }
    }
  }

  /** GET: resourceVersion "" reads storage (linearizable); "0" or N are served from the watch cache. */
  async get(namespace: string, name: string, resourceVersion = '', signal?: AbortSignal): Promise<ReadObject> {
    const revision = parseResourceVersion(resourceVersion);
    let read: ReadObject | undefined;
    try {
      read = await this.storage.readObject(objectKey(this.prefix, namespace, name), revision, signal);
    } catch (error) {
      throw fromStorageError(error, this.ref, name);
    }
    if (!read) throw apiErrors.notFound(this.ref, name);
    return read;
  }

  /** How many objects a namespace (all of them when undefined) holds now, from the watch cache: a LIST's cost estimate. */
  count(namespace: string | undefined): number {
    return this.storage.count(this.keyPrefix(namespace));
  }

  async list(namespace: string | undefined, options: ListOptions = {}): Promise<ListResult> {
    const filter = selectorFilter(this.strategy, options.labelSelector, options.fieldSelector);
    const keyPrefix = this.keyPrefix(namespace);
    const rv = options.resourceVersion ?? '';
    const rvMatch = options.resourceVersionMatch ?? '';
    validateListOptions(rv, rvMatch, options.continue);
    const limit = options.limit && options.limit > 0 ? options.limit : 0;
    const from = options.continue ? decodeContinue(options.continue, keyPrefix) : undefined;
    // A limit with a resourceVersion N and no match asks for N exactly (kube's "legacy" match, kept for old clients).
    const revision = parseResourceVersion(rv);
    const exact = rvMatch === 'Exact' || (rvMatch === '' && limit > 0 && (revision ?? 0) > 0);
    let page: ObjectPage;
    try {
      page = await this.storage.listObjects(keyPrefix, {
        ...(from ? { from } : { revision, exact }),
        limit,
        filter,
        signal: options.signal,
      });
    } catch (error) {
      // The snapshot a continue token reads was compacted away: kube tells the client how to go on.
      if (from && error instanceof StorageError && error.code === 'Gone') throw apiErrors.continueExpired();
      throw fromStorageError(error, this.ref, '');
    }
    const result: ListResult = { items: page.items, resourceVersion: String(page.revision) };
    if (page.next) result.continue = encodeContinue(page.next.revision, page.next.startKey, keyPrefix);
    if (page.remaining !== undefined) result.remainingItemCount = page.remaining;
    return result;
  }

  async update(namespace: string, name: string, body: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write(namespace, name, () => body, options, false);
  }

  async updateStatus(namespace: string, name: string, body: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write(namespace, name, () => body, options, true);
  }

  /**
   * Server-side apply (PATCH application/apply-patch+yaml). On the main resource an absent object is created from
   * the configuration; on /status it is 404.
   */
  async apply(namespace: string, name: string, config: unknown, apply: ApplyOptions, options: WriteOptions = {}, status = false): Promise<WriteResult> {
    const manager = status ? this.fieldManagers.status : this.fieldManagers.main;
    manager.checkConfig(config as KubeObject);
    await afterDecoding();
    const { object: pruned, warnings, pause } = await this.decodeBody(config, options.fieldValidation);
    const written = { ...options, ownershipRecorded: true };
    for (;;) {
      try {
        const applyTo = (current: KubeObject, livePause: Pause): Promise<KubeObject> =>
          runSteps(manager.applySteps(current, pruned, apply.fieldManager, apply.force), pause ?? livePause);
        const result = await this.write(namespace, name, applyTo, written, status);
        return { ...result, warnings: [...warnings, ...result.warnings] };
      } catch (error) {
        if (status || !(error instanceof ApiError && error.code === 404 && error.reason === 'NotFound')) throw error;
      }
      if (pruned.metadata.name !== undefined && pruned.metadata.name !== name) {
        throw apiErrors.badRequest(`the name of the object (${pruned.metadata.name}) does not match the name on the URL (${name})`);
      }
      const created = await runSteps(
        manager.applySteps(manager.emptyObject(), { ...pruned, metadata: { ...pruned.metadata, name } }, apply.fieldManager, apply.force),
        pause,
      );
      try {
        const admission = written.admission && { ...written.admission, options: { ...written.admission.options, kind: 'CreateOptions' } };
        const result = await this.create(namespace, created, { ...written, ...(admission ? { admission } : {}) });
        return { ...result, warnings: [...warnings, ...result.warnings], created: true };
      } catch (error) {
        // Someone created it in between: apply to theirs.
        if (!(error instanceof ApiError && error.code === 409 && error.reason === 'AlreadyExists')) throw error;
      }
    }
  }

  /**
   * A write whose body is computed from the current object, as PATCH needs: `apply` runs on every attempt of the
   * guaranteed update, so a patch always lands on the object it was computed from. A resourceVersion the patch
   * sets is a precondition. `status` limits the write to the status subresource.
   */
  async patch(
    namespace: string,
    name: string,
    apply: (current: KubeObject) => unknown,
    options: WriteOptions = {},
    status = false,
  ): Promise<WriteResult> {
    return this.write(namespace, name, apply, options, status);
  }

  async delete(namespace: string, name: string, deleteOptions: DeleteOptions = {}, options: WriteOptions = {}): Promise<DeleteResult> {
    const key = objectKey(this.prefix, namespace, name);
    let mutationWarnings: string[] | undefined;
    let admissionWarnings: string[] | undefined;
    for (;;) {
      const stored = await this.read(key, name);
      if (!stored) throw apiErrors.notFound(this.ref, name);
      const current = decodeObject(stored.value, stored.modRevision);
      // kube's handler admits a delete's mutation once; its deleteValidation judges the object as stored, before
      // preconditions, on every attempt (after a conflict, the object that is now there).
      if (options.admission && this.admission) {
        const attributes = this.attributes('DELETE', options, namespace, name, null, current);
        mutationWarnings ??= (await this.admission.mutate(attributes, options.signal)).warnings;
        admissionWarnings = [...mutationWarnings, ...(await this.admission.validate(attributes, options.signal)).warnings];
      }
      this.checkPreconditions(current, name, deleteOptions.preconditions);
      const gcFinalizer =
        deleteOptions.propagationPolicy === 'Foreground'
          ? 'foregroundDeletion'
          : deleteOptions.propagationPolicy === 'Orphan' || deleteOptions.orphanDependents === true
            ? 'orphan'
            : undefined;
      const finalizers = current.metadata.finalizers ?? [];
      const pending = gcFinalizer && !finalizers.includes(gcFinalizer) ? [...finalizers, gcFinalizer] : finalizers;
      if (pending.length > 0) {
        const object = await this.markDeleting(key, name, stored, gcFinalizer, deleteOptions, options);
        return { object, deleted: false, warnings: admissionWarnings ?? [] };
      }
      if (options.dryRun) return { object: current, deleted: true, warnings: admissionWarnings ?? [] };
      try {
        const { deleted, revision } = await this.storage.delete(key, stored.modRevision);
        const object = decodeObject(deleted.value, revision);
        return { object, deleted: true, warnings: admissionWarnings ?? [] };
      } catch (error) {
        // Lost a race with a writer: judge the preconditions and finalizers again on the new state.
        if (error instanceof StorageError && error.code === 'Conflict') continue;
        throw fromStorageError(error, this.ref, name);
      }
    }
  }

  async deleteCollection(
    namespace: string | undefined,
    listOptions: ListOptions,
    deleteOptions: DeleteOptions = {},
    options: WriteOptions = {},
  ): Promise<ListResult> {
    const { items, resourceVersion } = await this.list(namespace, { ...listOptions, limit: 0, continue: undefined });
    const deleted: ReadObject[] = [];
    const warnings: string[] = [];
    for (const item of items) {
      const meta = item.object.metadata;
      try {
        const result = await this.delete(meta.namespace!, meta.name!, deleteOptions, options);
        deleted.push({ object: result.object, json: JSON.stringify(result.object) });
        warnings.push(...(result.warnings ?? []));
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) continue;
        throw error;
      }
    }
    return { items: deleted, resourceVersion, warnings };
  }

  /** A watch served from the cache. The caller reads events from the watcher and ends it when done. */
  async watch(namespace: string | undefined, options: WatchOptions = {}): Promise<CacheWatcher> {
    const filter = selectorFilter(this.strategy, options.labelSelector, options.fieldSelector);
    validateWatchOptions(options.resourceVersionMatch ?? '', options.sendInitialEvents, options.allowWatchBookmarks);
    const revision = parseResourceVersion(options.resourceVersion ?? '');
    try {
      return await this.storage.watchObjects(this.keyPrefix(namespace), {
        revision,
        filter,
        bookmarks: options.allowWatchBookmarks === true,
        sendInitialEvents: options.sendInitialEvents === true,
        signal: options.signal,
      });
    } catch (error) {
      throw fromStorageError(error, this.ref, '');
    }
  }

  /**
   * The write pipeline of update, patch and apply: tryUpdate may run several times. `bodyFor` gets a copy of the
   * current object, and a pause when that object is large (an apply then gives the loop turns between its phases).
   */
  private async write(
    namespace: string,
    name: string,
    bodyFor: (current: KubeObject, pause: Pause) => unknown,
    options: WriteOptions,
    status: boolean,
  ): Promise<WriteResult> {
    const key = objectKey(this.prefix, namespace, name);
    let result: KubeObject | undefined;
    let encoded: EncodedWrite | undefined;
    let warnings: string[] = [];
    let pause: Pause;
    await afterDecoding();
    const tryUpdate = async (current: StoredValue): Promise<Buffer | typeof skipUpdate> => {
      encoded = undefined;
      const old = decodeObject(current.value, current.modRevision);
      const { copy, values: oldValues } = await runSteps(cloneSteps(old), nextTurn);
      const livePause = pauseFor(oldValues);
      await livePause?.();
      const produced = bodyFor(copy, livePause);
      const body = produced instanceof Promise ? ((await produced) as unknown) : produced;
      await livePause?.();
      const decoded = await this.decodeBody(body, options.fieldValidation, options.strictErrors);
      pause = decoded.pause ?? livePause;
      let next = decoded.object;
      warnings = decoded.warnings;
      if (next.metadata.name !== undefined && next.metadata.name !== name) {
        throw apiErrors.badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
      }
      if (next.metadata.namespace && next.metadata.namespace !== namespace) {
        throw apiErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      next.metadata.name = name;
      next.metadata.namespace = namespace;
      if (next.metadata.resourceVersion && next.metadata.resourceVersion !== old.metadata.resourceVersion) {
        throw apiErrors.modified(this.ref, name);
      }
      if (!options.ownershipRecorded) {
        const manager = status ? this.fieldManagers.status : this.fieldManagers.main;
        next = await runSteps(manager.updateSteps(old, next, options.fieldManager ?? ''), pause);
        await pause?.();
      }
      const admitted = options.admission && this.admission;
      const view = options.admissionView;
      if (admitted && !view) {
        const attributes = this.attributes('UPDATE', options, namespace, name, next, old, status ? 'status' : '');
        const mutated = await this.admission!.mutate(attributes, options.signal);
        warnings.push(...mutated.warnings);
        next = this.afterMutation(mutated.object ?? next, next);
        next.metadata.name = name;
        next.metadata.namespace = namespace;
      }
      const errors = status ? await this.prepareStatusWrite(next, old, pause) : await this.prepareWrite(next, old, pause);
      if (errors.length > 0) throw apiErrors.invalid(this.ref, name, errors);
      if (admitted) {
        const attributes = view
          ? { ...this.attributes('UPDATE', options, namespace, name, view.of(next), view.of(old), view.subResource), kind: view.kind }
          : this.attributes('UPDATE', options, namespace, name, next, old, status ? 'status' : '');
        warnings.push(...(await this.admission!.validate(attributes, options.signal)).warnings);
      }
      result = next;
      await pause?.();
      // Unchanged content (in any key order) is no write, as kube-apiserver compares canonical encodings.
      if (sameContent(next, old)) return skipUpdate;
      await pause?.();
      encoded = encodeWrite(next);
      return encoded.value;
    };
    try {
      if (options.dryRun) {
        const current = await this.read(key, name);
        if (!current) throw apiErrors.notFound(this.ref, name);
        const outcome = await tryUpdate(current);
        if (outcome === skipUpdate) return { object: decodeObject(current.value, current.modRevision), warnings };
        return { object: { ...result!, metadata: { ...result!.metadata, resourceVersion: String(current.modRevision) } }, warnings };
      }
      const stored = await this.storage.guaranteedUpdate(key, tryUpdate, { signal: options.signal });
      await pause?.();
      const answer = readBack(stored, encoded);
      warnings.push(...this.strategy.warnings(answer.object));
      await this.finishDeletionIfDone(key, answer.object, stored.modRevision);
      return { ...answer, warnings };
    } catch (error) {
      throw fromStorageError(error, this.ref, name);
    }
  }

  /** kube-apiserver's BeforeUpdate for the main resource: system fields from the old object, status kept. */
  private async prepareWrite(next: KubeObject, old: KubeObject, pause: Pause): Promise<FieldError[]> {
    this.copySystemMeta(next.metadata, old.metadata);
    this.strategy.prepareForUpdate(next, old);
    const specChanged = JSON.stringify(next.spec ?? null) !== JSON.stringify(old.spec ?? null);
    next.metadata.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    const errors = [...this.validator.validate(this.strategy.schemaName, next), ...this.strategy.validateUpdate(next, old)];
    await pause?.();
    errors.push(...validateObjectMetaUpdate(next.metadata, old.metadata, this.strategy.validateName));
    if (old.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        errors.push(
          fieldErrors.forbidden(
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          ),
        );
      }
    }
    return errors;
  }

  /** A /status write changes status only: spec and metadata come from the old object. */
  private async prepareStatusWrite(next: KubeObject, old: KubeObject, pause: Pause): Promise<FieldError[]> {
    const uid = next.metadata.uid;
    const managedFields = next.metadata.managedFields;
    next.metadata = { ...old.metadata };
    if (managedFields) next.metadata.managedFields = managedFields;
    else delete next.metadata.managedFields;
    if (uid && uid !== old.metadata.uid) return [fieldErrors.invalid('metadata.uid', uid, 'field is immutable')];
    this.strategy.prepareForStatusUpdate(next, old);
    await pause?.();
    return [...this.validator.validate(this.strategy.schemaName, next), ...this.strategy.validateStatusUpdate(next, old)];
  }

  /** admission.Attributes of a write that carries a user's request. */
  attributes(
    operation: AdmissionOperation,
    options: WriteOptions,
    namespace: string,
    name: string,
    object: KubeObject | null,
    oldObject: KubeObject | null,
    subResource = '',
  ): AdmissionAttributes {
    const { group, version, resource, kind } = this.strategy.info;
    const request = options.admission!;
    return {
      operation,
      kind: { group, version, kind },
      resource: { group, version, resource },
      subResource,
      name,
      namespace,
      object,
      oldObject,
      dryRun: options.dryRun === true,
      options: request.options,
      userInfo: request.user,
      ...(request.annotate ? { annotate: request.annotate } : {}),
    };
  }

  /**
   * What mutating admission returned, as the store keeps it: fields the schema does not know are dropped, as kube
   * prunes after mutating webhooks, and the result must still fit the store.
   */
  private afterMutation(mutated: KubeObject, before: KubeObject): KubeObject {
    // Plugins replace what they change: the same object is an unchanged one, with nothing to prune or measure.
    if (mutated === before) return mutated;
    if (typeof mutated.metadata !== 'object' || mutated.metadata === null || Array.isArray(mutated.metadata)) mutated.metadata = {};
    this.validator.pruneUnknownFields(this.strategy.schemaName, mutated);
    const bytes = Buffer.byteLength(JSON.stringify(mutated));
    if (bytes > maxStoredObjectBytes) throw objectTooLarge(bytes);
    return mutated;
  }

  private copySystemMeta(next: ObjectMeta, old: ObjectMeta): void {
    if (!next.uid) next.uid = old.uid;
    next.creationTimestamp = old.creationTimestamp;
    next.deletionTimestamp = old.deletionTimestamp;
    next.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    if (next.deletionTimestamp === undefined) delete next.deletionTimestamp;
    if (next.deletionGracePeriodSeconds === undefined) delete next.deletionGracePeriodSeconds;
    delete next.selfLink;
  }

  /** The update that removes the last finalizer of a deleting object deletes it. */
  private async finishDeletionIfDone(key: string, object: KubeObject, revision: number): Promise<void> {
    if (!object.metadata.deletionTimestamp || (object.metadata.finalizers ?? []).length > 0) return;
    try {
      await this.storage.delete(key, revision);
    } catch (error) {
      // Someone changed it in between; their write sees the same rule and finishes the deletion.
      if (!(error instanceof StorageError && (error.code === 'Conflict' || error.code === 'NotFound'))) throw error;
    }
  }

  private async markDeleting(
    key: string,
    name: string,
    stored: StoredValue,
    gcFinalizer: string | undefined,
    deleteOptions: DeleteOptions,
    options: WriteOptions,
  ): Promise<KubeObject> {
    const mark = (current: StoredValue): KubeObject => {
      const object = decodeObject(current.value, current.modRevision);
      this.checkPreconditions(object, name, deleteOptions.preconditions);
      const meta = object.metadata;
      if (gcFinalizer && !(meta.finalizers ?? []).includes(gcFinalizer)) meta.finalizers = [...(meta.finalizers ?? []), gcFinalizer];
      if (!meta.deletionTimestamp) {
        meta.deletionTimestamp = toMetaTime();
        meta.deletionGracePeriodSeconds = 0;
        meta.generation = (meta.generation ?? 1) + 1;
      }
      return object;
    };
    if (options.dryRun) return mark(stored);
    try {
      const result = await this.storage.guaranteedUpdate(key, (current) => encode(mark(current)), { suggestion: stored });
      return decodeObject(result.value, result.modRevision);
    } catch (error) {
      throw fromStorageError(error, this.ref, name);
    }
  }

  private checkPreconditions(object: KubeObject, name: string, preconditions: DeleteOptions['preconditions']): void {
    if (preconditions?.uid && preconditions.uid !== object.metadata.uid) {
      throw apiErrors.conflict(
        this.ref,
        name,
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${object.metadata.uid}`,
      );
    }
    if (preconditions?.resourceVersion && preconditions.resourceVersion !== object.metadata.resourceVersion) {
      throw apiErrors.conflict(
        this.ref,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${object.metadata.resourceVersion}`,
      );
    }
  }

  /**
   * Type, kind and unknown-field checks on a request body; never lets an open map pass through a rewriting
   * validator. A large body comes with the pause its write takes between phases.
   */
  private async decodeBody(
    body: unknown,
    fieldValidation: FieldValidation = 'Warn',
    strictErrors: string[] = [],
  ): Promise<{ object: KubeObject; warnings: string[]; pause: Pause }> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw apiErrors.badRequest(`the body of the request was in an unknown format - accepted media types include: application/json`);
    }
    // Iterative: a body may nest 10,000 levels deep, which structuredClone's recursion does not survive.
    const { copy, depth, values, jsonBytesBound } = await runSteps(cloneSteps(body), nextTurn);
    const object = copy as KubeObject;
    const pause = pauseFor(values);
    await pause?.();
    const errors: FieldError[] = [];
    if (object.kind === undefined || object.kind === '') object.kind = this.strategy.info.kind;
    else if (object.kind !== this.strategy.info.kind) errors.push(fieldErrors.invalid('kind', object.kind, `must be ${this.strategy.info.kind}`));
    if (object.apiVersion === undefined || object.apiVersion === '') object.apiVersion = this.apiVersion;
    else if (object.apiVersion !== this.apiVersion) errors.push(fieldErrors.invalid('apiVersion', object.apiVersion, `must be ${this.apiVersion}`));
    if (object.metadata === undefined || object.metadata === null) object.metadata = {};
    if (typeof object.metadata !== 'object' || Array.isArray(object.metadata)) {
      errors.push(fieldErrors.typeInvalid('metadata', object.metadata, 'must be of type object'));
    }
    if (errors.length > 0) {
      const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '';
      throw apiErrors.invalid(this.ref, name, errors);
    }
    const unknown = this.validator.pruneUnknownFields(this.strategy.schemaName, object);
    // Pruning only lowers the depth measured while copying: only a body that was deeper is measured again.
    if (depth > maxKeptDepth && jsonDepth(object) > maxKeptDepth) throw apiErrors.badRequest(`exceeded max depth of ${maxKeptDepth}`);
    if (fieldValidation === 'Strict' && strictErrors.length > 0) {
      // Repeated members fail the decoder itself, before unknown fields are looked for.
      const { kind, version } = this.strategy.info;
      throw apiErrors.badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: strict decoding error: ${strictErrors.join(', ')}`);
    }
    if (unknown.length > 0 && fieldValidation === 'Strict') throw apiErrors.strictDecoding(unknown);
    // A write keeps what is decoded here and adds to it (defaults, managedFields), except fields its endpoint
    // resets: a body already past the store's limit is refused now, before validation and field ownership spend
    // seconds of the event loop on it (100,000 labels cost ~1 s there). Pruning only removed from the copy, so
    // its bound (with the members set above) spares a body well under the limit from being serialized here.
    if (jsonBytesBound + this.defaultedBytes > maxStoredObjectBytes) {
      const bytes = Buffer.byteLength(JSON.stringify(object));
      if (bytes > maxStoredObjectBytes) throw objectTooLarge(bytes);
    }
    const warnings = fieldValidation === 'Warn' ? [...strictErrors, ...unknown.map((p) => `unknown field "${p}"`)] : [];
    return { object, warnings, pause };
  }

  private async read(key: string, name: string): Promise<StoredValue | undefined> {
    try {
      return await this.storage.get(key);
    } catch (error) {
      throw fromStorageError(error, this.ref, name);
    }
  }

  /** The keys of a namespace's objects, or of all of them when undefined. */
  private keyPrefix(namespace: string | undefined): string {
    return namespace === undefined ? this.prefix : `${this.prefix}${namespace}/`;
  }
}

/**
 * A write's answer: what it just encoded, when storage holds exactly those bytes (a create, an update that changed
 * something), else the stored object decoded (an update that changed nothing answers with what is there).
 */
function readBack(stored: StoredValue, encoded: EncodedWrite | undefined): { object: KubeObject; serialized?: ReadObject } {
  if (encoded && (stored.value === encoded.value || stored.value.equals(encoded.value))) {
    const serialized = encoded.readAt(stored.modRevision);
    return { object: serialized.object, serialized };
  }
  return { object: decodeObject(stored.value, stored.modRevision) };
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  const content = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return sameJson(content(a), content(b));
}
