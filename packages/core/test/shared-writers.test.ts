/**
 * docs/spec.md §11 with engines as processes: two or three engines over ONE memory store that declares
 * `sharedWriters`, so that nothing but the store's preconditions keeps them from stepping on each
 * other (each engine has its own queues and cache). L7 across processes, composite start, the
 * sweep and purge, CONFLICT; the store's integrity (with dense ids) after each.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  BatchOp,
  BatchOptions,
  CompositeItemResult,
  CompositeResult,
  ContextEvent,
  ContextServices,
  EngineConfig,
  Range,
  Store,
} from '../src/index.js';
import {
  ContextServicesError,
  createContextServices,
  isContextServicesError,
  SimulatedClock,
} from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { verifyStoreIntegrity } from '../src/testing/index.js';
import { dump, isChangeLogKey, iso, rejects, T0, withoutChangeLog } from './helpers.js';

interface Node {
  cs: ContextServices;
  events: ContextEvent[];
}

let open: ContextServices[] = [];

afterEach(async () => {
  for (const cs of open) await cs.close();
  open = [];
});

/** `n` engines over one shared memory store and one simulated clock. */
async function cluster(n: number, config: EngineConfig = {}, store: Store = shared()) {
  const clock = new SimulatedClock(T0);
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const cs = await createContextServices({ store, clock, config });
    open.push(cs);
    const events: ContextEvent[] = [];
    cs.on('*', (e) => events.push(e));
    nodes.push({ cs, events });
  }
  const all = () => nodes.flatMap((x) => x.events);
  const retries = () => nodes.reduce((sum, x) => sum + x.cs.stats().conflictRetries, 0);
  /** Engine `i` (modulo the number of engines). */
  const cs = (i: number) => (nodes[i % n] as Node).cs;
  return { store, clock, nodes, cs, all, retries };
}

/**
 * The change log holds exactly the events the engines emitted (each write once, whatever its
 * retries), at distinct positions.
 */
async function expectLogged(store: Store, emitted: readonly ContextEvent[]): Promise<void> {
  const entries = (await dump(store)).filter(([k]) => isChangeLogKey(k) && k.includes('/l/'));
  const logged = entries.map(([, v]) => (JSON.parse(v) as { event: ContextEvent }).event);
  const key = (e: ContextEvent) => `${e.type} ${e.service_id} ${'state_id' in e ? e.state_id : ''}`;
  expect(logged.map(key).sort()).toEqual(emitted.map(key).sort());
}

function shared(): MemoryStore {
  return new MemoryStore({ sharedWriters: true });
}

/** The error code of a rejection, or 'ok'. */
function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isContextServicesError(e) ? e.code : String(e)),
  );
}

const first = (r: CompositeResult): CompositeItemResult => r.services[0] as CompositeItemResult;

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The shared store plain, and behind a latency that makes engines interleave at every step. */
const STORES = [
  ['in-memory', () => shared() as Store],
  ['with I/O latency', () => new Latent(shared()) as Store],
] as const;

async function expectIntact(store: Store): Promise<void> {
  expect(await verifyStoreIntegrity(store, { denseIds: true })).toEqual([]);
}

describe('engines sharing one store (docs/spec.md §11)', () => {
  it.each([
    ['in-memory', shared],
    ['with I/O latency', () => new Latent(shared())],
  ] as const)(
    'L7: 200 concurrent state and task starts over three engines get unique, dense ids (%s)',
    async (label, make) => {
      const { store, cs, all, retries } = await cluster(3, {}, make());
      const sid = (await cs(0).startService({ customer_id: 'C' })).service_id;
      const calls = range(200).map((i) =>
        i % 2 === 0
          ? cs(i)
              .startState(sid, { state_type: `s${i}` })
              .then((r) => ['state', r.state_id] as const)
          : cs(i)
              .startTask(sid, { task_type: `t${i}` })
              .then((r) => ['task', r.task_id] as const),
      );
      const results = await Promise.all(calls);
      const ids = (kind: string) =>
        results
          .filter(([k]) => k === kind)
          .map(([, id]) => id)
          .sort((a, b) => a - b);
      expect(ids('state')).toEqual(range(100));
      expect(ids('task')).toEqual(range(100));
      // The engines did collide, and each write was announced once, by the attempt that committed.
      console.log(`200 concurrent starts over 3 engines (${label}): ${retries()} conflict retries`);
      expect(retries()).toBeGreaterThan(0);
      const started = all().filter((e) => e.type === 'state.started' || e.type === 'task.started');
      expect(started).toHaveLength(200);
      const view = await cs(1).getService(sid, {
        active_states: true,
        active_tasks: true,
      });
      expect(view.active_states).toHaveLength(100);
      expect(view.active_tasks).toHaveLength(100);
      await expectIntact(store);
      // Retried attempts appended nothing: the log holds each committed write's events once, and
      // any engine reads them back in position order.
      await expectLogged(store, all());
      const read: number[] = [];
      const stop = new AbortController();
      for await (const { position } of await cs(2).changes({ since: 0, signal: stop.signal })) {
        read.push(position);
        if (read.length === 201) stop.abort();
      }
      expect(read).toEqual([...read].sort((a, b) => a - b));
      expect(new Set(read).size).toBe(201);
    },
  );

  it.each(STORES)(
    'L1: concurrent ends of one state through three engines: one success, the rest ALREADY_COMPLETED (%s)',
    async (_, make) => {
      const { store, cs, all } = await cluster(3, {}, make());
      const sid = (await cs(0).startService({ customer_id: 'C' })).service_id;
      const { state_id } = await cs(0).startState(sid, { state_type: 'S' });
      await cs(0).startTask(sid, { task_type: 'T', state_id });
      const outcomes = await Promise.all(
        range(30).map((i) => outcome(cs(i).endState(sid, state_id, { disposition: `d${i}` }))),
      );
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'ok')).toEqual(Array(29).fill('ALREADY_COMPLETED'));
      expect(all().filter((e) => e.type === 'state.completed')).toHaveLength(1);
      // L2 happened once, in the same write.
      expect(all().filter((e) => e.type === 'task.completed')).toHaveLength(1);
      await expectIntact(store);
    },
  );

  it.each(STORES)(
    'concurrent associates with different customers leave the service under exactly one customer (%s)',
    async (_, make) => {
      const { store, cs } = await cluster(3, {}, make());
      const sid = (await cs(0).startService({ contact_key: 'K' })).service_id;
      const customers = range(12).map((i) => `C${i}`);
      const outcomes = await Promise.all(customers.map((c, i) => outcome(cs(i).associate(c, sid, {}))));
      expect(outcomes).toEqual(Array(12).fill('ok'));
      const final = (await cs(2).getService(sid)).customer_id;
      const listed: string[] = [];
      for (const c of customers) {
        const services = await cs(0).listCustomerServices(c);
        if (services.length > 0) listed.push(c);
        for (const s of services) expect(s.service_id).toBe(sid);
      }
      expect(listed).toEqual([final]);
      expect(await cs(1).listAnonymousServices('K')).toEqual([]);
      await expectIntact(store);
    },
  );

  it.each(STORES)(
    '§6: 50 identical concurrent composite starts over two engines create one service, one state, one task (%s)',
    async (_, make) => {
      const { store, cs, all } = await cluster(2, {}, make());
      const body = {
        services: [
          {
            service: { customer_id: 'C', service_type: 'booking' },
            state: { state_type: 'identify' },
            task: { task_type: 'verify' },
            associate_state_task: true,
          },
        ],
      };
      const results = await Promise.all(range(50).map((i) => cs(i).compositeStart(body)));
      const items = results.map((r) => first(r));
      const sid = first(results[0] as CompositeResult).service_id;
      expect(items.every((x) => x.service_id === sid && x.state_id === 1 && x.task_id === 1)).toBe(true);
      expect(items.filter((x) => x.service_created)).toHaveLength(1);
      expect(items.filter((x) => x.state_created)).toHaveLength(1);
      expect(items.filter((x) => x.task_created)).toHaveLength(1);
      expect(await cs(0).listCustomerServices('C')).toHaveLength(1);
      expect(all().filter((e) => e.type === 'service.started')).toHaveLength(1);
      // Once the service is completed, the next composite start creates a new one, once again.
      await cs(1).endService(sid, {});
      const again = await Promise.all(range(10).map((i) => cs(i).compositeStart(body)));
      const next = new Set(again.map((r) => first(r).service_id));
      expect(next.size).toBe(1);
      expect(next.has(sid)).toBe(false);
      expect(await cs(0).listCustomerServices('C')).toHaveLength(2);
      await expectIntact(store);
    },
  );

  it('sweeps by two engines at once auto-complete and expire each service once', async () => {
    const config = { expiration: '1h', autoCompleteEnabled: true, autoCompleteAfter: 600, batchSize: 4 };
    const { store, clock, cs, all } = await cluster(2, config);
    const sids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { service_id } = await cs(i).startService({ customer_id: `C${i}` });
      await cs(i).startState(service_id, { state_type: 'S' });
      sids.push(service_id);
    }
    clock.set(T0 + 20 * 60_000);
    const [a, b] = await Promise.all([cs(0).sweep(), cs(1).sweep()]);
    expect(a.autoCompleted + b.autoCompleted).toBe(20);
    const completed = all().filter((e) => e.type === 'service.completed');
    expect(new Set(completed.map((e) => e.service_id)).size).toBe(20);
    expect(completed).toHaveLength(20);
    clock.set(T0 + 5 * 3_600_000);
    const [c, d] = await Promise.all([cs(1).sweep(), cs(0).sweep()]);
    expect(c.expired + d.expired).toBe(20);
    const deleted = all().filter((e) => e.type === 'service.deleted');
    expect(deleted).toHaveLength(20);
    expect(new Set(deleted.map((e) => e.service_id))).toEqual(new Set(sids));
    expect(withoutChangeLog((await dump(store)).map(([k]) => k))).toEqual(['l/sweep']);
    await expectLogged(store, all());
    await expectIntact(store);
  });

  it('takes over the sweep when the holder’s lease ran out, and still handles each service once', async () => {
    const { store, clock, cs, all } = await cluster(2, { expiration: '1h', batchSize: 3 });
    for (let i = 0; i < 40; i++) await cs(i).startService({ customer_id: `C${i}` });
    clock.set(T0 + 2 * 3_600_000);
    // Engine A takes the lease and starts; once it has removed a service, its lease is made to run
    // out (A looks dead) and engine B sweeps at the same time.
    let firstDeletion: () => void = () => undefined;
    const deletedByA = new Promise<void>((resolve) => {
      firstDeletion = resolve;
    });
    cs(0).on('service.deleted', () => firstDeletion());
    const a = cs(0).sweep(clock.now());
    await deletedByA;
    expect(await cs(1).sweep(clock.now())).toEqual({ expired: 0, autoCompleted: 0 });
    clock.advance(61_000);
    const b = cs(1).sweep(T0 + 2 * 3_600_000);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.expired).toBeGreaterThan(0);
    expect(rb.expired).toBeGreaterThan(0);
    expect(ra.expired + rb.expired).toBe(40);
    const deleted = all().filter((e) => e.type === 'service.deleted');
    expect(deleted).toHaveLength(40);
    expect(new Set(deleted.map((e) => e.service_id)).size).toBe(40);
    await expectIntact(store);
  });

  it('gives the lease back on stopSweeper, so another engine sweeps at once', async () => {
    const { cs } = await cluster(2, { expiration: '1h' });
    await cs(0).startService({ customer_id: 'C' });
    // The clock stays at T0 (the lease is live); the sweeps are asked for two hours later.
    const later = T0 + 2 * 3_600_000;
    expect(await cs(0).sweep(T0)).toEqual({ expired: 0, autoCompleted: 0 });
    expect(await cs(1).sweep(later)).toEqual({ expired: 0, autoCompleted: 0 });
    await cs(0).stopSweeper();
    expect(await cs(1).sweep(later)).toEqual({ expired: 1, autoCompleted: 0 });
  });

  it('concurrent purges from two engines delete each service once', async () => {
    const { store, cs, all } = await cluster(2, { batchSize: 5 });
    for (let i = 0; i < 30; i++) {
      await cs(i).startService({ customer_id: `C${i}`, timestamp: iso(T0 - 1000) });
    }
    const body = { limit: iso(T0), operation: 'purge.service.all' } as const;
    const [a, b] = await Promise.all([cs(0).purge(body), cs(1).purge(body)]);
    expect(a.purged + b.purged).toBe(30);
    expect(all().filter((e) => e.type === 'service.deleted')).toHaveLength(30);
    expect(withoutChangeLog(await dump(store))).toEqual([]);
    await expectLogged(store, all());
  });

  it('never answers from a cache another engine made stale (read-your-writes anywhere)', async () => {
    const { cs } = await cluster(2, { cacheSize: 1000 });
    const sid = (await cs(0).startService({ customer_id: 'C' })).service_id;
    expect((await cs(0).getService(sid)).completed).toBeUndefined();
    await cs(1).endService(sid, {});
    expect((await cs(0).getService(sid)).completed).toBeDefined();
    await cs(1).deleteService(sid);
    await rejects(cs(0).getService(sid), 'SERVICE_NOT_FOUND');
  });

  it('answers CONFLICT once its retries ran out, having written nothing and emitted nothing', async () => {
    const inner = shared();
    const setupNode = await createContextServices({ store: inner, clock: new SimulatedClock(T0) });
    open.push(setupNode);
    const sid = (await setupNode.startService({ customer_id: 'C' })).service_id;
    const { nodes } = await cluster(1, { conflictRetries: 3 }, new Contended(inner));
    const { cs, events } = nodes[0] as Node;
    const before = await dump(inner);
    const error = await cs.startState(sid, { state_type: 'S' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isContextServicesError(error) && error.code).toBe('CONFLICT');
    expect(((error as ContextServicesError).cause as ContextServicesError).code).toBe('PRECONDITION_FAILED');
    expect(cs.stats()).toMatchObject({ conflictRetries: 3, conflicts: 1 });
    expect(events).toEqual([]);
    expect(await dump(inner)).toEqual(before);
    // Reads are unaffected.
    expect((await cs.getService(sid)).service_id).toBe(sid);
  });
});

describe('shared-writers configuration', () => {
  it('validates conflictRetries and the memory store option', async () => {
    for (const conflictRetries of [-1, 1.5, Number.NaN]) {
      await rejects(
        createContextServices({ store: shared(), config: { conflictRetries } }),
        'VALIDATION_FAILED',
      );
    }
    expect(() => new MemoryStore({ sharedWriters: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(new MemoryStore().capabilities.sharedWriters).toBe(false);
    expect(new MemoryStore({ sharedWriters: true }).capabilities.sharedWriters).toBe(true);
  });

  it('with conflictRetries 0 answers CONFLICT at the first conflict', async () => {
    const inner = shared();
    const writer = await createContextServices({ store: inner, clock: new SimulatedClock(T0) });
    open.push(writer);
    const sid = (await writer.startService({ customer_id: 'C' })).service_id;
    const { nodes } = await cluster(1, { conflictRetries: 0 }, new Contended(inner));
    await rejects((nodes[0] as Node).cs.endService(sid, {}), 'CONFLICT');
    expect((nodes[0] as Node).cs.stats()).toMatchObject({ conflictRetries: 0, conflicts: 1 });
  });
});

/** A store where another writer always got there first: every conditional batch fails. */
class Contended implements Store {
  readonly capabilities;
  protected readonly inner: Store;
  constructor(inner: Store) {
    this.inner = inner;
    this.capabilities = inner.capabilities;
  }
  open() {
    return this.inner.open();
  }
  close() {
    return this.inner.close();
  }
  get(key: string) {
    return this.inner.get(key);
  }
  getMany(keys: readonly string[]) {
    return this.inner.getMany(keys);
  }
  iterate(r: Range) {
    return this.inner.iterate(r);
  }
  async batch(ops: readonly BatchOp[], options?: BatchOptions) {
    const first = options?.preconditions?.[0];
    if (first !== undefined) {
      throw new ContextServicesError('PRECONDITION_FAILED', 'changed by another writer', {
        details: { key: first.key },
      });
    }
    return this.inner.batch(ops, options);
  }
}

/**
 * A store whose every operation first yields to the event loop, as a database round trip does:
 * engines then interleave at every read and write, as processes do.
 */
class Latent extends Contended {
  override async get(key: string) {
    await yieldToLoop();
    return super.get(key);
  }
  override async getMany(keys: readonly string[]) {
    await yieldToLoop();
    return super.getMany(keys);
  }
  override async batch(ops: readonly BatchOp[], options?: BatchOptions) {
    await yieldToLoop();
    return this.inner.batch(ops, options);
  }
}
