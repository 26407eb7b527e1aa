// Walks a JSON value beside its schema, as structured-merge-diff's typed package does: the set of fields a value
// sets, the merge of an applied configuration into a live object, the comparison of two objects, and the removal
// of a set of fields. Lists and maps follow their x-kubernetes-list-type / x-kubernetes-map-type.
import { FieldSet } from './field-set.js';
import { comparePathElements, pathString, serializePathElement, sortKey, type KeyField, type Path, type PathElement } from './path.js';
import type { Atom, ListType, MapType, SmdSchema, TypeRef } from './schema.js';
import { runToEnd, type Steps } from './steps.js';
import { equalValues, isMap, ownValue, setOwn, type Json, type JsonMap } from './value.js';

/** A value that does not fit its schema in a way merging cannot work around (duplicate or keyless list items). */
export class TypedValueError extends Error {}

type Value = Json | undefined;
type Handled = 'scalar' | 'list' | 'map' | undefined;

function deduce(atom: Atom, value: Value): Atom {
  if (value === undefined || value === null) return atom;
  if (typeof value !== 'object') return atom.scalar ? { scalar: true } : atom;
  if (Array.isArray(value)) return atom.list ? { list: atom.list } : atom;
  return atom.map ? { map: atom.map } : atom;
}

const handledAs = (atom: Atom): Handled => (atom.map ? 'map' : atom.scalar ? 'scalar' : atom.list ? 'list' : undefined);
const asList = (value: Value): Json[] | undefined => (Array.isArray(value) ? value : undefined);
const asMap = (value: Value): JsonMap | undefined => (isMap(value) ? value : undefined);
const fieldType = (map: MapType, key: string): TypeRef => map.fields.get(key)?.type ?? map.element ?? {};
const emptyList = (value: Value): boolean => (asList(value)?.length ?? 0) === 0;
const emptyMap = (value: Value): boolean => Object.keys(asMap(value) ?? {}).length === 0;

/**
 * A map's keys in field-set order (UTF-16 code units, as comparePathElements orders fields): the sets built from
 * them then grow at their end, where an unsorted map of 100,000 keys would shift the members on every insert.
 */
const sortedKeys = (map: JsonMap): string[] => Object.keys(map).sort();

/** A list's items in field-set order, for the same reason: 40,000 env entries in any order. */
function inSetOrder<T extends { pe: PathElement }>(items: Iterable<T>): T[] {
  const list = [...items];
  // Items told apart by one string (a key field such as env's name, or a set's value) sort as strings sort,
  // which is comparePathElements' order for them and several times faster than calling it.
  const texts = list.map((item) => singleString(item.pe));
  const first = list[0]?.pe;
  const sameKind = (pe: PathElement): boolean =>
    first !== undefined && 'key' in first ? 'key' in pe && pe.key[0]![0] === first.key[0]![0] : 'value' in pe;
  if (texts.every((text) => text !== undefined) && list.every((item) => sameKind(item.pe))) {
    const order = list.map((_, i) => i).sort((a, b) => (texts[a]! < texts[b]! ? -1 : texts[a]! > texts[b]! ? 1 : 0));
    return order.map((i) => list[i]!);
  }
  return list.sort((a, b) => comparePathElements(a.pe, b.pe));
}

function singleString(pe: PathElement): string | undefined {
  if ('key' in pe) return pe.key.length === 1 && typeof pe.key[0]![1] === 'string' ? pe.key[0]![1] : undefined;
  if ('value' in pe) return typeof pe.value === 'string' ? pe.value : undefined;
  return undefined;
}

/** Whether two sides of a list or map are taken as one value: atomic, or empty on both sides. */
function wholeValue(atom: Atom, kind: 'list' | 'map', lhs: Value, rhs: Value): boolean {
  if (kind === 'list') return atom.list!.relationship === 'atomic' || (emptyList(lhs) && emptyList(rhs));
  return atom.map!.relationship === 'atomic' || (emptyMap(lhs) && emptyMap(rhs));
}

export class Typed {
  constructor(private readonly schema: SmdSchema) {}

  /** The path element of a list item: its key fields for a list-map, its value for a set. */
  itemPathElement(list: ListType, item: Json): PathElement {
    if (list.relationship !== 'associative') throw new TypedValueError('invalid indexing of non-associative list');
    if (list.keys.length > 0) {
      if (item === null) throw new TypedValueError('associative list with keys may not have a null element');
      if (!isMap(item)) throw new TypedValueError('associative list with keys may not have non-map elements');
      const key: KeyField[] = [];
      const element = this.schema.resolve(list.element);
      for (const name of list.keys) {
        if (Object.hasOwn(item, name)) key.push([name, item[name]!]);
        else {
          if (!element.map) throw new TypedValueError(`couldn't find default value for ${name}: associative list may not have non-map types`);
          const fallback = element.map.fields.get(name)?.default;
          if (fallback === undefined) {
            throw new TypedValueError(`associative list with keys has an element that omits key field "${name}" (and doesn't have default value)`);
          }
          key.push([name, fallback as Json]);
        }
      }
      return { key: sortKey(key) };
    }
    if (isMap(item)) throw new TypedValueError("associative list without keys has an element that's a map type");
    if (Array.isArray(item)) throw new TypedValueError('not supported: associative list with lists as elements');
    if (item === null) throw new TypedValueError("associative list without keys has an element that's an explicit null");
    return { value: item };
  }

  /** Throws when an applied configuration has duplicate or keyless items in an associative list. */
  validateApplied(value: Json, type: TypeRef, path: Path = []): void {
    const atom = deduce(this.schema.resolve(type), value);
    const kind = handledAs(atom);
    if (kind === 'list' && atom.list!.relationship === 'associative' && Array.isArray(value)) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        let pe: PathElement;
        try {
          pe = this.itemPathElement(atom.list!, item);
        } catch (error) {
          throw new TypedValueError(`${pathString(path)}: element ${i}: ${(error as Error).message}`);
        }
        const id = serializePathElement(pe);
        if (seen.has(id)) throw new TypedValueError(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
        seen.add(id);
        this.validateApplied(item, atom.list!.element, [...path, pe]);
      });
    } else if (kind === 'map' && atom.map!.relationship !== 'atomic' && isMap(value)) {
      for (const [key, child] of Object.entries(value)) this.validateApplied(child, fieldType(atom.map!, key), [...path, { field: key }]);
    }
  }

  toFieldSet(value: Json, type: TypeRef): FieldSet {
    const set = new FieldSet();
    this.collect(value, type, [], set);
    return set;
  }

  private collect(value: Json, type: TypeRef, path: Path, set: FieldSet): void {
    const atom = deduce(this.schema.resolve(type), value);
    switch (handledAs(atom)) {
      case 'list': {
        if (atom.list!.relationship === 'atomic') return set.insert(path);
        const list = asList(value);
        if (!list) return;
        for (const { pe, values } of inSetOrder(this.groupItems(atom.list!, list).values())) {
          // Duplicated items cannot be told apart: only the item itself is recorded.
          if (values.length === 1) this.collect(values[0]!, atom.list!.element, [...path, pe], set);
          set.insert([...path, pe]);
        }
        return;
      }
      case 'map': {
        if (atom.map!.relationship === 'atomic') return set.insert(path);
        const map = asMap(value);
        if (!map) return;
        for (const key of sortedKeys(map)) {
          const child = map[key]!;
          const childPath = [...path, { field: key }];
          this.collect(child, fieldType(atom.map!, key), childPath, set);
          if (child === null || (isMap(child) && Object.keys(child).length === 0) || !atom.map!.fields.has(key)) set.insert(childPath);
        }
        return;
      }
      default:
        set.insert(path);
    }
  }

  /** The path elements of a list's items; items whose element cannot be computed are left out. */
  private indexItems(list: ListType, items: Json[]): { pe: PathElement; id: string; item: Json }[] {
    const out: { pe: PathElement; id: string; item: Json }[] = [];
    for (const item of items) {
      try {
        const pe = this.itemPathElement(list, item);
        out.push({ pe, id: serializePathElement(pe), item });
      } catch {
        // Such an item cannot be owned; the object's validation reports it.
      }
    }
    return out;
  }

  /** The live object with the configuration merged in, as server-side apply computes it. */
  merge(lhs: Value, rhs: Value, type: TypeRef, path: Path = []): Value {
    const atom = this.schema.resolve(type);
    const chosen = rhs === undefined ? deduce(atom, lhs) : deduce(atom, rhs);
    const keepRhs = (): Value => (rhs !== undefined ? rhs : lhs);
    switch (handledAs(chosen)) {
      case 'list':
        if (wholeValue(chosen, 'list', lhs, rhs)) return keepRhs();
        return this.mergeList(chosen.list!, asList(lhs) ?? [], asList(rhs) ?? [], path);
      case 'map': {
        if (wholeValue(chosen, 'map', lhs, rhs)) return keepRhs();
        const l = asMap(lhs);
        const r = asMap(rhs);
        const out: JsonMap = {};
        const keys = [...Object.keys(l ?? {}), ...Object.keys(r ?? {}).filter((k) => !(l && Object.hasOwn(l, k)))];
        for (const key of keys) {
          const merged = this.merge(ownValue(l, key), ownValue(r, key), fieldType(chosen.map!, key), [...path, { field: key }]);
          if (merged !== undefined) setOwn(out, key, merged);
        }
        return Object.keys(out).length > 0 ? out : undefined;
      }
      default:
        return keepRhs();
    }
  }

  private indexForMerge(list: ListType, items: Json[], allowDuplicates: boolean, path: Path): { pes: PathElement[]; ids: string[]; observed: Map<string, Json> } {
    const pes: PathElement[] = [];
    const ids: string[] = [];
    const observed = new Map<string, Json>();
    items.forEach((item, i) => {
      let pe: PathElement;
      try {
        pe = this.itemPathElement(list, item);
      } catch (error) {
        throw new TypedValueError(`${pathString(path)}: element ${i}: ${(error as Error).message}`);
      }
      const id = serializePathElement(pe);
      if (observed.has(id)) {
        if (!allowDuplicates) throw new TypedValueError(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
        observed.set(id, null);
      } else observed.set(id, item);
      pes.push(pe);
      ids.push(id);
    });
    return { pes, ids, observed };
  }

  /** Items in the configuration's order, live-only items kept near the neighbours they had (structured-merge-diff's order). */
  private mergeList(list: ListType, lhs: Json[], rhs: Json[], path: Path): Value {
    const r = this.indexForMerge(list, rhs, false, path);
    const l = this.indexForMerge(list, lhs, true, path);
    const shared = r.ids.filter((id) => l.observed.has(id));
    let nextShared = shared.shift();
    const mergedRhs = new Set<string>();
    const out: Json[] = [];
    const push = (pe: PathElement, lChild: Value, rChild: Value): void => {
      const merged = this.merge(lChild, rChild, list.element, [...path, pe]);
      if (merged !== undefined) out.push(merged);
    };
    let li = 0;
    let ri = 0;
    while (li < l.ids.length || ri < r.ids.length) {
      if (li < l.ids.length && ri < r.ids.length) {
        const id = l.ids[li]!;
        if (id === r.ids[ri]) {
          mergedRhs.add(id);
          push(l.pes[li]!, l.observed.get(id), r.observed.get(id));
          li++;
          ri++;
          nextShared = shared.shift();
          continue;
        }
        if (r.observed.has(id) && nextShared !== undefined && nextShared !== id) {
          li++;
          continue;
        }
      }
      if (li < l.ids.length) {
        const id = l.ids[li]!;
        if (!r.observed.has(id)) {
          push(l.pes[li]!, lhs[li], undefined);
          li++;
          continue;
        } else if (mergedRhs.has(id)) li++;
      }
      if (ri < r.ids.length) {
        const id = r.ids[ri]!;
        mergedRhs.add(id);
        push(r.pes[ri]!, l.observed.get(id), r.observed.get(id));
        ri++;
        if (nextShared !== undefined && nextShared === id) nextShared = shared.shift();
      }
    }
    return out.length > 0 ? out : undefined;
  }

  /** Fields added, modified and removed going from `lhs` to `rhs`. */
  compare(lhs: Json, rhs: Json, type: TypeRef): Comparison {
    return runToEnd(this.compareSteps(lhs, rhs, type));
  }

  /** compare, yielding every few thousand nodes: one list or map of an object may hold 50,000 items. */
  *compareSteps(lhs: Json, rhs: Json, type: TypeRef): Steps<Comparison> {
    const walk: Walk = { c: { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() }, visited: 0 };
    yield* this.compareNode(lhs, rhs, type, [], walk);
    return walk.c;
  }

  private *compareNode(lhs: Value, rhs: Value, type: TypeRef, path: Path, walk: Walk): Steps<void> {
    if (++walk.visited % nodesPerStep === 0) yield;
    const c = walk.c;
    // One side absent: the whole subtree of the other is added (or removed), built straight into the set.
    if ((lhs === undefined) !== (rhs === undefined) && path.length > 0) {
      const target = lhs === undefined ? c.added : c.removed;
      yield* this.fill((lhs ?? rhs)!, type, target.nodeAt(path.slice(0, -1)), path[path.length - 1]!, walk);
      return;
    }
    const atom = this.schema.resolve(type);
    const al = deduce(atom, lhs);
    const ar = deduce(atom, rhs);
    let inLeaf: boolean;
    if (rhs === undefined) inLeaf = yield* this.compareAtom(al, lhs, rhs, path, walk);
    else if (lhs === undefined || handledAs(al) === handledAs(ar)) inLeaf = yield* this.compareAtom(ar, lhs, rhs, path, walk);
    else {
      yield* this.compareAtom(al, lhs, rhs, path, walk);
      inLeaf = yield* this.compareAtom(ar, lhs, rhs, path, walk);
    }
    if (!inLeaf) {
      if (lhs === undefined) c.added.insert(path);
      else if (rhs === undefined) c.removed.insert(path);
    }
  }

  /** Every node of a value present on one side only, as a comparison records it: itself, and what is below it. */
  private *fill(value: Json, type: TypeRef, parent: FieldSet, pe: PathElement, walk: Walk): Steps<void> {
    parent.addMember(pe);
    if (value === null || typeof value !== 'object') return;
    if (++walk.visited % nodesPerStep === 0) yield;
    const atom = deduce(this.schema.resolve(type), value);
    switch (handledAs(atom)) {
      case 'list': {
        if (atom.list!.relationship === 'atomic' || !Array.isArray(value) || value.length === 0) return;
        const node = parent.descend(pe);
        const groups = this.groupItems(atom.list!, value);
        if (groups.size > nodesPerStep) yield;
        for (const item of inSetOrder(groups.values())) {
          if (item.values.length > 1) node.addMember(item.pe);
          else yield* this.fill(item.values[0]!, atom.list!.element, node, item.pe, walk);
        }
        return;
      }
      case 'map': {
        if (atom.map!.relationship === 'atomic' || !isMap(value)) return;
        const keys = sortedKeys(value);
        if (keys.length === 0) return;
        const node = parent.descend(pe);
        for (const key of keys) {
          const child = value[key]!;
          // A scalar is only a member: no step of its own, as a map of 100,000 labels has 100,000 of them.
          if (child === null || typeof child !== 'object') {
            node.addMember({ field: key });
            if (++walk.visited % nodesPerStep === 0) yield;
          } else yield* this.fill(child, fieldType(atom.map!, key), node, { field: key }, walk);
        }
        return;
      }
      default:
    }
  }

  /** Returns true when the node was compared as a whole (a leaf). */
  private *compareAtom(atom: Atom, lhs: Value, rhs: Value, path: Path, walk: Walk): Steps<boolean> {
    const c = walk.c;
    const leaf = (): true => {
      if (lhs === undefined) c.added.insert(path);
      else if (rhs === undefined) c.removed.insert(path);
      else if (!equalValues(lhs, rhs)) c.modified.insert(path);
      return true;
    };
    switch (handledAs(atom)) {
      case 'list':
        if (wholeValue(atom, 'list', lhs, rhs)) return leaf();
        yield* this.compareList(atom.list!, asList(lhs) ?? [], asList(rhs) ?? [], path, walk);
        return false;
      case 'map': {
        if (wholeValue(atom, 'map', lhs, rhs)) return leaf();
        const l = asMap(lhs);
        const r = asMap(rhs);
        const keys = [...new Set([...Object.keys(l ?? {}), ...Object.keys(r ?? {})])].sort();
        for (const key of keys) yield* this.compareNode(ownValue(l, key), ownValue(r, key), fieldType(atom.map!, key), [...path, { field: key }], walk);
        return false;
      }
      default:
        return leaf();
    }
  }

  /** A list's items grouped by path element, in first-seen order (duplicates stay together). */
  private groupItems(list: ListType, items: Json[]): Map<string, { pe: PathElement; values: Json[] }> {
    const groups = new Map<string, { pe: PathElement; values: Json[] }>();
    for (const { pe, id, item } of this.indexItems(list, items)) {
      const group = groups.get(id);
      if (group) group.values.push(item);
      else groups.set(id, { pe, values: [item] });
    }
    return groups;
  }

  private *compareList(list: ListType, lhs: Json[], rhs: Json[], path: Path, walk: Walk): Steps<void> {
    const c = walk.c;
    const lGroups = this.groupItems(list, lhs);
    const rGroups = this.groupItems(list, rhs);
    const lValues = new Map([...lGroups].map(([id, g]) => [id, g.values]));
    const rValues = new Map([...rGroups].map(([id, g]) => [id, g.values]));
    const order = inSetOrder([...lGroups, ...[...rGroups].filter(([id]) => !lGroups.has(id))].map(([id, g]) => ({ id, pe: g.pe })));
    for (const { id, pe } of order) {
      const l = lValues.get(id) ?? [];
      const r = rValues.get(id) ?? [];
      const itemPath = [...path, pe];
      if (l.length <= 1 && r.length <= 1) yield* this.compareNode(l[0], r[0], list.element, itemPath, walk);
      else if (l.length >= 2 && r.length >= 2) {
        if (l.length !== r.length || l.some((v, i) => !equalValues(v, r[i]))) c.modified.insert(itemPath);
      } else if (l.length >= 2) {
        if (r.length !== 0) yield* this.compareNode(undefined, r[0], list.element, itemPath, walk);
        c.removed.insert(itemPath);
      } else {
        if (l.length !== 0) yield* this.compareNode(l[0], undefined, list.element, itemPath, walk);
        c.added.insert(itemPath);
      }
    }
  }

  private tryItem(list: ListType, item: Json): PathElement | undefined {
    try {
      return this.itemPathElement(list, item);
    } catch {
      return undefined;
    }
  }

  /** The value without the fields in `toRemove`; emptied maps and lists disappear, as in structured-merge-diff. */
  removeItems(value: Json, toRemove: FieldSet, type: TypeRef): Json {
    return this.remove(value, toRemove, type) ?? null;
  }

  private remove(value: Json, toRemove: FieldSet, type: TypeRef): Value {
    const atom = deduce(this.schema.resolve(type), value);
    switch (handledAs(atom)) {
      case 'list': {
        if (!Array.isArray(value) || value.length === 0 || atom.list!.relationship === 'atomic') return undefined;
        const out: Json[] = [];
        for (const item of value) {
          const pe = this.tryItem(atom.list!, item);
          if (!pe) {
            out.push(item);
            continue;
          }
          if (toRemove.hasMember(pe)) continue;
          const subset = toRemove.child(pe);
          out.push(subset && !subset.empty() ? (this.remove(item, subset, atom.list!.element) ?? null) : item);
        }
        return out.length > 0 ? out : undefined;
      }
      case 'map': {
        if (!isMap(value) || Object.keys(value).length === 0 || atom.map!.relationship === 'atomic') return undefined;
        const out: JsonMap = {};
        for (const [key, child] of Object.entries(value)) {
          const pe = { field: key };
          if (toRemove.hasMember(pe)) continue;
          const subset = toRemove.child(pe);
          setOwn(out, key, subset && !subset.empty() ? (this.remove(child, subset, fieldType(atom.map!, key)) ?? null) : child);
        }
        return Object.keys(out).length > 0 ? out : undefined;
      }
      case 'scalar':
        return value;
      default:
        return undefined;
    }
  }
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** A comparison under way: its sets, and how many nodes it visited, for its steps. */
interface Walk {
  c: Comparison;
  visited: number;
}

/** How many nodes a comparison visits between two steps: some tens of milliseconds at most. */
const nodesPerStep = 8_192;
