/**
 * The store conformance suite: what every {@link Store} must do, as example tests and as a
 * fast-check model-based run of random store commands against a plain sorted map.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isContextServicesError } from '../errors.js';
import type { BatchOp, Precondition, Range, Store } from '../store.js';
import { appendTests } from './append-suite.js';
import {
  collect,
  disposeStore,
  dumpStore,
  openStore,
  putAll,
  reopenStore,
  type StoreFactory,
} from './factory.js';
import { fcParams } from './params.js';
import { expectPreconditionFailed, preconditionTests } from './precondition-suite.js';

/** The entries a range selects from a plain map: the reference semantics of `Store.iterate`. */
export function modelRange(model: ReadonlyMap<string, string>, range: Range): [string, string][] {
  let keys = [...model.keys()].sort();
  keys = keys.filter(
    (k) =>
      (range.gt === undefined || k > range.gt) &&
      (range.gte === undefined || k >= range.gte) &&
      (range.lt === undefined || k < range.lt) &&
      (range.lte === undefined || k <= range.lte),
  );
  if (range.reverse) keys.reverse();
  if (range.limit !== undefined && range.limit >= 0) keys = keys.slice(0, range.limit);
  return keys.map((k) => [k, model.get(k) as string]);
}

// Keys from a small ASCII alphabet that includes the separators of the key codec, so that random
// commands collide, nest as prefixes and straddle range bounds.
const keyArb = fc.string({
  unit: fc.constantFrom('a', 'b', 'c', '/', '%', '-', '_', '0', '9', 'z', '~', '!'),
  minLength: 1,
  maxLength: 4,
});
const valueArb = fc.oneof(fc.constant(''), fc.string({ unit: 'grapheme', maxLength: 12 }));
const opArb: fc.Arbitrary<BatchOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant('del' as const), key: keyArb }),
);
const rangeArb: fc.Arbitrary<Range> = fc
  .record({
    lower: fc.option(fc.record({ op: fc.constantFrom('gt' as const, 'gte' as const), key: keyArb })),
    upper: fc.option(fc.record({ op: fc.constantFrom('lt' as const, 'lte' as const), key: keyArb })),
    reverse: fc.boolean(),
    limit: fc.option(fc.integer({ min: -1, max: 6 })),
  })
  .map(({ lower, upper, reverse, limit }) => {
    const r: Range = { reverse };
    if (lower) r[lower.op] = lower.key;
    if (upper) r[upper.op] = upper.key;
    if (limit !== null) r.limit = limit;
    return r;
  });

interface Real {
  store: Store;
}
type Model = Map<string, string>;
type Cmd = fc.AsyncCommand<Model, Real>;

function apply(model: Model, ops: readonly BatchOp[]): void {
  for (const op of ops) {
    if (op.type === 'put') model.set(op.key, op.value);
    else model.delete(op.key);
  }
}

class BatchCmd implements Cmd {
  constructor(readonly ops: BatchOp[]) {}
  check = () => true;
  async run(m: Model, r: Real) {
    await r.store.batch(this.ops);
    apply(m, this.ops);
  }
  toString = () => `batch(${JSON.stringify(this.ops)})`;
}

class GetCmd implements Cmd {
  constructor(readonly keys: string[]) {}
  check = () => true;
  async run(m: Model, r: Real) {
    expect(await r.store.getMany(this.keys)).toEqual(this.keys.map((k) => m.get(k)));
    for (const k of this.keys) expect(await r.store.get(k)).toBe(m.get(k));
  }
  toString = () => `get(${JSON.stringify(this.keys)})`;
}

class IterateCmd implements Cmd {
  constructor(readonly range: Range) {}
  check = () => true;
  async run(m: Model, r: Real) {
    expect(await collect(r.store.iterate(this.range))).toEqual(modelRange(m, this.range));
  }
  toString = () => `iterate(${JSON.stringify(this.range)})`;
}

/** Create an iterator, read part of it, write, read the rest: the rest is the old version. */
class SnapshotCmd implements Cmd {
  constructor(
    readonly range: Range,
    readonly before: number,
    readonly ops: BatchOp[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const expected = modelRange(m, this.range);
    const it = r.store.iterate(this.range)[Symbol.asyncIterator]();
    const seen: [string, string][] = [];
    for (let i = 0; i < this.before; i++) {
      const n = await it.next();
      if (n.done) break;
      seen.push(n.value);
    }
    await r.store.batch(this.ops);
    apply(m, this.ops);
    for (let n = await it.next(); !n.done; n = await it.next()) seen.push(n.value);
    expect(seen).toEqual(expected);
  }
  toString = () => `snapshot(${JSON.stringify(this.range)}, ${this.before}, ${JSON.stringify(this.ops)})`;
}

class ReopenCmd implements Cmd {
  constructor(readonly factory: StoreFactory) {}
  check = () => true;
  async run(m: Model, r: Real) {
    r.store = await reopenStore(this.factory, r.store);
    expect(new Map(await dumpStore(r.store))).toEqual(m);
  }
  toString = () => 'reopen()';
}

/**
 * A batch with preconditions on keys of the model: each either the key's current value (or
 * `absent` when it has none), or, when `wrong`, a value it does not hold. Written only when all hold.
 */
class ConditionalBatchCmd implements Cmd {
  constructor(
    readonly ops: BatchOp[],
    readonly on: string[],
    readonly wrong: boolean,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const preconditions: Precondition[] = this.on.map((key, i) => {
      const v = m.get(key);
      if (this.wrong && i === 0) return v === undefined ? { key, value: 'never' } : { key, absent: true };
      return v === undefined ? { key, absent: true } : { key, value: v };
    });
    const error = await r.store.batch(this.ops, { preconditions }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (this.wrong && this.on.length > 0) {
      expectPreconditionFailed(error, this.on[0] as string);
    } else {
      expect(error).toBeUndefined();
      apply(m, this.ops);
    }
  }
  toString = () => `conditional(${JSON.stringify(this.ops)}, ${JSON.stringify(this.on)}, ${this.wrong})`;
}

function storeCommands(factory: StoreFactory, snapshots: boolean): fc.Arbitrary<Cmd>[] {
  const cmds: fc.Arbitrary<Cmd>[] = [
    fc.array(opArb, { maxLength: 8 }).map((ops) => new BatchCmd(ops)),
    fc.array(keyArb, { minLength: 1, maxLength: 4 }).map((keys) => new GetCmd(keys)),
    rangeArb.map((range) => new IterateCmd(range)),
    fc
      .tuple(
        fc.array(opArb, { maxLength: 6 }),
        fc.array(keyArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
      )
      .map(([ops, on, wrong]) => new ConditionalBatchCmd(ops, on, wrong)),
  ];
  if (snapshots) {
    cmds.push(
      fc
        .tuple(rangeArb, fc.nat({ max: 3 }), fc.array(opArb, { minLength: 1, maxLength: 6 }))
        .map(([range, before, ops]) => new SnapshotCmd(range, before, ops)),
    );
  }
  if (factory.reopen !== undefined) cmds.push(fc.constant(new ReopenCmd(factory)));
  return cmds;
}

async function rejectsClosed(p: Promise<unknown>): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(
    isContextServicesError(error) && error.code === 'CLOSED',
    `expected CLOSED, got ${String(error)}`,
  ).toBe(true);
}

/** Options of {@link storeConformanceSuite}. */
export interface StoreSuiteOptions {
  /** Sequences of the model-based run (default 150; `FC_RUNS` overrides). */
  runs?: number;
}

/**
 * Register the conformance suite for a store (vitest `describe`/`it`): ordering, ranges with
 * reverse twins, limits, atomic batches, preconditions (one winner among concurrent conditional
 * batches), snapshot iteration (when the store declares `snapshotIterators`), argument errors, closed-store errors,
 * persistence across reopen when the factory can reopen, and a model-based run.
 *
 * @example
 * ```ts
 * import { MemoryStore } from '@cxs/core/memory';
 * import { storeConformanceSuite } from '@cxs/core/testing';
 * storeConformanceSuite('MemoryStore', { create: () => new MemoryStore() });
 * ```
 */
export function storeConformanceSuite(name: string, factory: StoreFactory, options: StoreSuiteOptions = {}) {
  describe(`${name}: store conformance`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore(factory);
    });
    afterEach(async () => {
      await disposeStore(factory, store);
    });

    it('declares its capabilities', () => {
      expect(typeof store.capabilities.persistent).toBe('boolean');
      expect(typeof store.capabilities.snapshotIterators).toBe('boolean');
      expect(typeof store.capabilities.sharedWriters).toBe('boolean');
      expect(store.capabilities.persistent).toBe(factory.reopen !== undefined);
    });

    appendTests(
      factory,
      () => store,
      (s) => {
        store = s;
      },
    );

    preconditionTests(() => store);

    it('gets what was put, undefined for what was not, and getMany keeps the order asked', async () => {
      await putAll(store, { b: '2', a: '1', 'a/b': '', c: 'é✓😀' });
      expect(await store.get('a')).toBe('1');
      expect(await store.get('a/b')).toBe('');
      expect(await store.get('c')).toBe('é✓😀');
      expect(await store.get('zz')).toBeUndefined();
      expect(await store.getMany(['c', 'zz', 'a', 'a/b'])).toEqual(['é✓😀', undefined, '1', '']);
      expect(await store.getMany([])).toEqual([]);
      await store.batch([{ type: 'del', key: 'a' }]);
      expect(await store.get('a')).toBeUndefined();
    });

    it('reads the keys of one getMany from one snapshot, whatever batches run meanwhile', async () => {
      const writes: Promise<void>[] = [];
      const reads: Promise<(string | undefined)[]>[] = [];
      for (let v = 0; v < 200; v++) {
        writes.push(
          store.batch([
            { type: 'put', key: 'pair/a', value: `${v}` },
            { type: 'put', key: 'pair/b', value: `${v}` },
          ]),
        );
        reads.push(store.getMany(['pair/a', 'pair/b']));
      }
      await Promise.all(writes);
      for (const [a, b] of await Promise.all(reads)) expect(a).toBe(b);
    });

    it('iterates in byte order of ASCII keys, separators and escapes included', async () => {
      const keys = [
        't/s/abc/',
        't/s/abc-x/',
        't/s/abc/s/0000000001',
        'x%0041',
        'x%002f',
        'A',
        'a',
        '0',
        '~',
        '!',
      ];
      await putAll(store, Object.fromEntries(keys.map((k) => [k, k])));
      const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect((await collect(store.iterate({}))).map(([k]) => k)).toEqual(sorted);
      expect((await collect(store.iterate({ reverse: true }))).map(([k]) => k)).toEqual(
        [...sorted].reverse(),
      );
    });

    it('honours every range bound, with reverse twins and limits', async () => {
      const model = new Map(['a', 'b', 'ba', 'bb', 'c', 'd/', 'd/0', 'e'].map((k) => [k, `v${k}`]));
      await putAll(store, Object.fromEntries(model));
      const ranges: Range[] = [
        {},
        { gt: 'b' },
        { gte: 'b' },
        { lt: 'c' },
        { lte: 'c' },
        { gt: 'a', lt: 'd/' },
        { gte: 'b', lte: 'bb' },
        { gte: 'd/', lt: 'd0' },
        { gt: 'bz', lt: 'c' },
        { gt: 'e' },
        { lt: 'a' },
        { gte: 'c', lt: 'b' },
        { limit: 0 },
        { limit: 3 },
        { limit: -1 },
        { gte: 'b', limit: 2 },
        { lt: 'e', limit: 2 },
      ];
      for (const range of ranges) {
        for (const reverse of [false, true]) {
          const r = { ...range, reverse };
          expect(await collect(store.iterate(r)), JSON.stringify(r)).toEqual(modelRange(model, r));
        }
      }
    });

    it('applies a batch in order: a later op on the same key wins', async () => {
      await store.batch([
        { type: 'put', key: 'k', value: '1' },
        { type: 'del', key: 'k' },
        { type: 'put', key: 'j', value: '1' },
        { type: 'del', key: 'j' },
        { type: 'put', key: 'j', value: '2' },
        { type: 'del', key: 'never-existed' },
      ]);
      expect(await dumpStore(store)).toEqual([['j', '2']]);
      await store.batch([]);
      expect(await dumpStore(store)).toEqual([['j', '2']]);
    });

    it('rejects a malformed batch with a TypeError and writes none of it', async () => {
      await putAll(store, { keep: 'x' });
      const bad: unknown[] = [
        [
          { type: 'put', key: 'a', value: '1' },
          { type: 'put', key: 'b', value: 2 },
        ],
        [
          { type: 'put', key: 'a', value: '1' },
          { type: 'nope', key: 'b' },
        ],
        [
          { type: 'del', key: 'keep' },
          { type: 'put', key: 3, value: '1' },
        ],
        [{ type: 'put', key: 'a', value: '1' }, null],
        'not an array',
      ];
      for (const ops of bad) {
        await expect(store.batch(ops as BatchOp[])).rejects.toThrow(TypeError);
      }
      expect(await dumpStore(store)).toEqual([['keep', 'x']]);
    });

    it('rejects ambiguous or malformed ranges and keys with a TypeError', async () => {
      expect(() => store.iterate({ gt: 'a', gte: 'a' })).toThrow(TypeError);
      expect(() => store.iterate({ lt: 'a', lte: 'a' })).toThrow(TypeError);
      expect(() => store.iterate({ gt: 1 as unknown as string })).toThrow(TypeError);
      await expect(store.get(1 as unknown as string)).rejects.toThrow(TypeError);
      await expect(store.getMany(['a', 1 as unknown as string])).rejects.toThrow(TypeError);
    });

    it('writes a large batch atomically and reads it back in order', async () => {
      const ops: BatchOp[] = [];
      for (let i = 0; i < 10_000; i++)
        ops.push({ type: 'put', key: `k/${String(i).padStart(5, '0')}`, value: `${i}` });
      await store.batch(ops);
      const all = await collect(store.iterate({ gte: 'k/', lt: 'k0' }));
      expect(all).toHaveLength(10_000);
      expect(all[0]).toEqual(['k/00000', '0']);
      expect(all[9_999]).toEqual(['k/09999', '9999']);
      expect(await collect(store.iterate({ gte: 'k/05000', limit: 2 }))).toEqual([
        ['k/05000', '5000'],
        ['k/05001', '5001'],
      ]);
      await store.batch(ops.map((op) => ({ type: 'del', key: op.key })));
      expect(await dumpStore(store)).toEqual([]);
    });

    it('iterates the store as of the iterator creation, whatever is written afterwards', async (t) => {
      if (!store.capabilities.snapshotIterators) t.skip('the store does not declare snapshotIterators');
      await putAll(store, { a: '1', b: '2', c: '3' });
      const untouched = store.iterate({});
      const it = store.iterate({})[Symbol.asyncIterator]();
      const first = await it.next();
      await store.batch([
        { type: 'del', key: 'b' },
        { type: 'put', key: 'c', value: 'changed' },
        { type: 'put', key: 'bb', value: 'new' },
      ]);
      const rest: [string, string][] = [];
      for (let n = await it.next(); !n.done; n = await it.next()) rest.push(n.value);
      expect([first.value, ...rest]).toEqual([
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ]);
      expect(await collect(untouched)).toEqual([
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ]);
      expect(await dumpStore(store)).toEqual([
        ['a', '1'],
        ['bb', 'new'],
        ['c', 'changed'],
      ]);
    });

    it('lets a consumer stop early without harm', async () => {
      await putAll(store, { a: '1', b: '2', c: '3' });
      for await (const [k] of store.iterate({})) if (k === 'a') break;
      await store.batch([{ type: 'put', key: 'd', value: '4' }]);
      expect(await collect(store.iterate({ reverse: true, limit: 1 }))).toEqual([['d', '4']]);
    });

    it('opens and closes idempotently and refuses work while closed', async () => {
      await store.open();
      await putAll(store, { a: '1' });
      await store.close();
      await store.close();
      await rejectsClosed(store.get('a'));
      await rejectsClosed(store.getMany(['a']));
      await rejectsClosed(store.batch([{ type: 'put', key: 'b', value: '2' }]));
      await rejectsClosed(
        (async () => {
          for await (const _ of store.iterate({})) {
            // nothing to do: the first step must fail
          }
        })(),
      );
      await store.open();
      expect(await store.get('b')).toBeUndefined();
    });

    if (factory.reopen !== undefined) {
      it('keeps every acknowledged batch across close and a new instance on the same location', async () => {
        await putAll(store, { a: '1', b: '2' });
        await store.batch([
          { type: 'del', key: 'a' },
          { type: 'put', key: 'c', value: '3' },
        ]);
        store = await reopenStore(factory, store);
        expect(await dumpStore(store)).toEqual([
          ['b', '2'],
          ['c', '3'],
        ]);
      });
    }

    it('behaves like a sorted map under random commands (model-based)', async () => {
      const commands = storeCommands(factory, store.capabilities.snapshotIterators);
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
          const real: Real = { store: await openStore(factory) };
          try {
            await fc.asyncModelRun(() => ({ model: new Map<string, string>(), real }), cmds);
          } finally {
            await disposeStore(factory, real.store);
          }
        }),
        fcParams(options.runs ?? 150),
      );
    }, 300_000);
  });
}
