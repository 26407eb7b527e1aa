// The subresources that read and write an object (k8s.io/apiserver's storage map: "notebooks/status",
// "jobs/scale"), as registry objects with one interface, so the HTTP layer mounts each the same way whatever it is.
// /status is the object itself with writes limited to status; /scale is autoscaling/v1 Scale, a view of the
// object's replicas through which ownership of those replicas moves.
import type { Logger } from 'pino';
import { apiErrors } from '../api/meta/errors.js';
import type { KubeObject } from '../api/meta/types.js';
import { FieldManager } from '../fieldmanager/field-manager.js';
import { ScaleManagedFields } from '../fieldmanager/scale-managed-fields.js';
import type { SmdSchema } from '../fieldmanager/schema.js';
import type { ApplyOptions, Store, WriteOptions, WriteResult } from './store.js';
import type { ScaleStrategy, Strategy } from './strategy.js';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface Subresource {
  readonly name: string;
  /** What it reads and writes: the parent's kind, or another (autoscaling/v1 Scale). */
  readonly gvk: GroupVersionKind;
  /** The OpenAPI component of what it reads and writes. */
  readonly schemaName: string;
  get(namespace: string, name: string, resourceVersion?: string): Promise<KubeObject>;
  update(namespace: string, name: string, body: unknown, options: WriteOptions): Promise<WriteResult>;
  /** `patch` computes the new body from the current one, on every attempt of the write. */
  patch(namespace: string, name: string, patch: (current: KubeObject) => unknown, options: WriteOptions): Promise<WriteResult>;
  apply(namespace: string, name: string, config: unknown, apply: ApplyOptions, options: WriteOptions): Promise<WriteResult>;
}

export class StatusSubresource implements Subresource {
  readonly name = 'status';
  readonly gvk: GroupVersionKind;
  readonly schemaName: string;

  constructor(private readonly store: Store) {
    const { group, version, kind } = store.strategy.info;
    this.gvk = { group, version, kind };
    this.schemaName = store.strategy.schemaName;
  }

  async get(namespace: string, name: string, resourceVersion = ''): Promise<KubeObject> {
    return (await this.store.get(namespace, name, resourceVersion)).object;
  }

  update(namespace: string, name: string, body: unknown, options: WriteOptions): Promise<WriteResult> {
    return this.store.updateStatus(namespace, name, body, options);
  }

  patch(namespace: string, name: string, patch: (current: KubeObject) => unknown, options: WriteOptions): Promise<WriteResult> {
    return this.store.patch(namespace, name, patch, options, true);
  }

  apply(namespace: string, name: string, config: unknown, apply: ApplyOptions, options: WriteOptions): Promise<WriteResult> {
    return this.store.apply(namespace, name, config, apply, options, true);
  }
}

const scaleGvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
const scaleSchema = 'io.k8s.api.autoscaling.v1.Scale';

/**
 * What a subresource of `strategy` reads and writes, for discovery and OpenAPI, which are built without a
 * registry (scripts/ write them out): the same answers the registry's objects give.
 */
export function subresourceShape(strategy: Pick<Strategy, 'info' | 'schemaName' | 'progress'>, name: string): { gvk: GroupVersionKind; schemaName: string } {
  if (name === 'scale') return { gvk: scaleGvk, schemaName: scaleSchema };
  const { group, version, kind } = strategy.info;
  if (name === 'progress' && strategy.progress) return { gvk: { group, version, kind: strategy.progress.kind }, schemaName: strategy.progress.schemaName };
  return { gvk: { group, version, kind }, schemaName: strategy.schemaName };
}

/** autoscaling/v1 Scale over a resource's replicas: what an HPA or `kubectl scale` reads and writes. */
export class ScaleSubresource implements Subresource {
  readonly name = 'scale';
  readonly gvk = scaleGvk;
  readonly schemaName = scaleSchema;
  private readonly fieldManager: FieldManager;
  private readonly parentVersion: string;

  constructor(
    private readonly store: Store,
    private readonly strategy: ScaleStrategy,
    smd: SmdSchema,
    logger: Logger,
  ) {
    this.parentVersion = `${store.strategy.info.group}/${store.strategy.info.version}`;
    this.fieldManager = new FieldManager({
      schema: smd,
      typeName: this.schemaName,
      apiVersion: `${scaleGvk.group}/${scaleGvk.version}`,
      kind: scaleGvk.kind,
      subresource: 'scale',
      resetFields: [],
      logger,
    });
  }

  /** As for custom resources, a Scale is built from the parent without managedFields: owners live on the parent. */
  private toScale(object: KubeObject): KubeObject {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
        creationTimestamp: object.metadata.creationTimestamp,
      },
      spec: { replicas: this.strategy.specReplicas(object) },
      status: { replicas: this.strategy.statusReplicas(object), selector: this.strategy.selector(object) },
    };
  }

  /** Reads the parent as it is now, whatever resourceVersion is asked, as the scale of a custom resource does. */
  async get(namespace: string, name: string): Promise<KubeObject> {
    return this.toScale((await this.store.get(namespace, name)).object);
  }

  update(namespace: string, name: string, body: unknown, options: WriteOptions): Promise<WriteResult> {
    return this.write(namespace, name, (oldScale, manager) => this.fieldManager.update(oldScale, scaleBody(body), manager), options);
  }

  patch(namespace: string, name: string, patch: (current: KubeObject) => unknown, options: WriteOptions): Promise<WriteResult> {
    return this.write(namespace, name, (oldScale, manager) => this.fieldManager.update(oldScale, scaleBody(patch(oldScale)), manager), options);
  }

  apply(namespace: string, name: string, config: unknown, apply: ApplyOptions, options: WriteOptions): Promise<WriteResult> {
    return this.write(namespace, name, (oldScale) => this.fieldManager.apply(oldScale, config as KubeObject, apply.fieldManager, apply.force), options);
  }

  private async write(
    namespace: string,
    name: string,
    wantedOf: (oldScale: KubeObject, manager: string) => KubeObject,
    options: WriteOptions,
  ): Promise<WriteResult> {
    let admissionWarnings: string[] = [];
    const result = await this.store.patch(
      namespace,
      name,
      async (current) => {
        // Ownership moves through the Scale: the owners of the parent's replicas own Scale's spec.replicas.
        const owners = new ScaleManagedFields(current.metadata.managedFields, this.parentVersion, this.strategy.replicasPath);
        const oldScale = this.toScale(current);
        const subresourceOwners = owners.toSubresource();
        if (subresourceOwners) oldScale.metadata.managedFields = subresourceOwners;
        let wanted = wantedOf(oldScale, options.fieldManager ?? '');
        // kube admits the Scale a client sent, before it becomes the parent's replicas.
        if (options.admission && this.store.admission) {
          const attributes = { ...this.store.attributes('UPDATE', options, namespace, name, wanted, this.toScale(current), 'scale'), kind: scaleGvk };
          const mutated = await this.store.admission.mutate(attributes, options.signal);
          admissionWarnings = mutated.warnings;
          if (mutated.object) wanted = mutated.object;
        }
        const replicas = (wanted.spec as { replicas?: unknown } | undefined)?.replicas;
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
          throw apiErrors.invalid({ group: 'autoscaling', resource: 'scale', kind: 'Scale' }, name, [
            { type: 'FieldValueInvalid', field: 'spec.replicas', value: replicas ?? null, detail: 'must be greater than or equal to 0' },
          ]);
        }
        const rv = wanted.metadata?.resourceVersion;
        if (rv && rv !== current.metadata.resourceVersion) throw apiErrors.modified(this.store.ref, name);
        const parent = this.strategy.withReplicas(current, replicas);
        const parentOwners = owners.toParent(wanted.metadata?.managedFields);
        const { managedFields: _old, ...metadata } = parent.metadata;
        return { ...parent, metadata: parentOwners ? { ...metadata, managedFields: parentOwners } : metadata };
      },
      { ...options, ownershipRecorded: true, admissionView: { subResource: 'scale', kind: scaleGvk, of: (parent) => this.toScale(parent) } },
    );
    return { ...result, object: this.toScale(result.object), warnings: [...admissionWarnings, ...result.warnings] };
  }
}

function scaleBody(body: unknown): KubeObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw apiErrors.badRequest('the body of a Scale must be a JSON object');
  const object = body as KubeObject;
  return { ...object, metadata: { ...(object.metadata ?? {}) } };
}
