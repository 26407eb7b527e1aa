// A set of field paths as a tree (structured-merge-diff's fieldpath.Set): members are the paths that end at this
// node, children the subtrees below. Both are kept sorted, so set algebra is a merge of sorted lists and FieldsV1
// comes out in kube-apiserver's order.
import { comparePathElements, deserializePathElement, serializePathElement, type Path, type PathElement } from './path.js';
import type { SmdSchema, TypeRef } from './schema.js';

interface Child {
  pe: PathElement;
  set: FieldSet;
}

function search<T>(items: T[], pe: PathElement, get: (item: T) => PathElement): { index: number; found: boolean } {
  // Sets are mostly built in order (a map's keys sorted first): then the place is at the end, found in one comparison.
  const last = items.length - 1;
  if (last < 0) return { index: 0, found: false };
  const atEnd = comparePathElements(get(items[last]!), pe);
  if (atEnd < 0) return { index: items.length, found: false };
  if (atEnd === 0) return { index: last, found: true };
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePathElements(get(items[mid]!), pe) < 0) lo = mid + 1;
    else hi = mid;
  }
  return { index: lo, found: lo < items.length && comparePathElements(get(items[lo]!), pe) === 0 };
}

function insertAt<T>(items: T[], index: number, item: T): void {
  if (index === items.length) items.push(item);
  else items.splice(index, 0, item);
}

const self = (pe: PathElement): PathElement => pe;
const childPe = (c: Child): PathElement => c.pe;

export class FieldSet {
  constructor(
    readonly members: PathElement[] = [],
    readonly children: Child[] = [],
  ) {}

  static of(...paths: Path[]): FieldSet {
    const set = new FieldSet();
    for (const path of paths) set.insert(path);
    return set;
  }

  insert(path: Path): void {
    if (path.length === 0) return;
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) node = node.descend(path[i]!);
    const last = path[path.length - 1]!;
    const at = search(node.members, last, self);
    if (!at.found) insertAt(node.members, at.index, last);
  }

  /** The subtree at `path`, created when absent. */
  nodeAt(path: Path): FieldSet {
    let node: FieldSet = this;
    for (const pe of path) node = node.descend(pe);
    return node;
  }

  /** Adds one member to this node. */
  addMember(pe: PathElement): void {
    const at = search(this.members, pe, self);
    if (!at.found) insertAt(this.members, at.index, pe);
  }

  descend(pe: PathElement): FieldSet {
    const at = search(this.children, pe, childPe);
    if (at.found) return this.children[at.index]!.set;
    const set = new FieldSet();
    insertAt(this.children, at.index, { pe, set });
    return set;
  }

  child(pe: PathElement): FieldSet | undefined {
    const at = search(this.children, pe, childPe);
    return at.found ? this.children[at.index]!.set : undefined;
  }

  hasMember(pe: PathElement): boolean {
    return search(this.members, pe, self).found;
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    let node: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && node; i++) node = node.child(path[i]!);
    return node?.hasMember(path[path.length - 1]!) ?? false;
  }

  empty(): boolean {
    return this.members.length === 0 && this.children.every((c) => c.set.empty());
  }

  union(other: FieldSet): FieldSet {
    const members = mergeSorted(this.members, other.members, self, 'union', () => undefined);
    const children = mergeSorted(this.children, other.children, childPe, 'union', (a, b) => ({ pe: a.pe, set: a.set.union(b.set) }));
    return new FieldSet(members, children);
  }

  intersection(other: FieldSet): FieldSet {
    const members = mergeSorted(this.members, other.members, self, 'both', (a) => a);
    const children = mergeSorted(this.children, other.children, childPe, 'both', (a, b) => {
      const set = a.set.intersection(b.set);
      return set.empty() ? undefined : { pe: a.pe, set };
    });
    return new FieldSet(members, children);
  }

  /** Members of this set not in `other`; a subtree loses only what `other`'s subtree holds. */
  difference(other: FieldSet): FieldSet {
    const members = mergeSorted(this.members, other.members, self, 'left', () => undefined);
    const children = mergeSorted(this.children, other.children, childPe, 'left', (a, b) => {
      const set = a.set.difference(b.set);
      return set.empty() ? undefined : { pe: a.pe, set };
    });
    return new FieldSet(members, children);
  }

  /** Like difference, but a member of `other` also removes everything below it. */
  recursiveDifference(other: FieldSet): FieldSet {
    const members = mergeSorted(this.members, other.members, self, 'left', () => undefined);
    const children: Child[] = [];
    for (const c of this.children) {
      if (other.hasMember(c.pe)) continue;
      const o = other.child(c.pe);
      if (!o) children.push(c);
      else {
        const set = c.set.recursiveDifference(o);
        if (!set.empty()) children.push({ pe: c.pe, set });
      }
    }
    return new FieldSet(members, children);
  }

  /** Adds every named (schema-declared) field that has children as a member too, as structured-merge-diff does before pruning. */
  ensureNamedFieldsAreMembers(schema: SmdSchema, type: TypeRef): FieldSet {
    const atom = schema.resolve(type);
    const members = [...this.members];
    for (const c of this.children) {
      if ('field' in c.pe && atom.map && atom.map.fields.has(c.pe.field)) {
        const at = search(members, c.pe, self);
        if (!at.found) members.splice(at.index, 0, c.pe);
      }
    }
    const children = this.children.map((c) => {
      let childType: TypeRef = {};
      if ('field' in c.pe && atom.map) childType = atom.map.fields.get(c.pe.field)?.type ?? atom.map.element ?? {};
      else if ('key' in c.pe && atom.list) childType = atom.list.element;
      return { pe: c.pe, set: c.set.ensureNamedFieldsAreMembers(schema, childType) };
    });
    return new FieldSet(members, children);
  }

  /** Every path: members first, then each subtree, in sorted order. */
  forEach(visit: (path: Path) => void, prefix: Path = []): void {
    for (const pe of this.members) visit([...prefix, pe]);
    for (const c of this.children) c.set.forEach(visit, [...prefix, c.pe]);
  }

  toFieldsV1(): Record<string, unknown> {
    return this.emit(false);
  }

  private emit(includeSelf: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (includeSelf && (this.members.length > 0 || this.children.length > 0)) out['.'] = {};
    let mi = 0;
    let ci = 0;
    while (mi < this.members.length || ci < this.children.length) {
      const m = this.members[mi];
      const c = this.children[ci];
      const cmp = m === undefined ? 1 : c === undefined ? -1 : comparePathElements(m, c.pe);
      if (cmp < 0) {
        out[serializePathElement(m!)] = {};
        mi++;
      } else if (cmp > 0) {
        out[serializePathElement(c!.pe)] = c!.set.emit(false);
        ci++;
      } else {
        out[serializePathElement(c!.pe)] = c!.set.emit(true);
        mi++;
        ci++;
      }
    }
    return out;
  }

  static fromFieldsV1(fields: unknown): FieldSet {
    const { set } = readFields(fields);
    return set ?? new FieldSet();
  }
}

function readFields(fields: unknown): { set: FieldSet | undefined; isMember: boolean } {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new Error('FieldsV1 must be a JSON object');
  let set: FieldSet | undefined;
  let isMember = false;
  const entries: Array<{ pe: PathElement; value: unknown }> = [];
  for (const [key, value] of Object.entries(fields)) {
    if (key === '.') {
      isMember = true;
      continue;
    }
    const pe = deserializePathElement(key);
    if (pe) entries.push({ pe, value });
  }
  // A client may send its managedFields in any order: inserted sorted, the set grows at its end.
  entries.sort((a, b) => comparePathElements(a.pe, b.pe));
  for (const { pe, value } of entries) {
    const child = readFields(value);
    if (child.isMember) {
      set ??= new FieldSet();
      set.insert([pe]);
    }
    if (child.set) {
      set ??= new FieldSet();
      const at = search(set.children, pe, childPe);
      if (at.found) set.children[at.index] = { pe, set: child.set };
      else set.children.splice(at.index, 0, { pe, set: child.set });
    }
  }
  if (!set) isMember = true;
  return { set, isMember };
}

type Mode = 'union' | 'both' | 'left';

/** Merges two sorted lists: the union, the common part, or the left part, combining equal items with `both`. */
function mergeSorted<T>(a: T[], b: T[], pe: (item: T) => PathElement, mode: Mode, both: (x: T, y: T) => T | undefined): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = comparePathElements(pe(a[i]!), pe(b[j]!));
    if (c < 0) {
      if (mode !== 'both') out.push(a[i]!);
      i++;
    } else if (c > 0) {
      if (mode === 'union') out.push(b[j]!);
      j++;
    } else {
      const combined = both(a[i]!, b[j]!);
      if (combined !== undefined) out.push(combined);
      else if (mode === 'union') out.push(a[i]!);
      i++;
      j++;
    }
  }
  if (mode !== 'both') out.push(...a.slice(i));
  if (mode === 'union') out.push(...b.slice(j));
  return out;
}
