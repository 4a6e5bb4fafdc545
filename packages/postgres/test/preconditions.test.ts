import { type BatchOp, isContextServicesError } from '@cxs/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/index.js';
import { dump, outcome, put, reason } from './helpers.js';
import { type PgFactoryOptions, pgFactory, pgUrl } from './pg-harness.js';

const factory = pgFactory();
let store: PostgresStore;
/** Other stores on the same schema: each has its own pool, as another process would. */
let others: PostgresStore[] = [];

beforeEach(async () => {
  store = await factory.create();
  await store.open();
});
afterEach(async () => {
  await Promise.all(others.map((s) => s.close()));
  others = [];
  await store.close();
  await factory.destroy(store);
});

/** `n` more stores on the schema of `store`, opened. */
async function processes(n: number, options: PgFactoryOptions = {}): Promise<PostgresStore[]> {
  const url = await pgUrl();
  const made = Array.from(
    { length: n },
    () => new PostgresStore({ poolSize: 2, ...options, connectionString: url, schema: store.schema }),
  );
  await Promise.all(made.map((s) => s.open()));
  others.push(...made);
  return made;
}

describe('PostgresStore preconditions', () => {
  it('writes when every precondition holds', async () => {
    await store.batch([put('svc', 'v1')]);
    await store.batch([put('svc', 'v2'), put('other', 'x')], {
      preconditions: [
        { key: 'svc', value: 'v1' },
        { key: 'other', absent: true },
      ],
    });
    expect(await dump(store)).toEqual([
      ['other', 'x'],
      ['svc', 'v2'],
    ]);
  });

  it('refuses the whole batch when one precondition fails, naming its key', async () => {
    await store.batch([put('svc', 'v1'), put('taken', '1')]);
    const cases: [BatchOp[], { key: string; value: string } | { key: string; absent: true }, string][] = [
      [[put('svc', 'v2'), put('new', '1')], { key: 'svc', value: 'v0' }, 'svc'],
      [[{ type: 'del', key: 'svc' }], { key: 'taken', absent: true }, 'taken'],
      [[put('a', '1')], { key: 'missing', value: '' }, 'missing'],
    ];
    for (const [ops, pre, key] of cases) {
      const e = await reason(store.batch(ops, { preconditions: [{ key: 'svc', value: 'v1' }, pre] }));
      expect(isContextServicesError(e) && e.code).toBe('PRECONDITION_FAILED');
      expect(isContextServicesError(e) && e.details).toEqual({ key });
    }
    expect(await dump(store)).toEqual([
      ['svc', 'v1'],
      ['taken', '1'],
    ]);
    expect(store.stats.preconditionFailures).toBe(3);
  });

  it('checks the preconditions of a batch without ops', async () => {
    await store.batch([put('k', '1')]);
    await store.batch([], { preconditions: [{ key: 'k', value: '1' }] });
    expect(await outcome(store.batch([], { preconditions: [{ key: 'k', absent: true }] }))).toBe(
      'PRECONDITION_FAILED',
    );
  });

  it('rejects malformed preconditions with a TypeError before writing', async () => {
    const bad: unknown[] = [
      'x',
      [null],
      [{ key: 1, absent: true }],
      [{ key: 'k' }],
      [{ key: 'k', value: 1 }],
      [{ key: 'k', value: 'v', absent: true }],
    ];
    for (const preconditions of bad) {
      await expect(
        store.batch([put('k', 'v')], { preconditions } as unknown as Parameters<PostgresStore['batch']>[1]),
      ).rejects.toThrow(TypeError);
    }
    expect(await dump(store)).toEqual([]);
  });

  it('lets exactly one of N processes win a conditional batch on one key, round after round', async () => {
    const racers = await processes(8);
    await store.batch([put('svc', 'r0')]);
    for (let round = 1; round <= 10; round++) {
      const results = await Promise.all(
        racers.map((s, i) =>
          outcome(
            s.batch([put('svc', `r${round}`), put(`win/${round}/${i}`, '1')], {
              preconditions: [{ key: 'svc', value: `r${round - 1}` }],
            }),
          ),
        ),
      );
      expect(
        results.filter((r) => r === 'ok'),
        `round ${round}: ${results}`,
      ).toHaveLength(1);
      expect(results.filter((r) => r !== 'ok').every((r) => r === 'PRECONDITION_FAILED')).toBe(true);
    }
    const all = await dump(store);
    expect(all.filter(([k]) => k.startsWith('win/'))).toHaveLength(10);
    expect(await store.get('svc')).toBe('r10');
    const retries = racers.reduce((n, s) => n + s.stats.retries, 0);
    console.log(`8 racers x 10 rounds: ${retries} serialization retries in all`);
  });

  it('lets exactly one of N processes create an absent key', async () => {
    const racers = await processes(8);
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(
        racers.map((s, i) =>
          outcome(
            s.batch([put(`id/${round}`, `${i}`), put(`by/${round}/${i}`, '1')], {
              preconditions: [{ key: `id/${round}`, absent: true }],
            }),
          ),
        ),
      );
      expect(
        results.filter((r) => r === 'ok'),
        `round ${round}: ${results}`,
      ).toHaveLength(1);
      const winner = results.indexOf('ok');
      expect(await store.get(`id/${round}`)).toBe(`${winner}`);
      expect((await dump(store)).filter(([k]) => k.startsWith(`by/${round}/`))).toEqual([
        [`by/${round}/${winner}`, '1'],
      ]);
    }
  });

  it('never commits two batches that each require the absence of what the other writes (write skew)', async () => {
    const [a, b] = (await processes(2)) as [PostgresStore, PostgresStore];
    for (let round = 0; round < 20; round++) {
      const x = `x/${round}`;
      const y = `y/${round}`;
      const results = await Promise.all([
        outcome(a.batch([put(x, '1')], { preconditions: [{ key: y, absent: true }] })),
        outcome(b.batch([put(y, '1')], { preconditions: [{ key: x, absent: true }] })),
      ]);
      expect(
        results.filter((r) => r === 'ok'),
        `round ${round}: ${results}`,
      ).toHaveLength(1);
      expect(results.filter((r) => r !== 'ok')).toEqual(['PRECONDITION_FAILED']);
      expect(await store.getMany([x, y])).toEqual(results.map((r) => (r === 'ok' ? '1' : undefined)));
    }
  });

  it('answers CONFLICT, with nothing written, when serialization failures outlast maxRetries', async () => {
    const [a, b] = await processes(2);
    const [noRetry] = (await processes(1, { maxRetries: 0 })) as [PostgresStore];
    await store.batch([put('hot', '0')]);
    // Three racers on one row; one never retries: it wins, or sees PRECONDITION_FAILED or CONFLICT,
    // and writes nothing when it loses.
    const seen = new Set<string>();
    for (let round = 0; round < 30; round++) {
      const current = (await store.get('hot')) as string;
      const preconditions = [{ key: 'hot', value: current }];
      const results = await Promise.all([
        outcome(noRetry.batch([put('hot', `n${round}`), put(`n/${round}`, '1')], { preconditions })),
        outcome((a as PostgresStore).batch([put('hot', `a${round}`)], { preconditions })),
        outcome((b as PostgresStore).batch([put('hot', `b${round}`)], { preconditions })),
      ]);
      seen.add(results[0] as string);
      expect(['ok', 'PRECONDITION_FAILED', 'CONFLICT']).toContain(results[0]);
      expect(await store.get(`n/${round}`)).toBe(results[0] === 'ok' ? '1' : undefined);
      expect(
        results.filter((r) => r === 'ok'),
        `round ${round}: ${results}`,
      ).toHaveLength(1);
    }
    console.log(`the racer without retries saw: ${[...seen].join(', ')}`);
  });
});
