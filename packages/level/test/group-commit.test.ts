import { type BatchOp, isContextServicesError } from '@cxs/core';
import { seededRandom } from '@cxs/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LevelStore } from '../src/index.js';
import { dump, levelFactory, reason } from './helpers.js';

const factory = levelFactory({ sync: true });
let store: LevelStore;

beforeEach(async () => {
  store = await factory.create();
  await store.open();
});
afterEach(async () => {
  await store.close();
  await factory.destroy(store);
});

const put = (key: string, value: string): BatchOp => ({ type: 'put', key, value });

/** Let the queue start its write: it starts on a microtask and completes on a later event-loop turn. */
async function writeInFlight(): Promise<void> {
  for (let i = 0; i < 5; i++) await null;
}

describe('LevelStore group commit (sync: true)', () => {
  it('writes 64 concurrent batches in far fewer LevelDB writes', async () => {
    const acks = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        store.batch([put(`k/${String(i).padStart(2, '0')}`, `${i}`)]).then(() => i),
      ),
    );
    expect(acks).toHaveLength(64);
    const { batches, writes, largestGroup } = store.stats;
    console.log(`64 concurrent batches: ${writes} LevelDB write(s), largest group ${largestGroup}`);
    expect(batches).toBe(64);
    expect(writes).toBeLessThanOrEqual(2);
    expect(largestGroup).toBeGreaterThanOrEqual(32);
    expect(await dump(store)).toHaveLength(64);
  });

  it('combines every batch that arrives while a write is in flight into the next single write', async () => {
    const first = store.batch([put('first', '1')]);
    await writeInFlight();
    const rest = Array.from({ length: 63 }, (_, i) =>
      store.batch([put(`r/${String(i).padStart(2, '0')}`, 'x')]),
    );
    await Promise.all([first, ...rest]);
    expect(store.stats).toEqual({ batches: 64, writes: 2, largestGroup: 63, preconditionsFailed: 0 });
  });

  it('shares fsyncs between steady concurrent writers (8 writers x 50 sequential batches)', async () => {
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 50; i++) await store.batch([put(`w${w}/${String(i).padStart(2, '0')}`, `${i}`)]);
      }),
    );
    const { batches, writes, largestGroup } = store.stats;
    console.log(
      `8 writers x 50 batches: ${batches} batches in ${writes} LevelDB writes (largest group ${largestGroup})`,
    );
    expect(batches).toBe(400);
    expect(writes).toBeLessThanOrEqual(100);
    expect(await dump(store)).toHaveLength(400);
  });

  it('preserves arrival order across grouped batches: the store ends as if applied one by one', async () => {
    const rnd = seededRandom(7);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const model = new Map<string, string>();
    const pending: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      for (let n = 0; n < 10; n++) {
        const ops: BatchOp[] = [];
        for (let j = 0; j < 1 + Math.floor(rnd() * 4); j++) {
          const key = keys[Math.floor(rnd() * keys.length)] as string;
          ops.push(rnd() < 0.7 ? put(key, `${round}.${n}.${j}`) : { type: 'del', key });
        }
        for (const op of ops) {
          if (op.type === 'put') model.set(op.key, op.value);
          else model.delete(op.key);
        }
        pending.push(store.batch(ops));
      }
      if (round % 3 === 0) await writeInFlight();
    }
    await Promise.all(pending);
    expect(store.stats.writes).toBeLessThan(store.stats.batches);
    const expected = [...model].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(await dump(store)).toEqual(expected);
    await store.close();
    store = factory.reopen(store);
    await store.open();
    expect(await dump(store)).toEqual(expected);
  });

  it('resolves each caller only once its own batch is readable', async () => {
    await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        await store.batch([put(`k${i}`, `${i}`)]);
        expect(await store.get(`k${i}`)).toBe(`${i}`);
      }),
    );
  });

  it('rejects every caller of a failing grouped write with its error; none of the group is written', async () => {
    const db = store.db;
    if (db === undefined) throw new Error('store not open');
    // A real failure inside the write: an abstract-level prewrite hook that throws on one key.
    db.hooks.prewrite.add((op) => {
      if (op.key === 'poison') throw new Error('refused by hook');
    });
    const first = store.batch([put('before', '1')]);
    await writeInFlight();
    const group = [
      store.batch([put('g1', '1'), put('g1b', '1')]),
      store.batch([put('g2', '2'), put('poison', 'x')]),
      store.batch([{ type: 'del', key: 'before' }]),
    ];
    await first;
    const errors = await Promise.all(group.map(reason));
    for (const e of errors) {
      expect(isContextServicesError(e) && e.code, String(e)).toBe('STORE_FAILED');
      expect(e).toBe(errors[0]);
    }
    expect(((errors[0] as Error).cause as { code?: string }).code).toBe('LEVEL_HOOK_ERROR');
    expect(store.stats).toMatchObject({ batches: 4, writes: 2, largestGroup: 3 });
    // The queue keeps working after a failed write.
    await store.batch([put('after', '1')]);
    expect(await dump(store)).toEqual([
      ['after', '1'],
      ['before', '1'],
    ]);
  });

  it('groups batches that were all issued in one synchronous run, even with an empty one among them', async () => {
    await Promise.all([store.batch([put('a', '1')]), store.batch([]), store.batch([put('b', '2')])]);
    expect(store.stats).toEqual({ batches: 3, writes: 1, largestGroup: 3, preconditionsFailed: 0 });
    await store.batch([]);
    expect(store.stats.writes).toBe(1);
  });

  it('checks preconditions inside the group: a failing batch is left out, the others share the write', async () => {
    await store.batch([put('v', '0')]);
    const first = store.batch([put('before', '1')]);
    await writeInFlight();
    // One group: each batch is judged on the store as left by the batches before it in the group.
    const group = [
      store.batch([put('v', '1'), put('w/a', '')], { preconditions: [{ key: 'v', value: '0' }] }),
      store.batch([put('v', '2'), put('w/b', '')], { preconditions: [{ key: 'v', value: '0' }] }),
      store.batch([put('v', '3'), put('w/c', '')], { preconditions: [{ key: 'v', value: '1' }] }),
      store.batch([put('plain', '')]),
      store.batch([put('w/d', '')], { preconditions: [{ key: 'plain', absent: true }] }),
    ];
    await first;
    const outcomes = await Promise.all(
      group.map((p) =>
        p.then(
          () => 'ok',
          (e: unknown) => (isContextServicesError(e) ? `${e.code}:${String(e.details?.key)}` : String(e)),
        ),
      ),
    );
    expect(outcomes).toEqual(['ok', 'PRECONDITION_FAILED:v', 'ok', 'ok', 'PRECONDITION_FAILED:plain']);
    expect(store.stats).toEqual({ batches: 7, writes: 3, largestGroup: 3, preconditionsFailed: 2 });
    expect(await dump(store)).toEqual([
      ['before', '1'],
      ['plain', ''],
      ['v', '3'],
      ['w/a', ''],
      ['w/c', ''],
    ]);
  });
});
