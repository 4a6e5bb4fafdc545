import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type BatchOp, isContextServicesError, type Range } from '@cxs/core';
import { modelRange } from '@cxs/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore, type PostgresStoreOptions } from '../src/index.js';
import { dump, put, reason } from './helpers.js';
import { pgFactory, pgUrl } from './pg-harness.js';

const factory = pgFactory();
const opened: PostgresStore[] = [];

/** A store with small pages on a fresh schema (dropped after the test). */
async function open(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
  const first = await factory.create();
  const store = new PostgresStore({ connectionString: await pgUrl(), schema: first.schema, ...options });
  await store.open();
  opened.push(store);
  return store;
}

afterEach(async () => {
  for (const s of opened.splice(0)) {
    await s.close();
    await factory.destroy(s);
  }
});

const key = (i: number) => `k/${String(i).padStart(4, '0')}`;

async function fill(store: PostgresStore, n: number): Promise<Map<string, string>> {
  const ops: BatchOp[] = [];
  for (let i = 0; i < n; i++) ops.push(put(key(i), `v${i}`));
  await store.batch(ops);
  return new Map(ops.map((op) => [op.key, (op as { value: string }).value]));
}

async function collect(it: AsyncIterable<[string, string]>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('PostgresStore iterate', () => {
  it('gives the same entries across page boundaries as in one page, every bound and limit', async () => {
    const store = await open({ pageSize: 7 });
    const model = await fill(store, 50);
    const ranges: Range[] = [
      {},
      { gt: key(6) },
      { gte: key(7), lt: key(22) },
      { gt: key(3), lte: key(40), limit: 15 },
      { limit: 7 },
      { limit: 8 },
      { limit: 14 },
      { limit: 0 },
      { lt: key(10) },
      { gte: key(49) },
      { gt: key(49) },
    ];
    for (const range of ranges) {
      for (const reverse of [false, true]) {
        const r = { ...range, reverse };
        expect(await collect(store.iterate(r)), JSON.stringify(r)).toEqual(modelRange(model, r));
      }
    }
  });

  it('reads a range of many pages from one snapshot, whatever this or another process writes', async () => {
    const store = await open({ pageSize: 10 });
    const other = new PostgresStore({ connectionString: await pgUrl(), schema: store.schema });
    await other.open();
    try {
      const model = await fill(store, 100);
      const expected = modelRange(model, {});
      const it = store.iterate({})[Symbol.asyncIterator]();
      const seen: [string, string][] = [];
      for (let i = 0; i < 15; i++) seen.push((await it.next()).value as [string, string]);
      // Another process's write after this process read from the iterator.
      await other.batch([
        ...[...model.keys()].map((k): BatchOp => ({ type: 'del', key: k })),
        put('k/0050x', 'new'),
      ]);
      const mid = modelRange(new Map([['k/0050x', 'new']]), {});
      // Created and never read before this process's own write: still its snapshot.
      const untouched = store.iterate({ reverse: true });
      await store.batch([put('k/0099', 'changed'), put('zzz', 'new')]);
      for (let n = await it.next(); !n.done; n = await it.next()) seen.push(n.value);
      expect(seen).toEqual(expected);
      expect(await collect(untouched)).toEqual([...mid].reverse());
      expect(await dump(store)).toEqual([
        ['k/0050x', 'new'],
        ['k/0099', 'changed'],
        ['zzz', 'new'],
      ]);
    } finally {
      await other.close();
    }
  });

  it('streams: reads one page at a time, as the consumer asks', async () => {
    const store = await open({ pageSize: 100 });
    await fill(store, 1000);
    const before = store.stats.statements;
    const it = store.iterate({})[Symbol.asyncIterator]();
    for (let i = 0; i < 150; i++) await it.next();
    // First page (101 rows) alone, BEGIN, then pages 1 and 2 in the snapshot.
    expect(store.stats.statements - before).toBe(4);
    let n = 150;
    while (!(await it.next()).done) n++;
    expect(n).toBe(1000);
    // 10 pages in all, the empty read after a full last page, and the end of the transaction.
    expect(store.stats.statements - before).toBe(1 + 1 + 10 + 1 + 1);
  });

  it('releases its connection when the consumer stops early, never iterates, or the store closes', async () => {
    const store = await open({ pageSize: 5, poolSize: 1, connectionTimeoutMillis: 3000 });
    await fill(store, 30);
    for (let round = 0; round < 3; round++) {
      for await (const [k] of store.iterate({})) if (k === key(12)) break;
    }
    const it = store.iterate({ reverse: true })[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([key(29), 'v29']);
    await it.return?.();
    // Its one connection is free again: other work goes through.
    expect(await store.get(key(3))).toBe('v3');
    const held = store.iterate({});
    const step = held[Symbol.asyncIterator]();
    await step.next();
    await store.close();
    const e = await reason(step.next());
    expect(isContextServicesError(e) && e.code).toBe('CLOSED');
    await store.open();
    expect(await store.get(key(3))).toBe('v3');
  });

  it('keeps memory flat while a large range streams (100,000 entries)', async () => {
    const store = await open({ pageSize: 1000 });
    const value = 'x'.repeat(200);
    for (let b = 0; b < 10; b++) {
      const ops: BatchOp[] = [];
      for (let i = 0; i < 10_000; i++) ops.push(put(`big/${String(b * 10_000 + i).padStart(6, '0')}`, value));
      await store.batch(ops);
    }
    // Heap in use after a full collection: what the iteration retains, not its garbage.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const retained = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const start = retained();
    let peak = start;
    let n = 0;
    for await (const _ of store.iterate({ gte: 'big/', lt: 'big0' })) {
      if (++n % 20_000 === 0) peak = Math.max(peak, retained());
    }
    expect(n).toBe(100_000);
    const grewMiB = (peak - start) / 2 ** 20;
    console.log(`100,000 entries of 200 B streamed; retained heap grew at most ${grewMiB.toFixed(1)} MiB`);
    // The whole range is over 25 MiB as JS strings; one page is about 0.3 MiB.
    expect(grewMiB).toBeLessThan(10);
  }, 120_000);
});
