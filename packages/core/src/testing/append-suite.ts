/**
 * The `AppendOp` contract (store.ts), for stores that declare `orderedAppend`: what the change
 * log of a shared store relies on. Part of {@link storeConformanceSuite}.
 */
import { expect, it } from 'vitest';
import { encodePosition } from '../keys.js';
import type { Store } from '../store.js';
import { dumpStore, reopenStore, type StoreFactory } from './factory.js';

const PREFIX = 'tq/l/';

async function logOf(store: Store): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for await (const [k, v] of store.iterate({ gte: PREFIX, lt: 'tq/l0' }))
    out.push([Number(k.slice(PREFIX.length)), v]);
  return out;
}

/** Register the append tests; `get` returns the store of the running test. */
export function appendTests(factory: StoreFactory, get: () => Store, set: (s: Store) => void): void {
  it('appends at growing positions, atomically with the batch (orderedAppend)', async (ctx) => {
    const store = get();
    if (store.capabilities.orderedAppend !== true) return ctx.skip();
    await store.batch([{ type: 'put', key: `${PREFIX}${encodePosition(41)}`, value: 'old' }]);
    await store.batch([{ type: 'put', key: 'a', value: '1' }], {
      append: { prefix: PREFIX, values: ['x', 'y'] },
    });
    expect(await logOf(store)).toEqual([
      [41, 'old'],
      [42, 'x'],
      [43, 'y'],
    ]);
    expect(await store.get('a')).toBe('1');
    // Rejected batch: neither its ops nor its entries are written.
    await expect(
      store.batch([{ type: 'put', key: 'b', value: 2 as unknown as string }], {
        append: { prefix: PREFIX, values: ['z'] },
      }),
    ).rejects.toThrow(TypeError);
    // Positions never go back, even when the entries below the newest are deleted.
    await store.batch([
      { type: 'del', key: `${PREFIX}${encodePosition(41)}` },
      { type: 'del', key: `${PREFIX}${encodePosition(42)}` },
    ]);
    await store.batch([], { append: { prefix: PREFIX, values: ['w'] } });
    const log = await logOf(store);
    expect(log.map(([, v]) => v)).toEqual(['y', 'w']);
    expect((log[1] as [number, string])[0]).toBeGreaterThan(43);
    expect(await store.get('b')).toBeUndefined();
    if (factory.reopen !== undefined) {
      const next = await reopenStore(factory, store);
      set(next);
      await next.batch([], { append: { prefix: PREFIX, values: ['v'] } });
      const after = await logOf(next);
      expect(after.map(([, v]) => v)).toEqual(['y', 'w', 'v']);
      expect((after[2] as [number, string])[0]).toBeGreaterThan((log[1] as [number, string])[0]);
    }
  });

  it('makes concurrent appends visible in position order: a follower sees each entry once', async (ctx) => {
    const store = get();
    if (store.capabilities.orderedAppend !== true) return ctx.skip();
    const writes = Array.from({ length: 40 }, (_, i) =>
      store.batch([{ type: 'put', key: `k${i}`, value: '' }], {
        append: { prefix: PREFIX, values: Array.from({ length: 1 + (i % 3) }, (_, j) => `${i}.${j}`) },
      }),
    );
    const seen: string[] = [];
    let cursor = PREFIX;
    let done = false;
    const all = Promise.all(writes).finally(() => {
      done = true;
    });
    // Follow with plain `gt` reads while the batches commit; the last read runs after all of them.
    for (let last = false; !last; ) {
      last = done;
      for await (const [k, v] of store.iterate({ gt: cursor, lt: 'tq/l0' })) {
        expect(k > cursor).toBe(true);
        cursor = k;
        seen.push(v);
      }
      if (!last) await Promise.race([all, new Promise((r) => setImmediate(r))]);
    }
    await all;
    const expected = (await logOf(store)).map(([, v]) => v);
    expect(seen).toEqual(expected);
    expect(expected).toHaveLength(Array.from({ length: 40 }, (_, i) => 1 + (i % 3)).reduce((a, b) => a + b));
    for (let i = 0; i < 40; i++) {
      const mine = expected.filter((v) => v.startsWith(`${i}.`));
      expect(mine).toEqual(mine.slice().sort());
    }
    expect((await dumpStore(store)).filter(([k]) => k.startsWith('k'))).toHaveLength(40);
  });
}
