/**
 * The batch-precondition contract (store.ts): what engines sharing one store rely on for L7
 * across processes (docs/spec.md §11). Part of {@link storeConformanceSuite}.
 */
import { expect, it } from 'vitest';
import { isContextServicesError } from '../errors.js';
import type { BatchOp, Precondition, Store } from '../store.js';
import { collect, dumpStore, putAll } from './factory.js';

/** `error` is the store's `PRECONDITION_FAILED` naming `key`. */
export function expectPreconditionFailed(error: unknown, key: string): void {
  expect(
    isContextServicesError(error) && error.code === 'PRECONDITION_FAILED',
    `expected PRECONDITION_FAILED, got ${String(error)}`,
  ).toBe(true);
  expect((error as { details?: Record<string, unknown> }).details?.key).toBe(key);
}

/** Register the precondition tests; `get` returns the store of the running test. */
export function preconditionTests(get: () => Store): void {
  it('writes a batch whose preconditions hold, values and absences, several at once', async () => {
    const store = get();
    await putAll(store, { a: '1', b: '' });
    await store.batch([{ type: 'put', key: 'a', value: '2' }], {
      preconditions: [{ key: 'a', value: '1' }],
    });
    expect(await store.get('a')).toBe('2');
    await store.batch([{ type: 'put', key: 'n', value: 'new' }], {
      preconditions: [{ key: 'n', absent: true }],
    });
    expect(await store.get('n')).toBe('new');
    // An empty string is a value, not an absence.
    await store.batch(
      [
        { type: 'del', key: 'b' },
        { type: 'put', key: 'c', value: '3' },
      ],
      {
        preconditions: [
          { key: 'a', value: '2' },
          { key: 'b', value: '' },
          { key: 'c', absent: true },
          { key: 'n', value: 'new' },
        ],
      },
    );
    await store.batch([{ type: 'put', key: 'd', value: '4' }], { preconditions: [] });
    expect(await dumpStore(store)).toEqual([
      ['a', '2'],
      ['c', '3'],
      ['d', '4'],
      ['n', 'new'],
    ]);
  });

  it('writes nothing of a batch whose precondition fails, and names the key', async () => {
    const store = get();
    await putAll(store, { a: '1', b: '' });
    const before = await dumpStore(store);
    const failing: [BatchOp[], Precondition[], string][] = [
      [[{ type: 'put', key: 'x', value: '1' }], [{ key: 'a', value: '2' }], 'a'],
      [[{ type: 'put', key: 'x', value: '1' }], [{ key: 'a', absent: true }], 'a'],
      [[{ type: 'put', key: 'x', value: '1' }], [{ key: 'b', absent: true }], 'b'],
      [[{ type: 'del', key: 'a' }], [{ key: 'missing', value: '' }], 'missing'],
      [
        [
          { type: 'del', key: 'a' },
          { type: 'put', key: 'x', value: '1' },
        ],
        [
          { key: 'a', value: '1' },
          { key: 'b', value: 'other' },
        ],
        'b',
      ],
    ];
    for (const [ops, preconditions, key] of failing) {
      const error = await store.batch(ops, { preconditions }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expectPreconditionFailed(error, key);
      expect(await dumpStore(store)).toEqual(before);
    }
  });

  it('lets exactly one of N concurrent batches conditioned on the same value win', async () => {
    const store = get();
    await putAll(store, { counter: '0' });
    const read = (await store.get('counter')) as string;
    const outcomes = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        store
          .batch(
            [
              { type: 'put', key: 'counter', value: String(Number(read) + 1) },
              { type: 'put', key: `winner/${String(i).padStart(2, '0')}`, value: '' },
            ],
            { preconditions: [{ key: 'counter', value: read }] },
          )
          .then(
            () => 'won',
            (e: unknown) => (isContextServicesError(e) ? e.code : String(e)),
          ),
      ),
    );
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'won')).toEqual(Array(15).fill('PRECONDITION_FAILED'));
    expect(await store.get('counter')).toBe('1');
    expect(await collect(store.iterate({ gte: 'winner/', lt: 'winner0' }))).toHaveLength(1);
    // Batches without preconditions issued at the same time are not held back by the losers.
    const mixed = await Promise.all([
      store.batch([{ type: 'put', key: 'free/1', value: '' }]),
      store
        .batch([{ type: 'put', key: 'free/2', value: '' }], {
          preconditions: [{ key: 'counter', value: 'stale' }],
        })
        .catch((e: unknown) => (isContextServicesError(e) ? e.code : e)),
      store.batch([{ type: 'put', key: 'free/3', value: '' }], {
        preconditions: [{ key: 'free/1', value: '' }],
      }),
    ]);
    expect(mixed).toEqual([undefined, 'PRECONDITION_FAILED', undefined]);
    expect((await collect(store.iterate({ gte: 'free/', lt: 'free0' }))).map(([k]) => k)).toEqual([
      'free/1',
      'free/3',
    ]);
  });

  it('rejects malformed preconditions with a TypeError and writes nothing', async () => {
    const store = get();
    await putAll(store, { keep: 'x' });
    const op: BatchOp[] = [{ type: 'put', key: 'a', value: '1' }];
    const bad: unknown[] = [
      'nope',
      { preconditions: 'nope' },
      { preconditions: [null] },
      { preconditions: [{ key: 1, value: 'x' }] },
      { preconditions: [{ key: 'keep' }] },
      { preconditions: [{ key: 'keep', value: 2 }] },
      { preconditions: [{ key: 'keep', absent: false }] },
      { preconditions: [{ key: 'keep', value: 'x', absent: true }] },
    ];
    for (const options of bad) {
      await expect(store.batch(op, options as never)).rejects.toThrow(TypeError);
    }
    expect(await dumpStore(store)).toEqual([['keep', 'x']]);
  });
}
