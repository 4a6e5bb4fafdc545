import { isContextServicesError } from '@cxs/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type OperationEvent, PostgresStore, SCHEMA_VERSION } from '../src/index.js';
import { dump, outcome, put, reason } from './helpers.js';
import { adminQuery, pgUrl, testSchemas } from './pg-harness.js';
import { tcpProxy } from './tcp-proxy.js';

const schemas = testSchemas();
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A store on a fresh schema (or the one given), closed after the test. */
function storeOn(options: Partial<ConstructorParameters<typeof PostgresStore>[0]> & { url: string }) {
  const { url, ...rest } = options;
  const store = new PostgresStore({ schema: schemas.next(), ...rest, connectionString: url });
  cleanup.push(() => store.close());
  return store;
}

/** The same URL through a proxy on another port. */
function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

function expectGenericUnavailable(e: unknown, url: string): void {
  expect(isContextServicesError(e) && e.code, String(e)).toBe('STORE_UNAVAILABLE');
  const err = e as Error & { details?: unknown };
  expect(err.message).toBe('The database is unavailable');
  expect(err.cause).toBeDefined();
  const u = new URL(url);
  const shown = `${err.message} ${JSON.stringify(err.details)}`;
  for (const secret of [u.hostname, u.port, u.password, url].filter((s) => s !== '')) {
    expect(shown).not.toContain(secret);
  }
}

describe('PostgresStore', () => {
  it('declares a persistent, shared store with snapshot iterators', () => {
    const store = new PostgresStore({ connectionString: 'postgres://nowhere/db' });
    expect(store.capabilities).toEqual({
      persistent: true,
      snapshotIterators: true,
      sharedWriters: true,
      orderedAppend: true,
    });
    expect(store.schema).toBe('cxs');
  });

  it('rejects wrong options with a TypeError, before connecting', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { connectionString: '' },
      { connectionString: 'postgres://x/y', pool: {} },
      { connectionString: 'postgres://x/y', schema: 'Bad-Name' },
      { connectionString: 'postgres://x/y', schema: 'x"; drop table y; --' },
      { connectionString: 'postgres://x/y', poolSize: 0 },
      { connectionString: 'postgres://x/y', pageSize: 1.5 },
      { connectionString: 'postgres://x/y', maxRetries: -1 },
    ];
    for (const options of bad) {
      expect(() => new PostgresStore(options as never), JSON.stringify(options)).toThrow(TypeError);
    }
  });

  it('refuses keys and values PostgreSQL text cannot hold, writing nothing', async () => {
    const store = storeOn({ url: await pgUrl() });
    await store.open();
    await expect(store.batch([put('a', '1'), put('b', 'x\u0000y')])).rejects.toThrow(TypeError);
    await expect(store.batch([put('a', '1'), put('b', '\ud800')])).rejects.toThrow(TypeError);
    await expect(store.batch([put('a\u0000', '1')])).rejects.toThrow(TypeError);
    expect(await dump(store)).toEqual([]);
  });

  it('shows each process the writes another acknowledged, and keeps them across reopen', async () => {
    const url = await pgUrl();
    const a = storeOn({ url });
    const b = storeOn({ url, schema: a.schema });
    await Promise.all([a.open(), b.open()]);
    for (let i = 0; i < 20; i++) {
      await a.batch([put(`k${i}`, `${i}`)]);
      expect(await b.get(`k${i}`)).toBe(`${i}`);
    }
    await a.close();
    await b.close();
    const c = storeOn({ url, schema: a.schema });
    await c.open();
    expect(await dump(c)).toHaveLength(20);
  });

  it('applies the batches it is given on one key in call order, without waiting for each', async () => {
    const store = storeOn({ url: await pgUrl() });
    await store.open();
    const pending = [
      store.batch([put('k', '0')], { preconditions: [{ key: 'k', absent: true }] }),
      ...Array.from({ length: 40 }, (_, i) =>
        store.batch([put('k', `${i + 1}`), put(`other/${i}`, 'x')], {
          preconditions: [{ key: 'k', value: `${i}` }],
        }),
      ),
      store.batch([{ type: 'del', key: 'other/3' }]),
    ];
    expect(await Promise.all(pending.map(outcome))).toEqual(pending.map(() => 'ok'));
    expect(await store.get('k')).toBe('40');
    expect(await store.get('other/3')).toBeUndefined();
  });

  it('drains operations in flight on close, then refuses new ones', async () => {
    const url = await pgUrl();
    const store = storeOn({ url });
    await store.open();
    const writes = Array.from({ length: 40 }, (_, i) => store.batch([put(`w${i}`, `${i}`)]));
    const reads = Array.from({ length: 10 }, () => store.getMany(['w0']));
    await store.close();
    expect(await Promise.all(writes.map(outcome))).toEqual(writes.map(() => 'ok'));
    expect(await Promise.all(reads.map(outcome))).toEqual(reads.map(() => 'ok'));
    expect(await outcome(store.get('w0'))).toBe('CLOSED');
    const again = storeOn({ url, schema: store.schema });
    await again.open();
    expect(await dump(again)).toHaveLength(40);
  });

  it('leaves a pool it was given open on close', async () => {
    const pool = new pg.Pool({ connectionString: await pgUrl(), max: 2 });
    cleanup.push(() => pool.end());
    const store = new PostgresStore({ pool, schema: schemas.next() });
    await store.open();
    await store.batch([put('a', '1')]);
    await store.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('reads the gets and getManys called together in one statement, each with its own answer', async () => {
    const store = storeOn({ url: await pgUrl() });
    await store.open();
    await store.batch([put('a', '1'), put('b', '2')]);
    const before = store.stats.statements;
    expect(await Promise.all([store.get('a'), store.get('missing'), store.get('b'), store.get('a')])).toEqual(
      ['1', undefined, '2', '1'],
    );
    expect(store.stats.statements - before).toBe(1);
    expect(
      await Promise.all([store.getMany(['b', 'missing', 'a', 'b']), store.get('b'), store.getMany(['c'])]),
    ).toEqual([['2', undefined, '1', '2'], '2', [undefined]]);
    expect(store.stats.statements - before).toBe(2);
    // A get called after a write was acknowledged sees it.
    await store.batch([put('a', '3')]);
    expect(await store.get('a')).toBe('3');
  });

  it('reports each operation to onOperation and counts statements', async () => {
    const events: OperationEvent[] = [];
    const store = storeOn({ url: await pgUrl(), onOperation: (e) => events.push(e) });
    await store.open();
    await store.batch([put('a', '1')]);
    await store.get('a');
    await store.getMany(['a', 'b']);
    await outcome(store.batch([], { preconditions: [{ key: 'a', absent: true }] }));
    for await (const _ of store.iterate({})) {
      // drain
    }
    expect(events.map((e) => [e.operation, e.outcome, e.attempts])).toEqual([
      ['batch', 'ok', 1],
      ['get', 'ok', 1],
      ['getMany', 'ok', 1],
      ['batch', 'PRECONDITION_FAILED', 1],
      ['iterate', 'ok', 1],
    ]);
    expect(events.every((e) => e.ms >= 0)).toBe(true);
    expect(store.stats).toMatchObject({ batches: 1, preconditionFailures: 1, retries: 0 });
    // A batch is one statement; the refused one needs a transaction (it claims a key it does not
    // write): BEGIN, the statement, ROLLBACK; the iteration fits in its first page.
    expect(store.stats.statements).toBe(7);
  });
});

describe('PostgresStore schema migrations', () => {
  it('creates and versions the schema once when several processes open at the same time', async () => {
    const url = await pgUrl();
    const schema = schemas.next();
    const stores = Array.from({ length: 4 }, () => storeOn({ url, schema }));
    await Promise.all(stores.map((s) => s.open()));
    const versions = Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 }));
    // Each migration applied once, by whichever process claimed it first.
    const applied = stores.flatMap((s) => s.migration?.applied ?? []);
    expect(applied.sort()).toEqual(versions.map((v) => v.version));
    expect(stores.map((s) => s.migration?.version)).toEqual(Array(4).fill(SCHEMA_VERSION));
    const { rows } = await adminQuery(`SELECT version FROM "${schema}".cxs_migrations ORDER BY version`);
    expect(rows).toEqual(versions);
    await stores[0]?.batch([put('a', '1')]);
    expect(await stores[3]?.get('a')).toBe('1');
    const later = storeOn({ url, schema });
    await later.open();
    expect(later.migration).toEqual({ applied: [], version: SCHEMA_VERSION });
  });

  it('opens a migrated schema with a role that may only read and write the tables', async () => {
    const url = await pgUrl();
    const owner = storeOn({ url });
    await owner.open();
    await owner.close();
    const S = `"${owner.schema}"`;
    const role = `${owner.schema}_rw`;
    await adminQuery(`CREATE ROLE ${role} LOGIN PASSWORD 'rw-secret'`);
    cleanup.push(async () => {
      await adminQuery(`DROP OWNED BY ${role}`);
      await adminQuery(`DROP ROLE ${role}`);
    });
    await adminQuery(`GRANT USAGE ON SCHEMA ${S} TO ${role}`);
    await adminQuery(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${S}.cxs_entries, ${S}.cxs_appends TO ${role}`);
    await adminQuery(`GRANT SELECT ON ${S}.cxs_migrations TO ${role}`);
    const u = new URL(url);
    u.username = role;
    u.password = 'rw-secret';
    const store = storeOn({ url: u.toString(), schema: owner.schema });
    await store.open();
    await store.batch([put('a', '1')], {
      preconditions: [{ key: 'a', absent: true }],
      append: { prefix: 'log/', values: ['e'] },
    });
    expect(await store.get('a')).toBe('1');
    expect(await store.get('log/0000000000000001')).toBe('e');
    // The same role cannot create a schema of its own: a clear failure, not a half-made schema.
    const e = await reason(storeOn({ url: u.toString() }).open());
    expect(isContextServicesError(e) && e.code).toBe('STORE_FAILED');
  });

  it('refuses to open a schema newer than it knows', async () => {
    const url = await pgUrl();
    const first = storeOn({ url });
    await first.open();
    await first.close();
    await adminQuery(
      `INSERT INTO "${first.schema}".cxs_migrations (version, description) VALUES ($1, 'from the future')`,
      [SCHEMA_VERSION + 1],
    );
    const e = await reason(storeOn({ url, schema: first.schema }).open());
    expect(isContextServicesError(e) && e.code).toBe('STORE_FAILED');
  });
});

describe('PostgresStore when the database is unreachable', () => {
  it('fails open fast with STORE_UNAVAILABLE and a generic message when nothing listens', async () => {
    const url = await pgUrl();
    const proxy = await tcpProxy('127.0.0.1', 9);
    await proxy.stop(); // a port that was just free: connections are refused
    const closedUrl = viaPort(url, proxy.port);
    const store = storeOn({ url: closedUrl });
    const started = performance.now();
    const e = await reason(store.open());
    expect(performance.now() - started).toBeLessThan(3000);
    expectGenericUnavailable(e, closedUrl);
    expect(await outcome(store.get('a'))).toBe('CLOSED');
  });

  it('answers STORE_UNAVAILABLE while the database is away and recovers by itself, without crashing on idle errors', async () => {
    const url = await pgUrl();
    const target = new URL(url);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    cleanup.push(() => proxy.stop());
    const proxied = viaPort(url, proxy.port);
    const poolErrors: Error[] = [];
    let sawPoolError: () => void = () => undefined;
    const poolError = new Promise<void>((resolve) => {
      sawPoolError = resolve;
    });
    const store = storeOn({
      url: proxied,
      onPoolError: (e) => {
        poolErrors.push(e);
        sawPoolError();
      },
    });
    await store.open();
    await store.batch([put('a', '1')]);

    // Idle connections die (a server restart looks the same to the pool): no crash, next call works.
    proxy.cut();
    await poolError;
    expect(store.stats.poolErrors).toBeGreaterThanOrEqual(1);
    expect(await store.get('a')).toBe('1');

    // The database is away: every operation fails fast with the generic error.
    await proxy.stop();
    expectGenericUnavailable(await reason(store.get('a')), proxied);
    expectGenericUnavailable(await reason(store.getMany(['a'])), proxied);
    expectGenericUnavailable(await reason(store.batch([put('b', '2')])), proxied);
    const it = store.iterate({})[Symbol.asyncIterator]();
    expectGenericUnavailable(await reason(it.next()), proxied);
    expect(store.stats.unavailable).toBe(4);

    // It is back: the same store works again.
    await proxy.resume();
    await store.batch([put('b', '2')]);
    expect(await dump(store)).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });

  it('maps a pool timeout to STORE_UNAVAILABLE', async () => {
    const store = storeOn({ url: await pgUrl(), poolSize: 1, connectionTimeoutMillis: 2000, pageSize: 2 });
    await store.open();
    await store.batch([put('a', '1'), put('b', '2'), put('c', '3'), put('d', '4')]);
    // An iterator over more than a page holds the only connection until it is finished.
    const held = store.iterate({})[Symbol.asyncIterator]();
    await held.next();
    expectGenericUnavailable(await reason(store.get('a')), await pgUrl());
    await held.return?.();
    expect(await store.get('a')).toBe('1');
  });

  it('answers STORE_FAILED with a generic message for other database errors', async () => {
    const store = storeOn({ url: await pgUrl() });
    await store.open();
    await adminQuery(`DROP TABLE "${store.schema}".cxs_entries`);
    const e = await reason(store.get('a'));
    expect(isContextServicesError(e) && e.code).toBe('STORE_FAILED');
    expect((e as Error).message).toBe('The database failed during get');
    expect(((e as Error).cause as { code?: string }).code).toBe('42P01');
  });
});
