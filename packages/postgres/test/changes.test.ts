/**
 * The change stream on PostgreSQL (docs/spec.md §12): several engine processes, each with its own store,
 * write one tenant's log; every subscriber sees every process's events, in position order, none
 * skipped, also when the transactions that took positions would commit out of their order.
 */
import type { ChangeEntry, ContextServices, EngineConfig } from '@cxs/core';
import { createContextServices } from '@cxs/core';
import { changeStreamProperty } from '@cxs/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/index.js';
import { dump } from './helpers.js';
import { adminQuery, pgFactory, pgUrl, testSchemas } from './pg-harness.js';
import { tcpProxy } from './tcp-proxy.js';

// Fewer sequences than the in-process stores: every step is round trips to a server.
changeStreamProperty('PostgresStore', pgFactory(), { runs: 15 });

const schemas = testSchemas();
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** An engine on its own PostgresStore (its own pool: one process) over `schema`. */
async function engineOn(url: string, schema: string, config: EngineConfig = {}): Promise<ContextServices> {
  const store = new PostgresStore({ connectionString: url, schema, poolSize: 4 });
  const cs = await createContextServices({ store, config });
  cleanup.push(() => cs.close());
  return cs;
}

/** The same URL through a proxy on another port. */
function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** Pull `n` entries from a live iterator. */
async function take(it: AsyncIterator<ChangeEntry>, n: number): Promise<ChangeEntry[]> {
  const out: ChangeEntry[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/**
 * Resolves true once a statement of `schema` waits for a lock (polls the server's activity view),
 * false when `until` settles first.
 */
async function someoneWaitsForALock(schema: string, until: Promise<unknown>): Promise<boolean> {
  let over = false;
  void until.finally(() => {
    over = true;
  });
  while (!over) {
    const { rows } = await adminQuery(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
      [schema],
    );
    if ((rows[0] as { n: number }).n > 0) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return false;
}

/**
 * Resolves once a session on `schema` has run its statements and waits for its client inside an
 * open transaction: idle in a BEGIN … COMMIT block, or between an extended-protocol Execute and
 * its Sync (the statement ran, its implicit transaction commits at the Sync).
 */
async function someoneHoldsATransaction(schema: string): Promise<void> {
  for (;;) {
    const { rows } = await adminQuery(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE (state = 'idle in transaction' OR (state = 'active' AND wait_event = 'ClientRead'))
          AND position($1 in query) > 0`,
      [schema],
    );
    if ((rows[0] as { n: number }).n > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The positions of the log stored in `schema` (the tenant '' of the engine). */
async function storedPositions(url: string, schema: string): Promise<number[]> {
  const store = new PostgresStore({ connectionString: url, schema, poolSize: 1 });
  await store.open();
  try {
    return (await dump(store)).filter(([k]) => k.startsWith('t/l/')).map(([k]) => Number(k.slice(4)));
  } finally {
    await store.close();
  }
}

describe('change stream across processes on PostgreSQL (docs/spec.md §12)', () => {
  it('a writer whose transaction took the next position but has not committed holds back the next writer: no subscriber skips it', async () => {
    const url = await pgUrl();
    const schema = schemas.next();
    const proxy = await tcpProxy('127.0.0.1', Number(new URL(url).port || 5432));
    cleanup.push(() => proxy.stop());
    // Process A reaches the database through the proxy, which can hold its COMMIT back.
    const a = await engineOn(viaPort(url, proxy.port), schema);
    const b = await engineOn(url, schema);
    const reader = await engineOn(url, schema, { changes: { pollInterval: 5 } });
    await reader.startService({ customer_id: 'first' }); // position 1
    const live = (await reader.changes({ since: 0 }))[Symbol.asyncIterator]();
    expect((await take(live, 1)).map((e) => e.event.customer_id)).toEqual(['first']);

    // A runs its whole transaction, position 2 included, and its commit is held in the proxy: the
    // batch is one statement (named by its parts, `a` for the append), which commits at its Sync.
    const gate = proxy.holdNextCommit(/\.batch\.[a-z]*a\0/);
    cleanup.push(async () => gate.release());
    let aDone = false;
    const writeA = a.startService({ customer_id: 'A' }).then((r) => {
      aDone = true;
      return r;
    });
    await gate.held;
    await someoneHoldsATransaction(schema);
    // B writes meanwhile: with a bare sequence it would take position 3 and commit first, and a
    // subscriber reading position 3 would never go back for 2. Here B waits on A's counter row.
    let bDone = false;
    const writeB = b.startService({ customer_id: 'B' }).then((r) => {
      bDone = true;
      return r;
    });
    expect(
      await someoneWaitsForALock(schema, writeB),
      'B committed while A held the position before it',
    ).toBe(true);
    const next = live.next();
    let delivered = false;
    void next.then(() => {
      delivered = true;
    });
    // Nothing committed yet: B is blocked, A is held; the reader (polling every 5 ms) has nothing.
    expect(await storedPositions(url, schema)).toEqual([1]);
    expect([aDone, bDone, delivered]).toEqual([false, false, false]);

    gate.release();
    const [ra, rb] = await Promise.all([writeA, writeB]);
    const got = [(await next).value as ChangeEntry, ...(await take(live, 1))];
    expect(got.map((e) => [e.position, e.event.type, e.event.service_id])).toEqual([
      [2, 'service.started', ra.service_id],
      [3, 'service.started', rb.service_id],
    ]);
    expect(await storedPositions(url, schema)).toEqual([1, 2, 3]);
    await live.return?.();
  });

  it('subscribers on every process see the concurrent writes of two processes once each, in position order, without gaps', async () => {
    const url = await pgUrl();
    const schema = schemas.next();
    const writers = [await engineOn(url, schema), await engineOn(url, schema)];
    const readers = [
      await engineOn(url, schema, { changes: { pollInterval: 5 } }),
      await engineOn(url, schema, { changes: { pollInterval: 5 } }),
    ];
    const stop = new AbortController();
    const received: ChangeEntry[][] = [[], []];
    const following = readers.map(async (r, i) => {
      for await (const entry of await r.changes({ since: 0, signal: stop.signal })) {
        (received[i] as ChangeEntry[]).push(entry);
      }
    });
    // Each writer runs 10 calls of 4 events; the two writers at once, 4 calls at a time each.
    const journey = async (cs: ContextServices, n: number) => {
      const { service_id } = await cs.startService({ customer_id: `C${n}` });
      const { state_id } = await cs.startState(service_id, { state_type: 'ivr' });
      await cs.endState(service_id, state_id, {});
      await cs.endService(service_id, {});
    };
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        writers.flatMap((w, i) => Array.from({ length: 4 }, (_, j) => journey(w, round * 8 + i * 4 + j))),
      );
    }
    // 24 journeys of 4 events, at contiguous positions: a transaction that fails (a conflict
    // retried) gives its position back.
    const stored = await storedPositions(url, schema);
    expect(stored).toEqual(Array.from({ length: 96 }, (_, i) => i + 1));
    for (const r of received) {
      while (r.length < stored.length) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    stop.abort();
    await Promise.all(following);
    for (const r of received) expect(r.map((e) => e.position)).toEqual(stored);
    expect((received[0] as ChangeEntry[]).map((e) => e.event)).toEqual(
      (received[1] as ChangeEntry[]).map((e) => e.event),
    );
  });
});
