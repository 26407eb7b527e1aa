// Ownership across the scale subresource (k8s.io/apimachinery's managedfields.ScaleHandler): whoever owns the
// parent's replicas field owns Scale's spec.replicas, and whoever writes Scale's spec.replicas comes to own the
// parent's replicas field, recorded with subresource "scale".
import type { ManagedFieldsEntry } from '../api/meta/types.js';
import { FieldSet } from './field-set.js';
import { decodeManagedFields, encodeManagedFields, emptyManaged } from './managed-fields.js';
import type { Path } from './path.js';

const scaleApiVersion = 'autoscaling/v1';
const replicasInScale: Path = [{ field: 'spec' }, { field: 'replicas' }];

export class ScaleManagedFields {
  constructor(
    private readonly parentEntries: ManagedFieldsEntry[] | undefined,
    private readonly parentApiVersion: string,
    private readonly replicasPath: Path,
  ) {}

  /** The Scale's managedFields: the owners of the parent's replicas field. */
  toSubresource(): ManagedFieldsEntry[] | undefined {
    const parent = decodeManagedFields(this.parentEntries);
    const out = emptyManaged();
    for (const [manager, owned] of parent.fields) {
      if (owned.apiVersion !== this.parentApiVersion || !owned.set.has(this.replicasPath)) continue;
      out.fields.set(manager, { set: FieldSet.of(replicasInScale), apiVersion: scaleApiVersion, applied: owned.applied });
      out.times.set(manager, parent.times.get(manager));
    }
    return encodeManagedFields(out);
  }

  /** The parent's managedFields after a Scale write left the Scale with `scaleEntries`. */
  toParent(scaleEntries: ManagedFieldsEntry[] | undefined): ManagedFieldsEntry[] | undefined {
    const parent = decodeManagedFields(this.parentEntries);
    const scale = decodeManagedFields(scaleEntries).fields;
    const out = emptyManaged();
    for (const [manager, owned] of parent.fields) {
      if (owned.apiVersion !== this.parentApiVersion) continue;
      if (!owned.set.has(this.replicasPath)) {
        out.fields.set(manager, owned);
        out.times.set(manager, parent.times.get(manager));
        continue;
      }
      if (!scale.has(manager)) {
        const set = owned.set.difference(FieldSet.of(this.replicasPath));
        if (!set.empty()) {
          out.fields.set(manager, { ...owned, set });
          out.times.set(manager, parent.times.get(manager));
        }
      } else {
        out.fields.set(manager, owned);
        out.times.set(manager, parent.times.get(manager));
        scale.delete(manager);
      }
    }
    for (const [manager, owned] of scale) {
      if (!owned.set.has(replicasInScale)) continue;
      out.fields.set(manager, { set: FieldSet.of(this.replicasPath), apiVersion: this.parentApiVersion, applied: owned.applied });
      // kube-apiserver takes the time from the parent, where a new manager has none: no time is recorded.
      out.times.set(manager, parent.times.get(manager));
    }
    return encodeManagedFields(out);
  }
}
