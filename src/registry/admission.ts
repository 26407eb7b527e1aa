// The contract between the store and admission (k8s.io/apiserver's admission.Interface and admission.Attributes):
// the store says what a write is about to do; plugins above the registry (webhooks, policies, quota) mutate or
// refuse it. The store calls mutation before its own defaulting and validation, and validation after them, on every
// attempt of an update, as kube-apiserver's generic store does. Only requests made by a user go through admission.
import type { KubeObject } from '../api/meta/types.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** Who asks, as kube's user.Info (the registry does not import auth: the shape is restated). */
export interface AdmissionUser {
  name: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionKind {
  group: string;
  version: string;
  kind: string;
}

/** What a request carries into the store for admission: set by the HTTP layer, absent for the server's own writes. */
export interface AdmissionRequest {
  user: AdmissionUser;
  /** The request's options as AdmissionReview's `options` shows them (meta.k8s.io/v1 CreateOptions, UpdateOptions…). */
  options: Record<string, unknown>;
  /** Adds annotations to the request's audit event (kube's AddAnnotation), refusals included. */
  annotate?: (annotations: Record<string, string>) => void;
}

/** One admission decision's input: AdmissionReview v1's request, less the uid each webhook call gets its own of. */
export interface AdmissionAttributes {
  operation: AdmissionOperation;
  kind: AdmissionKind;
  resource: GroupVersionResource;
  /** "" for the main resource, "status", "scale", or a connect subresource. */
  subResource: string;
  name: string;
  namespace: string;
  /** The object being written (null on DELETE); a mutating plugin replaces it with its result, never changes it in place. */
  object: KubeObject | null;
  /** The object as stored (null on CREATE and CONNECT). */
  oldObject: KubeObject | null;
  dryRun: boolean;
  options: Record<string, unknown> | null;
  userInfo: AdmissionUser;
  /** The request's audit annotations: a plugin that refuses may annotate before it throws. */
  annotate?: (annotations: Record<string, string>) => void;
}

export interface AdmissionOutcome {
  /** Warnings for the client's Warning headers. */
  warnings: string[];
  /** Annotations for the request's audit event, keyed "<plugin or policy>/<key>". */
  auditAnnotations: Record<string, string>;
}

export interface MutationOutcome extends AdmissionOutcome {
  /** The object after every mutating plugin (the same as attributes.object when none changed it). */
  object: KubeObject | null;
}

/**
 * The chain the store calls. Both raise ApiError to refuse (kube's Status as plugins word it); neither may hang past
 * its plugins' timeouts.
 */
export interface AdmissionChain {
  mutate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<MutationOutcome>;
  validate(attributes: AdmissionAttributes, signal?: AbortSignal): Promise<AdmissionOutcome>;
}
