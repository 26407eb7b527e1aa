// What the three reconcilers share: owner references, labels, conditions (metav1.Condition through one helper),
// dataset readiness, and status writes through the registry's status path (a conflict means: compute again).
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import { toMetaTime } from '../api/meta/time.js';
import type { Condition, KubeObject } from '../api/meta/types.js';
import type { Dataset, DatasetMount, DatasetSpec, Job, Notebook } from '../api/v1alpha1/types.js';
import { ApiError } from '../api/meta/errors.js';
import { StatusError } from '../kube/status-error.js';
import type { Informer } from '../registry/informer.js';
import type { Store } from '../registry/store.js';
import { managedBy, managedByLabel } from './runtime/kube-children.js';

/** How often a workload whose pods are not all created looks again for kube-apiserver's quota refusals of them. */
export const quotaRecheckMs = 10_000;

/** What every stored object has whatever its kind: the envelope the helpers below read. */
export type ObjectHead = Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>;

/** A Notebook, Job or Dataset as the registry holds it: its generated type, with the envelope always filled. */
export type Stored<T extends Notebook | Job | Dataset> = T & ObjectHead;

/**
 * The registry's open object read as the generated type of its resource: the one place a reconciler's object stops
 * being a KubeObject. Sound because the store admits no object its resource's JSON Schema rejects, and types.ts is
 * generated from those same schemas.
 */
export function asStored<T extends Notebook | Job | Dataset>(object: KubeObject | undefined): Stored<T> | undefined {
  return object as Stored<T> | undefined;
}

export function ownerReference(owner: ObjectHead): V1OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Labels on every child: the managed-by label the informers select on, and the owner's name by kind. */
export function childLabels(owner: ObjectHead): Record<string, string> {
  return { [managedByLabel]: managedBy, [`ai.example.io/${owner.kind.toLowerCase()}`]: owner.metadata.name! };
}

export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/**
 * Sets one condition, keeping lastTransitionTime when the status did not change (metav1.Condition semantics).
 * Returns the new list; the input is not modified.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: { type: string; status: Condition['status']; reason: string; message: string },
  generation: number | undefined,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: Condition = {
    type: next.type,
    status: next.status,
    observedGeneration: generation,
    lastTransitionTime: previous && previous.status === next.status ? previous.lastTransitionTime : toMetaTime(),
    reason: next.reason,
    message: next.message,
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** The datasets a workload names that are not Ready yet (missing ones included). */
export function datasetsNotReady(datasets: Informer, namespace: string, mounts: DatasetMount[]): string[] {
  return mounts
    .filter((mount) => {
      const dataset = asStored<Dataset>(datasets.get(namespace, mount.name));
      return dataset?.status?.phase !== 'Ready';
    })
    .map((m) => m.name);
}

/**
 * The claim that holds a Dataset's data: its own, filled by the prefetch Job, or, for a pvc:// source it does not
 * copy, the source claim itself, with the source's path inside it.
 */
export function datasetLocation(name: string, spec: DatasetSpec | undefined): { claimName: string; subPath?: string; sourceClaim: boolean } {
  const source = spec?.prefetch === false ? /^pvc:\/\/([^/]+)\/*(.*)$/.exec(spec.source.uri) : null;
  if (!source) return { claimName: name, sourceClaim: false };
  const subPath = source[2]!.replace(/\/+$/, '');
  return { claimName: source[1]!, sourceClaim: true, ...(subPath ? { subPath } : {}) };
}

/** The volumes and mounts that give a workload's containers the datasets it names, each where its data is. */
export function datasetVolumes(datasets: Informer, namespace: string, wanted: DatasetMount[]): { volumes: Volume[]; mounts: VolumeMount[] } {
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  for (const d of wanted) {
    const { claimName, subPath } = datasetLocation(d.name, asStored<Dataset>(datasets.get(namespace, d.name))?.spec);
    const readOnly = d.readOnly ?? true;
    volumes.push({ name: `dataset-${d.name}`, persistentVolumeClaim: { claimName, readOnly } });
    mounts.push({ name: `dataset-${d.name}`, mountPath: d.mountPath, readOnly, ...(subPath ? { subPath } : {}) });
  }
  return { volumes, mounts };
}

/** The field manager a reconciler writes status as, e.g. "notebook-controller". */
export function controllerManager(store: Store): string {
  return `${store.strategy.info.singular}-controller`;
}

/**
 * Writes status by server-side apply on /status as the kind's controller, unless the object already has it: it owns
 * exactly the status fields it sets (others' status fields stay), and the resourceVersion it observed is a
 * precondition, so a 409 means the object moved on and the status must be computed again. A conflict is thrown, not
 * retried here (the controller requeues); a deleted object is left alone.
 */
export async function writeStatus(store: Store, object: ObjectHead & { status?: unknown }, status: object): Promise<boolean> {
  if (JSON.stringify(object.status ?? {}) === JSON.stringify(status)) return false;
  const { name, namespace, resourceVersion } = object.metadata;
  const config = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace, resourceVersion }, status };
  try {
    await store.apply(namespace!, name!, config, { fieldManager: controllerManager(store), force: true }, {}, true);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) return false;
    throw error;
  }
}

/**
 * Condition on an object whose children kube-apiserver refused (say the server's role lacks a verb), with its
 * Status's reason and message, as kube's ReplicaSet controller reports ReplicaFailure; gone once they are written.
 */
export const childFailure = 'ChildFailure';

/** A copy of `status` without ChildFailure, its conditions untouched when it has none, so nothing is rewritten. */
export function withoutChildFailure<S extends { conditions?: Condition[] }>(status: S | undefined): S {
  const copy = { ...status } as S;
  if (copy.conditions?.some((c) => c.type === childFailure)) copy.conditions = removeCondition(copy.conditions, childFailure);
  return copy;
}

/** Sets ChildFailure on the object named by `key` when a child write was refused with a Status. */
export async function reportChildFailure(store: Store, cached: Informer, key: string, error: unknown): Promise<void> {
  if (!(error instanceof StatusError)) return;
  const [namespace, name] = splitKey(key);
  const object = cached.get(namespace, name) as (ObjectHead & { status?: { conditions?: Condition[] } }) | undefined;
  if (!object || object.metadata.deletionTimestamp) return;
  const conditions = setCondition(object.status?.conditions, { type: childFailure, status: 'True', reason: error.reason ?? 'Failure', message: error.message }, object.metadata.generation);
  await writeStatus(store, object, { ...object.status, conditions });
}
