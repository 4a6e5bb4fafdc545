import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/memory/index.js';
import { lifecycleModelSuite, storeConformanceSuite } from '../src/testing/index.js';

storeConformanceSuite('MemoryStore', { create: () => new MemoryStore() });
storeConformanceSuite(
  'MemoryStore (sharedWriters)',
  { create: () => new MemoryStore({ sharedWriters: true }) },
  { runs: 50 },
);
lifecycleModelSuite('MemoryStore', { create: () => new MemoryStore() });
// The engine's shared-writers path (preconditions, retries, no cache, sweep lease) under the same model.
lifecycleModelSuite('MemoryStore (sharedWriters)', {
  create: () => new MemoryStore({ sharedWriters: true }),
});

describe('MemoryStore writes in place between iterators', () => {
  const collect = async (it: AsyncIterable<[string, string]>) => {
    const out: [string, string][] = [];
    for await (const e of it) out.push(e);
    return out;
  };
  const key = (i: number) => `k${String(i).padStart(5, '0')}`;

  it('keeps every iterator on its version while later batches split, merge and overwrite nodes', async () => {
    const store = new MemoryStore();
    await store.open();
    const model = new Map<string, string>();
    const versions: { it: AsyncIterable<[string, string]>; expected: [string, string][] }[] = [];
    for (let round = 0; round < 30; round++) {
      // Many batches with no iterator between them: these change nodes in place.
      for (let b = 0; b < 20; b++) {
        const ops = [];
        for (let j = 0; j < 7; j++) {
          const i = (round * 131 + b * 17 + j * 29) % 3000;
          if ((i + round) % 5 === 0) {
            ops.push({ type: 'del' as const, key: key(i) });
            model.delete(key(i));
          } else {
            ops.push({ type: 'put' as const, key: key(i), value: `${round}.${b}.${j}` });
            model.set(key(i), `${round}.${b}.${j}`);
          }
        }
        await store.batch(ops);
      }
      versions.push({
        it: store.iterate({}),
        expected: [...model].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
      });
    }
    for (const v of versions) expect(await collect(v.it)).toEqual(v.expected);
    expect(await collect(store.iterate({}))).toEqual(
      [...model].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    );
  });
});
