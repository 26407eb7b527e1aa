// An immutable ordered map from string keys to values (a treap with path copying): a write returns a new map that
// shares every node off the written key's path with the old one, so the watch cache can keep the map as of a past
// revision (a paginated LIST's), as kube-apiserver's cacher keeps btree clones, at O(log n) nodes per write since
// then instead of a copy of every object.

interface Node<V> {
  readonly key: string;
  readonly value: V;
  readonly left: Node<V> | undefined;
  readonly right: Node<V> | undefined;
  /** Keys in this subtree, so ranks and counts of a key range are O(log n). */
  readonly size: number;
  /**
   * Heap order over random priorities keeps the tree balanced in expectation whatever the keys; priorities derived
   * from the keys would let a client choose names that degrade it into a list.
   */
  readonly priority: number;
}

export class PersistentMap<V> {
  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(undefined);
  }

  private constructor(private readonly root: Node<V> | undefined) {}

  get size(): number {
    return sizeOf(this.root);
  }

  get(key: string): V | undefined {
    let node = this.root;
    while (node) {
      if (key === node.key) return node.value;
      node = key < node.key ? node.left : node.right;
    }
    return undefined;
  }

  /** The map with `key` set to `value`; this map is unchanged. */
  set(key: string, value: V): PersistentMap<V> {
    return new PersistentMap(insert(this.root, key, value, Math.random()));
  }

  /** The map without `key`; this map itself when it has no such key. */
  delete(key: string): PersistentMap<V> {
    const root = remove(this.root, key);
    return root === this.root ? this : new PersistentMap(root);
  }

  /** How many keys sort before `key`. */
  rank(key: string): number {
    let rank = 0;
    let node = this.root;
    while (node) {
      if (node.key < key) {
        rank += sizeOf(node.left) + 1;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return rank;
  }

  /** How many of this map's nodes `other` does not share: what keeping this version costs beside `other`. */
  nodesNotIn(other: PersistentMap<V>): number {
    const shared = new Set<Node<V>>();
    const collect = (node: Node<V> | undefined): void => {
      if (!node || shared.has(node)) return;
      shared.add(node);
      collect(node.left);
      collect(node.right);
    };
    collect(other.root);
    let count = 0;
    const visit = (node: Node<V> | undefined): void => {
      // A shared node's whole subtree is shared: nodes are immutable.
      if (!node || shared.has(node)) return;
      count++;
      visit(node.left);
      visit(node.right);
    };
    visit(this.root);
    return count;
  }

  /** Entries with keys ≥ `from`, in key order; stop iterating to stop the walk. */
  *entriesFrom(from: string): Generator<[string, V]> {
    // The path to `from`, keeping the nodes whose keys are ≥ it: each is visited after its left subtree.
    const stack: Node<V>[] = [];
    let node = this.root;
    while (node) {
      if (node.key >= from) {
        stack.push(node);
        node = node.left;
      } else {
        node = node.right;
      }
    }
    while (stack.length > 0) {
      const next = stack.pop()!;
      yield [next.key, next.value];
      for (let child = next.right; child; child = child.left) stack.push(child);
    }
  }
}

function sizeOf(node: Node<unknown> | undefined): number {
  return node ? node.size : 0;
}

function make<V>(key: string, value: V, left: Node<V> | undefined, right: Node<V> | undefined, priority: number): Node<V> {
  return { key, value, left, right, size: sizeOf(left) + sizeOf(right) + 1, priority };
}

function insert<V>(node: Node<V> | undefined, key: string, value: V, priority: number): Node<V> {
  if (!node) return make(key, value, undefined, undefined, priority);
  if (key === node.key) return make(key, value, node.left, node.right, node.priority);
  if (priority > node.priority && !contains(node, key)) {
    const [left, right] = split(node, key);
    return make(key, value, left, right, priority);
  }
  return key < node.key
    ? make(node.key, node.value, insert(node.left, key, value, priority), node.right, node.priority)
    : make(node.key, node.value, node.left, insert(node.right, key, value, priority), node.priority);
}

function contains(node: Node<unknown> | undefined, key: string): boolean {
  while (node) {
    if (key === node.key) return true;
    node = key < node.key ? node.left : node.right;
  }
  return false;
}

/** The keys below `key` and those above it, as new paths sharing every untouched subtree; `key` itself is absent. */
function split<V>(node: Node<V> | undefined, key: string): [Node<V> | undefined, Node<V> | undefined] {
  if (!node) return [undefined, undefined];
  if (node.key < key) {
    const [left, right] = split(node.right, key);
    return [make(node.key, node.value, node.left, left, node.priority), right];
  }
  const [left, right] = split(node.left, key);
  return [left, make(node.key, node.value, right, node.right, node.priority)];
}

/** Every key of `left` sorts before every key of `right`. */
function merge<V>(left: Node<V> | undefined, right: Node<V> | undefined): Node<V> | undefined {
  if (!left) return right;
  if (!right) return left;
  return left.priority > right.priority
    ? make(left.key, left.value, left.left, merge(left.right, right), left.priority)
    : make(right.key, right.value, merge(left, right.left), right.right, right.priority);
}

function remove<V>(node: Node<V> | undefined, key: string): Node<V> | undefined {
  if (!node) return undefined;
  if (key === node.key) return merge(node.left, node.right);
  if (key < node.key) {
    const left = remove(node.left, key);
    return left === node.left ? node : make(node.key, node.value, left, node.right, node.priority);
  }
  const right = remove(node.right, key);
  return right === node.right ? node : make(node.key, node.value, node.left, right, node.priority);
}
