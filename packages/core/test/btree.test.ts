import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascending, del, descending, EMPTY, get, type Node, put, shape } from '../src/memory/btree.js';
import { fcParams } from '../src/testing/index.js';

type Op = { put: boolean; key: string };

function applyBatch(root: Node, ops: readonly Op[]): Node {
  const edit = {};
  let r = root;
  for (const op of ops) r = op.put ? put(r, op.key, `v${op.key}`, edit) : del(r, op.key, edit);
  return r;
}

const keys = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `k${String(from + i).padStart(6, '0')}`);

describe('memory store B+-tree', () => {
  it('matches a sorted map under random batches, and every published version stays as it was', () => {
    const key = fc.integer({ min: 0, max: 3000 }).map((i) => `k${String(i).padStart(5, '0')}`);
    const batch = fc.array(fc.record({ put: fc.boolean(), key }), { maxLength: 400 });
    fc.assert(
      fc.property(fc.array(batch, { minLength: 1, maxLength: 12 }), (batches) => {
        let root = EMPTY;
        const model = new Map<string, string>();
        const versions: [Node, [string, string][]][] = [];
        for (const ops of batches) {
          root = applyBatch(root, ops);
          for (const op of ops) {
            if (op.put) model.set(op.key, `v${op.key}`);
            else model.delete(op.key);
          }
          const sorted = [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
          versions.push([root, sorted]);
          const s = shape(root);
          expect(s.keys).toBe(model.size);
          // No empty node survives a batch, whatever it deleted (only an empty tree is one empty leaf).
          expect(s.empty).toBe(model.size === 0 ? 1 : 0);
        }
        for (const [v, entries] of versions) {
          expect([...ascending(v, {})]).toEqual(entries);
          expect([...descending(v, {})]).toEqual([...entries].reverse());
          for (const [k, val] of entries.slice(0, 20)) expect(get(v, k)).toBe(val);
        }
      }),
      fcParams(60),
    );
  });

  it('shrinks back to one empty leaf when one batch deletes everything', () => {
    let root = applyBatch(
      EMPTY,
      keys(5000).map((key) => ({ put: true, key })),
    );
    expect(shape(root).height).toBeGreaterThan(2);
    for (let cycle = 0; cycle < 20; cycle++) {
      root = applyBatch(
        root,
        keys(5000).map((key) => ({ put: false, key })),
      );
      expect(shape(root)).toEqual({ height: 1, nodes: 1, empty: 1, keys: 0 });
      root = applyBatch(
        root,
        keys(5000).map((key) => ({ put: true, key })),
      );
    }
  });

  it('keeps nodes reasonably full after deleting most keys', () => {
    let root = applyBatch(
      EMPTY,
      keys(20_000).map((key) => ({ put: true, key })),
    );
    root = applyBatch(
      root,
      keys(20_000)
        .filter((_, i) => i % 50 !== 0)
        .map((key) => ({ put: false, key })),
    );
    const s = shape(root);
    expect(s.keys).toBe(400);
    // 400 keys need about 7 full leaves; without merging the 20,000-key tree would keep its ~600 nodes.
    expect(s.nodes).toBeLessThan(60);
  });
});
