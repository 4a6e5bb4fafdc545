import { describe, expect, it } from 'vitest';
import type {
  BatchOp,
  BatchOptions,
  ChangeEntry,
  ContextServices,
  Store,
  StoreCapabilities,
} from '../src/index.js';
import { createContextServices, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { dump, isChangeLogKey, rejects, setup, T0 } from './helpers.js';

/** Pull `n` entries from a live iterator (each `next()` waits for the next commit). */
async function take(it: AsyncIterator<ChangeEntry>, n: number): Promise<ChangeEntry[]> {
  const out: ChangeEntry[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

async function call(cs: ContextServices, tenant?: string) {
  const o = tenant === undefined ? {} : { tenant };
  const { service_id } = await cs.startService({ customer_id: 'C1', contact_key: 'K1' }, o);
  const { state_id } = await cs.startState(service_id, { state_type: 'ivr' }, o);
  const { task_id } = await cs.startTask(service_id, { state_id }, o);
  await cs.endTask(service_id, task_id, {}, o);
  await cs.associate('C2', service_id, {}, o);
  await cs.endService(service_id, {}, o);
  return service_id;
}

describe('changes() (docs/spec.md §12)', () => {
  it('delivers every committed event with its position, service and customer at commit', async () => {
    const { cs } = await setup();
    const entries = (await cs.changes({ since: 0 }))[Symbol.asyncIterator]();
    const sid = await call(cs);
    const got = await take(entries, 7);
    expect(got.map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(got.map((e) => e.event.type)).toEqual([
      'service.started',
      'state.started',
      'task.started',
      'task.completed',
      'service.associated',
      'state.completed',
      'service.completed',
    ]);
    for (const { event } of got) expect(event.service_id).toBe(sid);
    expect(got.map((e) => e.event.customer_id)).toEqual(['C1', 'C1', 'C1', 'C1', 'C2', 'C2', 'C2']);
    expect(got.every((e) => e.event.contact_key === 'K1')).toBe(true);
    await entries.return?.();
    await cs.close();
  });

  it('resumes right after a position: nothing lost, nothing repeated; since=now is the tail', async () => {
    const { cs } = await setup();
    await call(cs);
    const all: ChangeEntry[] = [];
    for await (const e of await cs.changes({ since: 0 })) {
      all.push(e);
      if (all.length === 7) break;
    }
    const resumed = await take((await cs.changes({ since: '3' }))[Symbol.asyncIterator](), 4);
    expect(resumed).toEqual(all.slice(3));
    const tail = (await cs.changes({ since: 'now' }))[Symbol.asyncIterator]();
    const sid = await call(cs);
    const [first] = await take(tail, 1);
    expect(first).toMatchObject({ position: 8, event: { type: 'service.started', service_id: sid } });
    await tail.return?.();
    await cs.close();
  });

  it('filters by type (with prefixes), customer, contact key and service: whole services', async () => {
    const { cs } = await setup();
    const a = await call(cs);
    const { service_id: b } = await cs.startService({ contact_key: 'K2' });
    await cs.startTask(b, {});
    await cs.deleteService(b);
    const read = async (q: object, n: number) =>
      take((await cs.changes({ since: 0, ...q }))[Symbol.asyncIterator](), n);
    const tasks = [
      ['task.started', a],
      ['task.completed', a],
      ['task.started', b],
      ['service.deleted', b],
    ];
    const pick = (es: ChangeEntry[]) => es.map((e) => [e.event.type, e.event.service_id]);
    expect(pick(await read({ types: 'task.*,service.deleted' }, 4))).toEqual(tasks);
    expect(pick(await read({ types: ['task.*', 'service.deleted'] }, 4))).toEqual(tasks);
    // C1 until the association: its first four events; C2 after it.
    expect(pick(await read({ customer_id: 'C1' }, 4))).toEqual(pick(await read({ service_id: a }, 4)));
    expect((await read({ customer_id: 'C2' }, 3)).map((e) => e.event.type)).toEqual([
      'service.associated',
      'state.completed',
      'service.completed',
    ]);
    const anonymous = await read({ contact_key: 'K2' }, 3);
    expect(anonymous.map((e) => [e.event.type, e.event.service_id])).toEqual([
      ['service.started', b],
      ['task.started', b],
      ['service.deleted', b],
    ]);
    expect((await read({ service_id: b, types: 'service.*' }, 2)).map((e) => e.event.type)).toEqual([
      'service.started',
      'service.deleted',
    ]);
    await cs.close();
  });

  it('rejects a bad query and a position outside the log, before reading anything', async () => {
    const { cs } = await setup();
    await call(cs);
    await rejects(cs.changes({ types: 'nope' }), 'VALIDATION_FAILED', /types/);
    await rejects(cs.changes({ types: 'service.' }), 'VALIDATION_FAILED', /types/);
    await rejects(cs.changes({ since: 'yesterday' }), 'VALIDATION_FAILED', /since/);
    await rejects(cs.changes({ since: -1 }), 'VALIDATION_FAILED', /since/);
    await rejects(cs.changes({ customer_id: '' }), 'VALIDATION_FAILED', /customer_id/);
    await rejects(cs.changes({ since: 99 }), 'CHANGES_EXPIRED', /ahead/);
    await expect(cs.changes({ signal: 'x' as never })).rejects.toThrow(TypeError);
    await cs.close();
  });

  it('keeps tenants apart: positions and events per tenant', async () => {
    const { cs } = await setup();
    const a = (await cs.changes({ since: 0 }, { tenant: 'A' }))[Symbol.asyncIterator]();
    await call(cs, 'B');
    const sid = await call(cs, 'A');
    const got = await take(a, 1);
    expect(got[0]).toMatchObject({ position: 1, event: { service_id: sid, tenant: 'A' } });
    await a.return?.();
    await cs.close();
  });

  it('ends a waiting iterator when its signal aborts and when the engine closes', async () => {
    const { cs } = await setup();
    const ac = new AbortController();
    const waiting = (await cs.changes({ signal: ac.signal }))[Symbol.asyncIterator]().next();
    ac.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
    const other = (await cs.changes({}))[Symbol.asyncIterator]().next();
    await cs.close();
    expect(await other).toEqual({ done: true, value: undefined });
  });

  it('never writes an event for a rejected call', async () => {
    const { cs, store } = await setup();
    await rejects(cs.startState('nope', {}), 'SERVICE_NOT_FOUND');
    await rejects(cs.startService({}), 'VALIDATION_FAILED');
    expect((await dump(store)).filter(([k]) => isChangeLogKey(k))).toEqual([]);
    await cs.close();
  });
});

describe('change-log retention (the sweep)', () => {
  it('removes entries older than the retention, keeps the newest, and answers CHANGES_EXPIRED behind it', async () => {
    const { cs, clock, store } = await setup({ changes: { retention: '1h' } });
    await call(cs);
    clock.advance(30 * 60_000);
    const sid = await call(cs);
    expect(await cs.sweep()).toEqual({ expired: 0, autoCompleted: 0 });
    clock.advance(31 * 60_000);
    await cs.sweep();
    const log = (await dump(store)).filter(([k]) => isChangeLogKey(k));
    // The first call's 7 entries went; the floor records position 7.
    expect(log[0]).toEqual(['t/l/0000000000000008', expect.any(String)]);
    expect(log.at(-1)).toEqual(['t/lw', '7']);
    await rejects(cs.changes({ since: 6 }), 'CHANGES_EXPIRED', /older/);
    const resumed = (await cs.changes({ since: 7 }))[Symbol.asyncIterator]();
    expect((await take(resumed, 1))[0]).toMatchObject({ position: 8, event: { service_id: sid } });
    await resumed.return?.();
    // Everything is old now, yet the newest entry stays: positions go on from it after a restart.
    clock.advance(2 * 3_600_000);
    await cs.sweep();
    expect(
      (await dump(store)).filter(([k]) => isChangeLogKey(k)).map(([k, v]) => (k === 't/lw' ? v : k)),
    ).toEqual(['t/l/0000000000000014', '13']);
    await cs.close();
    const again = await createContextServices({ store, clock });
    const tail = (await again.changes({ since: 14 }))[Symbol.asyncIterator]();
    await again.startService({ customer_id: 'C9' });
    expect((await take(tail, 1))[0]?.position).toBe(15);
    await tail.return?.();
    await again.close();
  });

  it('keeps at most maxEntries positions per tenant', async () => {
    const { cs, store } = await setup({ changes: { maxEntries: 3 } });
    await call(cs);
    await call(cs, 'A/b');
    await call(cs, 'Z');
    await cs.sweep();
    const keys = (await dump(store)).filter(([k]) => isChangeLogKey(k)).map(([k]) => k);
    // Every tenant's log is trimmed, each to its own newest three.
    const tail = (t: string) => [
      `t${t}/l/0000000000000005`,
      `t${t}/l/0000000000000006`,
      `t${t}/l/0000000000000007`,
      `t${t}/lw`,
    ];
    expect(keys).toEqual([...tail(''), ...tail('A%002fb'), ...tail('Z')]);
    await rejects(cs.changes({ since: 3 }), 'CHANGES_EXPIRED');
    expect(
      (await take((await cs.changes({ since: 4 }))[Symbol.asyncIterator](), 3)).map((e) => e.position),
    ).toEqual([5, 6, 7]);
    await cs.close();
  });

  it('a reader that falls behind retention while reading gets CHANGES_EXPIRED, never a gap', async () => {
    const { cs } = await setup({ changes: { maxEntries: 10 } });
    for (let i = 0; i < 300; i++) await cs.startService({ customer_id: `C${i}` });
    const it = (await cs.changes({ since: 0 }))[Symbol.asyncIterator]();
    const got = await take(it, 1);
    await cs.sweep(); // removes positions 1..290 while the reader holds its first page (1..256)
    let error: unknown;
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value);
    } catch (e) {
      error = e;
    }
    expect(got.map((e) => e.position)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
    expect(error).toMatchObject({ code: 'CHANGES_EXPIRED', details: { since: 256, oldest: 290 } });
    await cs.close();
  });

  it('rejects a bad retention configuration', async () => {
    await expect(setup({ changes: { retention: 'forever' } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(setup({ changes: { maxEntries: 0 } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

/** A memory store whose next batch the test can hold back: commits that complete out of order. */
class HeldStore extends MemoryStore {
  #gate: { entered: () => void; release: Promise<void> } | undefined;
  /** Hold the next batch until `release` settles (its rejection fails it); resolves once it is called. */
  holdNext(release: Promise<void>): Promise<void> {
    return new Promise<void>((entered) => {
      this.#gate = { entered, release };
    });
  }
  override async batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
    const gate = this.#gate;
    if (gate !== undefined) {
      this.#gate = undefined;
      gate.entered();
      await gate.release;
    }
    return super.batch(ops, options);
  }
}

describe('positions and visibility', () => {
  it('holds readers below a batch still in flight, so none skips it (single-writer stores)', async () => {
    const store = new HeldStore();
    const cs = await createContextServices({ store, clock: new SimulatedClock(T0) });
    const live = (await cs.changes({ since: 0 }))[Symbol.asyncIterator]();
    let release: () => void = () => undefined;
    const held = store.holdNext(
      new Promise<void>((r) => {
        release = r;
      }),
    );
    const slow = cs.startService({ customer_id: 'slow' }); // position 1, held
    await held;
    await cs.startService({ customer_id: 'fast' }); // position 2, committed first
    const next = live.next();
    release();
    await slow;
    expect((await next).value).toMatchObject({ position: 1, event: { customer_id: 'slow' } });
    expect((await live.next()).value).toMatchObject({ position: 2, event: { customer_id: 'fast' } });
    await live.return?.();
    await cs.close();
  });

  it('on a shared store, lets the store number entries and sees other engines through polling', async () => {
    const store: Store = new MemoryStore({ sharedWriters: true });
    const clock = new SimulatedClock(T0);
    const a = await createContextServices({ store, clock, config: { cacheSize: 0 } });
    const b = await createContextServices({
      store,
      clock,
      config: { cacheSize: 0, changes: { pollInterval: 5 } },
    });
    const seen = (await b.changes({ since: 0 }))[Symbol.asyncIterator]();
    // Only polling can tell b's reader of a's write.
    await a.startService({ customer_id: 'from-a' });
    const first = await take(seen, 1);
    await b.startService({ customer_id: 'from-b' });
    const got = [...first, ...(await take(seen, 1))];
    expect(got.map((e) => [e.position, e.event.customer_id])).toEqual([
      [1, 'from-a'],
      [2, 'from-b'],
    ]);
    await seen.return?.();
    await a.close();
    await b.close();
  });

  it('a batch that fails releases the readers it held; its position stays a gap (single-writer stores)', async () => {
    const store = new HeldStore();
    const cs = await createContextServices({ store, clock: new SimulatedClock(T0) });
    const live = (await cs.changes({ since: 0 }))[Symbol.asyncIterator]();
    let fail: (e: Error) => void = () => undefined;
    const held = store.holdNext(
      new Promise<void>((_, reject) => {
        fail = reject;
      }),
    );
    const failing = cs.startService({ customer_id: 'lost' }); // position 1, fails after 2 commits
    await held;
    await cs.startService({ customer_id: 'kept' }); // position 2
    const next = live.next();
    fail(new Error('disk full'));
    await expect(failing).rejects.toThrow('disk full');
    expect((await next).value).toMatchObject({ position: 2, event: { customer_id: 'kept' } });
    await cs.startService({ customer_id: 'after' });
    expect((await live.next()).value).toMatchObject({ position: 3, event: { customer_id: 'after' } });
    await live.return?.();
    await cs.close();
  });

  it('on a shared store, a write retried after PRECONDITION_FAILED is logged once, by the attempt that committed', async () => {
    /** Another process changes the service under the first conditional attempt of each write. */
    class Raced extends MemoryStore {
      raced = 0;
      override async batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
        const p = options?.preconditions?.[0];
        if (p !== undefined && 'value' in p && this.raced++ % 2 === 0) {
          // What a competing process does: rewrite the record (same content, so the retry succeeds).
          await super.batch([{ type: 'put', key: p.key, value: `${p.value} ` }]);
        }
        return super.batch(ops, options);
      }
    }
    const store = new Raced({ sharedWriters: true });
    const cs = await createContextServices({ store, clock: new SimulatedClock(T0) });
    const live = (await cs.changes({ since: 0 }))[Symbol.asyncIterator]();
    const { service_id } = await cs.startService({ customer_id: 'C' });
    await cs.startState(service_id, { state_type: 'S' });
    await cs.endService(service_id, {});
    expect(cs.stats().conflictRetries).toBe(2);
    const got = await take(live, 4);
    expect(got.map((e) => [e.position, e.event.type])).toEqual([
      [1, 'service.started'],
      [2, 'state.started'],
      [3, 'state.completed'],
      [4, 'service.completed'],
    ]);
    expect((await dump(store)).filter(([k]) => isChangeLogKey(k))).toHaveLength(4);
    await live.return?.();
    await cs.close();
  });

  it('a shared store without orderedAppend has no change log', async () => {
    class NoAppend extends MemoryStore {
      override readonly capabilities: StoreCapabilities = {
        persistent: false,
        snapshotIterators: true,
        sharedWriters: true,
      };
    }
    const cs = await createContextServices({ store: new NoAppend(), config: { cacheSize: 0 } });
    await cs.startService({ customer_id: 'C' });
    await expect(cs.changes({})).rejects.toThrow(/orderedAppend/);
    await cs.close();
  });
});
