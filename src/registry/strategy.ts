// What a resource contributes to the generic store (k8s.io/apiserver's RESTCreateStrategy, RESTUpdateStrategy and
// status strategy, folded into one interface). The store calls these in kube-apiserver's order; none of them
// touches storage, and all of them run again on every retry of an update, so they must be deterministic.
import type { FieldError } from '../api/meta/field-errors.js';
import type { NameValidator } from '../api/meta/object-meta-validation.js';
import type { PrinterColumn } from '../api/meta/printers.js';
import type { KubeObject } from '../api/meta/types.js';
import type { JsonSchema } from '../api/v1alpha1/schemas.js';

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Plural name, as in the URL: "notebooks". */
  resource: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Subresources that read and write the object (or a view of it): "status", and "scale" when it has one. */
  subresources: string[];
  /** Subresources that do work rather than read or write the object: notebooks/proxy, jobs/logs. */
  connect?: ConnectSubresource[];
}

/** A subresource that connects somewhere (kube's "connect" action), as discovery and OpenAPI describe it. */
export interface ConnectSubresource {
  name: string;
  /** Discovery verbs, e.g. services/proxy's create, delete, get, patch, update. */
  verbs: string[];
  /** HTTP methods served. */
  methods: ('GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS')[];
  /** Whether a trailing path is accepted (…/proxy/{path}). */
  path: boolean;
  /** Query parameters, for OpenAPI. */
  query: { name: string; description: string; type: 'string' | 'integer' | 'boolean' }[];
  /** The kind discovery names for it, e.g. NotebookProxyOptions. */
  kind: string;
  description: string;
}

/** How a resource with a scale subresource maps to autoscaling/v1 Scale. */
export interface ScaleStrategy {
  /** Where the desired replicas live in the object, for ownership moving through the Scale. */
  readonly replicasPath: { field: string }[];
  /** The same mapping as a CustomResourceDefinition's scale subresource states it, for the CRD equivalent. */
  readonly jsonPaths: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
  specReplicas(object: KubeObject): number;
  statusReplicas(object: KubeObject): number;
  /** The label selector of the pods, as a string (Scale.status.selector). */
  selector(object: KubeObject): string;
  /** The object with its desired replicas set to `replicas`; pure. */
  withReplicas(object: KubeObject, replicas: number): KubeObject;
}

/** A resource whose status holds progress its workload reports through a subresource of its own kind (jobs/progress). */
export interface ProgressStrategy {
  /** The kind the subresource reads and writes, in the resource's group, e.g. JobProgress. */
  readonly kind: string;
  /** Its OpenAPI component. */
  readonly schemaName: string;
}

export interface Strategy {
  readonly info: ResourceInfo;
  /** The JSON Schema component of the kind, in `schemas`. */
  readonly schemaName: string;
  /** The component schemas `schemaName` is found in, with everything it references. */
  readonly schemas: Readonly<Record<string, JsonSchema>>;
  /** The Table columns of `kubectl get`, Name first. */
  readonly printerColumns: readonly PrinterColumn[];
  readonly validateName: NameValidator;
  /** Field selectors beyond metadata.name and metadata.namespace, e.g. "status.phase". */
  readonly selectableFields: readonly string[];
  /** The values of every selectable field of an object, metadata.name and metadata.namespace included. */
  fieldValues(object: KubeObject): Record<string, string>;

  /** Before validation on create: drop status, set defaults. Mutates `object`. */
  prepareForCreate(object: KubeObject): void;
  /** Before validation on update of the main resource: keep the old status. Mutates `object`. */
  prepareForUpdate(object: KubeObject, old: KubeObject): void;
  /** Semantic rules beyond the schema (cross-field checks). */
  validate(object: KubeObject): FieldError[];
  validateUpdate(object: KubeObject, old: KubeObject): FieldError[];
  /** Warnings returned to the client on create and update (deprecated or suspicious settings). */
  warnings(object: KubeObject, old?: KubeObject): string[];

  /** Before validation on a /status write: keep everything but status from the old object. Mutates `object`. */
  prepareForStatusUpdate(object: KubeObject, old: KubeObject): void;
  validateStatusUpdate(object: KubeObject, old: KubeObject): FieldError[];

  /** Present when the resource serves /scale. */
  readonly scale?: ScaleStrategy;
  /** Present when the resource serves /progress. */
  readonly progress?: ProgressStrategy;
}

/** kube's scope names, as discovery and CustomResourceDefinitions spell them. */
export function scopeOf(info: Pick<ResourceInfo, 'namespaced'>): 'Namespaced' | 'Cluster' {
  return info.namespaced ? 'Namespaced' : 'Cluster';
}

/**
 * Namespace lifecycle admission for creates: 404 when the namespace does not exist, 403 NamespaceTerminating when
 * it is being deleted. Absent in standalone mode, where namespaces are just names.
 */
export interface NamespaceLifecycle {
  admitCreate(namespace: string): Promise<void>;
}
