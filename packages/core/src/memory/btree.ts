/**
 * A persistent (copy-on-write) B+-tree of string keys to string values, the memory store's data
 * structure. A version is never changed once published: a batch copies the nodes on the paths it
 * touches and publishes a new root, so every older root stays a consistent snapshot (what
 * memory-level gets from its functional red-black tree, with fewer, wider nodes).
 *
 * Inside one batch, nodes the batch has already copied carry its `Edit` token and are changed in
 * place, so a batch of n writes copies each touched node once, not n times. A token is used by
 * one batch only: once the batch is published no later batch can own, and so change, its nodes.
 */

/** Token of the batch that owns (may mutate) a node. */
export type Edit = object;

interface Leaf {
  readonly leaf: true;
  edit: Edit | null;
  keys: string[];
  vals: string[];
}

interface Branch {
  readonly leaf: false;
  edit: Edit | null;
  /** `keys[i]` is greater than every key of `kids[i]` and at most the smallest key of `kids[i + 1]`. */
  keys: string[];
  kids: Node[];
}

export type Node = Leaf | Branch;

const MAX = 64;
const MIN = MAX / 4;

export const EMPTY: Node = Object.freeze({ leaf: true, edit: null, keys: [], vals: [] }) as Node;

/** First index whose key is ≥ `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`. */
function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The node itself when the batch owns it, else a copy it owns. */
function own<N extends Node>(node: N, edit: Edit): N {
  if (node.edit === edit) return node;
  return node.leaf
    ? ({ leaf: true, edit, keys: node.keys.slice(), vals: node.vals.slice() } as N)
    : ({ leaf: false, edit, keys: node.keys.slice(), kids: node.kids.slice() } as N);
}

const size = (n: Node) => (n.leaf ? n.keys.length : n.kids.length);

export function get(root: Node, key: string): string | undefined {
  let node = root;
  while (!node.leaf) node = node.kids[upperBound(node.keys, key)] as Node;
  const i = lowerBound(node.keys, key);
  return node.keys[i] === key ? node.vals[i] : undefined;
}

/** Insert or replace; returns the (possibly split) node: `[left, separator, right]` on a split. */
function putIn(node: Node, key: string, val: string, edit: Edit): [Node] | [Node, string, Node] {
  if (node.leaf) {
    const i = lowerBound(node.keys, key);
    const n = own(node, edit);
    if (n.keys[i] === key) n.vals[i] = val;
    else {
      n.keys.splice(i, 0, key);
      n.vals.splice(i, 0, val);
    }
    if (n.keys.length <= MAX) return [n];
    const half = n.keys.length >>> 1;
    const right: Leaf = { leaf: true, edit, keys: n.keys.splice(half), vals: n.vals.splice(half) };
    return [n, right.keys[0] as string, right];
  }
  const i = upperBound(node.keys, key);
  const r = putIn(node.kids[i] as Node, key, val, edit);
  const n = own(node, edit);
  n.kids[i] = r[0];
  if (r.length === 3) {
    n.keys.splice(i, 0, r[1]);
    n.kids.splice(i + 1, 0, r[2]);
  }
  if (n.kids.length <= MAX) return [n];
  const half = n.kids.length >>> 1;
  const kids = n.kids.splice(half);
  const keys = n.keys.splice(half);
  const separator = n.keys.pop() as string;
  return [n, separator, { leaf: false, edit, keys, kids }];
}

export function put(root: Node, key: string, val: string, edit: Edit): Node {
  const r = putIn(root, key, val, edit);
  return r.length === 1 ? r[0] : { leaf: false, edit, keys: [r[1]], kids: [r[0], r[2]] };
}

/** Merge two neighbouring nodes of the same height; `separator` is the smallest key of `b`. */
function merge(a: Node, separator: string, b: Node, edit: Edit): Node {
  if (a.leaf && b.leaf)
    return { leaf: true, edit, keys: [...a.keys, ...b.keys], vals: [...a.vals, ...b.vals] };
  const x = a as Branch;
  const y = b as Branch;
  return { leaf: false, edit, keys: [...x.keys, separator, ...y.keys], kids: [...x.kids, ...y.kids] };
}

/**
 * Remove `key`: the new node, or `undefined` when the key is absent (nothing copied). The result
 * may be the same object as `node` (a node this batch already owns is changed in place), so the
 * caller must not compare identities to know whether something was removed.
 */
function delIn(node: Node, key: string, edit: Edit): Node | undefined {
  if (node.leaf) {
    const i = lowerBound(node.keys, key);
    if (node.keys[i] !== key) return undefined;
    const n = own(node, edit);
    n.keys.splice(i, 1);
    n.vals.splice(i, 1);
    return n;
  }
  const i = upperBound(node.keys, key);
  const next = delIn(node.kids[i] as Node, key, edit);
  if (next === undefined) return undefined;
  const n = own(node, edit);
  if (size(next) === 0) {
    n.kids.splice(i, 1);
    n.keys.splice(i === 0 ? 0 : i - 1, 1);
    return n;
  }
  n.kids[i] = next;
  if (size(next) < MIN && n.kids.length > 1) {
    // Keep nodes reasonably full: fold a small child into a neighbour when both fit in one node.
    const j = i > 0 ? i - 1 : i + 1;
    const [l, r] = j < i ? [j, i] : [i, j];
    const left = n.kids[l] as Node;
    const right = n.kids[r] as Node;
    if (size(left) + size(right) <= MAX) {
      n.kids.splice(l, 2, merge(left, n.keys[l] as string, right, edit));
      n.keys.splice(l, 1);
    }
  }
  return n;
}

export function del(root: Node, key: string, edit: Edit): Node {
  let r = delIn(root, key, edit);
  if (r === undefined) return root;
  while (!r.leaf && r.kids.length === 1) r = r.kids[0] as Node;
  if (!r.leaf && r.kids.length === 0) return EMPTY;
  return r;
}

/** Bounds of a scan; at most one lower and one upper bound. */
export interface Bounds {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
}

/** Entries in key order within the bounds, lazily, from one immutable root. */
export function* ascending(root: Node, b: Bounds): Generator<[string, string]> {
  const path: [Branch, number][] = [];
  let node = root;
  const from = b.gt ?? b.gte;
  while (!node.leaf) {
    const i = from === undefined ? 0 : upperBound(node.keys, from);
    path.push([node, i]);
    node = node.kids[i] as Node;
  }
  let i =
    from === undefined ? 0 : b.gt !== undefined ? upperBound(node.keys, from) : lowerBound(node.keys, from);
  for (;;) {
    for (; i < node.keys.length; i++) {
      const k = node.keys[i] as string;
      if ((b.lt !== undefined && k >= b.lt) || (b.lte !== undefined && k > b.lte)) return;
      yield [k, node.vals[i] as string];
    }
    // Next leaf: climb to the first ancestor with a right sibling, then go down its left edge.
    let top = path.pop();
    while (top !== undefined && top[1] + 1 >= top[0].kids.length) top = path.pop();
    if (top === undefined) return;
    path.push([top[0], top[1] + 1]);
    node = top[0].kids[top[1] + 1] as Node;
    while (!node.leaf) {
      path.push([node, 0]);
      node = node.kids[0] as Node;
    }
    i = 0;
  }
}

/** Entries in reverse key order within the bounds, lazily, from one immutable root. */
export function* descending(root: Node, b: Bounds): Generator<[string, string]> {
  const path: [Branch, number][] = [];
  let node = root;
  const to = b.lt ?? b.lte;
  while (!node.leaf) {
    const i = to === undefined ? node.kids.length - 1 : upperBound(node.keys, to);
    path.push([node, i]);
    node = node.kids[i] as Node;
  }
  let i =
    to === undefined
      ? node.keys.length - 1
      : b.lt !== undefined
        ? lowerBound(node.keys, to) - 1
        : upperBound(node.keys, to) - 1;
  for (;;) {
    for (; i >= 0; i--) {
      const k = node.keys[i] as string;
      if ((b.gt !== undefined && k <= b.gt) || (b.gte !== undefined && k < b.gte)) return;
      yield [k, node.vals[i] as string];
    }
    let top = path.pop();
    while (top !== undefined && top[1] === 0) top = path.pop();
    if (top === undefined) return;
    path.push([top[0], top[1] - 1]);
    node = top[0].kids[top[1] - 1] as Node;
    while (!node.leaf) {
      path.push([node, node.kids.length - 1]);
      node = node.kids[node.kids.length - 1] as Node;
    }
    i = node.keys.length - 1;
  }
}

/** Shape of a tree, for tests and diagnostics: height, node count and empty nodes. */
export function shape(root: Node): { height: number; nodes: number; empty: number; keys: number } {
  let height = 1;
  for (let n = root; !n.leaf; n = n.kids[0] as Node) height++;
  const out = { height, nodes: 0, empty: 0, keys: 0 };
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const n = stack.pop() as Node;
    out.nodes++;
    if (size(n) === 0) out.empty++;
    if (n.leaf) out.keys += n.keys.length;
    else stack.push(...n.kids);
  }
  return out;
}
