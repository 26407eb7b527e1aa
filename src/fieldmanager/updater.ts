// Ownership bookkeeping of one write (structured-merge-diff's merge.Updater): an update takes the fields it
// changed from everyone else; an apply merges a configuration, owns exactly the fields it sets, removes the fields
// its manager stopped setting (unless someone else owns them) and conflicts with other owners of changed fields.
import { FieldSet } from './field-set.js';
import type { Path } from './path.js';
import type { SmdSchema, TypeRef } from './schema.js';
import type { Steps } from './steps.js';
import { Typed, type Comparison } from './typed.js';
import { equalValues, type Json } from './value.js';

export interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

/** Manager identifier → the fields it owns. */
export type ManagedFields = Map<string, VersionedSet>;

export interface Conflict {
  manager: string;
  path: Path;
}

export class ConflictsError extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(`${conflicts.length} conflicts`);
  }
}

export class Updater {
  private readonly typed: Typed;

  constructor(
    private readonly schema: SmdSchema,
    private readonly root: TypeRef,
    /** Fields the strategy resets (status on the main resource, spec on /status): never owned, never conflicting. */
    private readonly ignored: FieldSet | undefined,
  ) {
    this.typed = new Typed(schema);
  }

  get typedValues(): Typed {
    return this.typed;
  }

  private filter(set: FieldSet): FieldSet {
    return this.ignored ? set.recursiveDifference(this.ignored) : set;
  }

  private *diff(oldObject: Json, newObject: Json, version: string, managers: ManagedFields, workflow: string, force: boolean): Steps<Comparison> {
    const raw = yield* this.typed.compareSteps(oldObject, newObject, this.root);
    yield;
    const compare = { added: this.filter(raw.added), modified: this.filter(raw.modified), removed: this.filter(raw.removed) };
    const conflicts = new Map<string, FieldSet>();
    const changed = compare.modified.union(compare.added);
    for (const [manager, owned] of managers) {
      if (manager === workflow) continue;
      // A single-version API: a set recorded for another version cannot be converted, and is dropped as kube does.
      if (owned.apiVersion !== version) {
        managers.delete(manager);
        continue;
      }
      const conflicting = owned.set.intersection(changed);
      if (!conflicting.empty()) conflicts.set(manager, conflicting);
    }
    if (!force && conflicts.size > 0) {
      const list: Conflict[] = [];
      for (const manager of [...conflicts.keys()].sort()) conflicts.get(manager)!.forEach((path) => list.push({ manager, path }));
      throw new ConflictsError(list);
    }
    for (const [manager, conflicting] of conflicts) {
      const owned = managers.get(manager)!;
      managers.set(manager, { ...owned, set: owned.set.difference(conflicting) });
    }
    if (!compare.removed.empty()) {
      for (const [manager, owned] of managers) {
        if (manager !== workflow) managers.set(manager, { ...owned, set: owned.set.difference(compare.removed) });
      }
    }
    for (const [manager, owned] of managers) if (owned.set.empty()) managers.delete(manager);
    return compare;
  }

  *update(liveObject: Json, newObject: Json, version: string, managers: ManagedFields, manager: string): Steps<ManagedFields> {
    const compare = yield* this.diff(liveObject, newObject, version, managers, manager, true);
    yield;
    const previous = managers.get(manager)?.set ?? new FieldSet();
    const set = this.filter(previous.difference(compare.removed).union(compare.modified).union(compare.added));
    if (set.empty()) managers.delete(manager);
    else managers.set(manager, { set, apiVersion: version, applied: false });
    return managers;
  }

  /** Returns the new object, or undefined when applying changes nothing in it. */
  *apply(liveObject: Json, config: Json, version: string, managers: ManagedFields, manager: string, force: boolean): Steps<{ object: Json | undefined; managers: ManagedFields }> {
    let newObject = this.typed.merge(liveObject, config, this.root) ?? null;
    yield;
    const lastSet = managers.get(manager);
    const set = this.filter(this.typed.toFieldSet(config, this.root));
    managers.set(manager, { set, apiVersion: version, applied: true });
    yield;
    newObject = yield* this.prune(newObject, managers, lastSet);
    yield* this.diff(liveObject, newObject, version, managers, manager, force);
    yield;
    return { object: equalValues(liveObject, newObject) ? undefined : newObject, managers };
  }

  private named(set: FieldSet): FieldSet {
    return set.ensureNamedFieldsAreMembers(this.schema, this.root);
  }

  private *prune(merged: Json, managers: ManagedFields, lastSet: VersionedSet | undefined): Steps<Json> {
    if (!lastSet || lastSet.set.empty()) return merged;
    let pruned = this.typed.removeItems(merged, this.named(lastSet.set), this.root);
    // Add back what any manager still owns.
    let managed = new FieldSet();
    for (const owned of managers.values()) managed = managed.union(owned.set);
    yield;
    const mergedSet = this.named(this.typed.toFieldSet(merged, this.root));
    yield;
    const prunedSet = this.named(this.typed.toFieldSet(pruned, this.root));
    yield;
    pruned = this.typed.removeItems(merged, mergedSet.difference(prunedSet.union(this.named(managed))), this.root);
    yield;
    // Add back what the manager's last apply did not own (removing a parent must not take unowned children along).
    const afterOwned = this.named(this.typed.toFieldSet(pruned, this.root));
    yield;
    return this.typed.removeItems(merged, mergedSet.difference(afterOwned).intersection(this.named(lastSet.set)), this.root);
  }
}
