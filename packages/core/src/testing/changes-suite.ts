/**
 * The change stream's property (docs/spec.md §12), run by every store: random writes (alone and in
 * concurrent bursts), subscribers that disconnect and resume from their last position, and engine
 * restarts on the same store; each subscriber's received sequence must equal the committed log,
 * filtered, in order, with no gap and no duplicate, and the log must hold exactly the events the
 * engine emitted, each with its service's customer and contact key as they were at commit.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { ChangesQuery, ContextServices } from '../api.js';
import type { StoredChange } from '../change-log.js';
import { SimulatedClock } from '../clock.js';
import { createContextServices } from '../engine.js';
import { isContextServicesError } from '../errors.js';
import type { ChangeEntry, ChangeEvent, ContextEvent } from '../events.js';
import type { Store } from '../store.js';
import { disposeStore, openStore, type StoreFactory } from './factory.js';
import { fcParams } from './params.js';

type Command =
  | { kind: 'write'; action: number; svc: number; c: number }
  | { kind: 'burst'; writes: { action: number; svc: number; c: number }[] }
  | { kind: 'disconnect' | 'resume'; sub: number }
  | { kind: 'restart' | 'settle' };

const write = fc.record({ action: fc.nat(8), svc: fc.nat(7), c: fc.nat(2) });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: write.map((w) => ({ kind: 'write' as const, ...w })) },
  {
    weight: 2,
    arbitrary: fc
      .array(write, { minLength: 2, maxLength: 4 })
      .map((writes) => ({ kind: 'burst' as const, writes })),
  },
  { weight: 2, arbitrary: fc.nat(2).map((sub) => ({ kind: 'disconnect' as const, sub })) },
  { weight: 2, arbitrary: fc.nat(2).map((sub) => ({ kind: 'resume' as const, sub })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

const FILTERS: readonly Omit<ChangesQuery, 'since' | 'signal'>[] = [
  {},
  { types: ['task.*', 'service.deleted'] },
  { customer_id: 'C1' },
];

function matches(q: Omit<ChangesQuery, 'since' | 'signal'>, e: ChangeEvent): boolean {
  if (q.customer_id !== undefined && e.customer_id !== q.customer_id) return false;
  if (q.types !== undefined) return e.type.startsWith('task.') || e.type === 'service.deleted';
  return true;
}

/** One subscriber: its entries over every connection, and the current connection. */
class Subscriber {
  readonly received: ChangeEntry[] = [];
  since = 0;
  #ac: AbortController | undefined;
  #done: Promise<void> | undefined;
  #wake: () => void = () => undefined;
  error: unknown;
  readonly filter: Omit<ChangesQuery, 'since' | 'signal'>;

  constructor(filter: Omit<ChangesQuery, 'since' | 'signal'>) {
    this.filter = filter;
  }

  get connected(): boolean {
    return this.#done !== undefined;
  }

  async connect(cs: ContextServices): Promise<void> {
    if (this.#done !== undefined) return;
    const ac = new AbortController();
    const entries = await cs.changes({ ...this.filter, since: this.since, signal: ac.signal });
    this.#ac = ac;
    this.#done = (async () => {
      for await (const e of entries) {
        this.received.push(e);
        this.#wake();
      }
    })().catch((error: unknown) => {
      this.error = error;
    });
  }

  /** Abort (or, after the engine closed, just wait for the end) and remember where to resume. */
  async disconnect(abort = true): Promise<void> {
    if (this.#done === undefined) return;
    if (abort) this.#ac?.abort();
    await this.#done;
    this.#done = undefined;
    this.since = this.received.at(-1)?.position ?? this.since;
  }

  /** Resolves once `n` entries have arrived (woken by each one); fails after a generous guard instead of hanging. */
  async until(n: number): Promise<void> {
    let guard: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      guard = setTimeout(
        () => reject(new Error(`subscriber stuck at ${this.received.length} of ${n} entries`)),
        10_000,
      );
    });
    try {
      while (this.received.length < n && this.error === undefined) {
        await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), stuck]);
      }
    } finally {
      clearTimeout(guard);
    }
    if (this.error !== undefined) throw this.error;
  }
}

async function rawLog(store: Store): Promise<ChangeEntry[]> {
  const out: ChangeEntry[] = [];
  for await (const [k, v] of store.iterate({ gte: 't/l/', lt: 't/l0' })) {
    out.push({ position: Number(k.slice(4)), event: (JSON.parse(v) as StoredChange).event });
  }
  return out;
}

const strip = (e: ChangeEvent): string => {
  const { customer_id: _c, contact_key: _k, ...rest } = e;
  return JSON.stringify({ ...rest, c: e.type === 'service.associated' ? e.customer_id : undefined });
};

async function apply(cs: ContextServices, sids: string[], w: { action: number; svc: number; c: number }) {
  const sid = sids[w.svc % Math.max(1, sids.length)] ?? 'none';
  try {
    switch (w.action) {
      case 0:
        sids.push(
          (
            await cs.startService(
              w.c === 2 ? { contact_key: `K${w.c}` } : { customer_id: `C${w.c}`, contact_key: 'K' },
            )
          ).service_id,
        );
        return;
      case 1:
        await cs.startState(sid, {});
        return;
      case 2:
        await cs.startTask(sid, {});
        return;
      case 3:
        await cs.endTask(sid, 1, {});
        return;
      case 4:
        await cs.endState(sid, 1, {});
        return;
      case 5:
        await cs.endService(sid, {});
        return;
      case 6:
        await cs.associate(`C${w.c}`, sid, {});
        return;
      case 7:
        await cs.deleteService(sid);
        return;
      default:
        await cs.putExtension({ service_id: sid }, 'x', { n: w.c });
    }
  } catch (error) {
    if (!isContextServicesError(error)) throw error;
  }
}

/** Options of {@link changeStreamProperty}. */
export interface ChangeStreamPropertyOptions {
  /** fast-check runs (default 25; `FC_RUNS` overrides). */
  runs?: number;
}

/**
 * Register the change-stream property for a store (one `it`). Restarts reopen a persistent store
 * through the factory and reuse the instance otherwise.
 *
 * @example
 * ```ts
 * changeStreamProperty('LevelStore', levelFactory());
 * ```
 */
export function changeStreamProperty(
  name: string,
  factory: StoreFactory,
  options: ChangeStreamPropertyOptions = {},
) {
  it(`${name}: every subscriber receives the committed events in order, no gap, no duplicate, across disconnects and restarts`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (commands) => {
        let store = await openStore(factory);
        const clock = new SimulatedClock(Date.parse('2026-01-01T00:00:00.000Z'));
        const emitted: ContextEvent[] = [];
        const start = async () => {
          const cs = await createContextServices({ store, clock });
          cs.on('*', (e) => emitted.push(e));
          return cs;
        };
        let cs = await start();
        const subs = FILTERS.map((f) => new Subscriber(f));
        const sids: string[] = [];
        try {
          for (const s of subs) await s.connect(cs);
          const settle = async () => {
            const log = await rawLog(store);
            for (const s of subs) {
              const expected = log.filter((e) => matches(s.filter, e.event));
              if (s.connected) await s.until(expected.length);
              expect(s.received).toEqual(expected.slice(0, s.received.length));
              if (s.connected) expect(s.received).toHaveLength(expected.length);
            }
          };
          for (const c of commands) {
            if (c.kind === 'write') await apply(cs, sids, c);
            else if (c.kind === 'burst') await Promise.all(c.writes.map((w) => apply(cs, sids, w)));
            else if (c.kind === 'disconnect') await subs[c.sub]?.disconnect();
            else if (c.kind === 'resume') await subs[c.sub]?.connect(cs);
            else if (c.kind === 'settle') await settle();
            else {
              await cs.close();
              // Closing the engine ends its live readers.
              for (const s of subs) if (s.connected) await s.disconnect(false);
              store = factory.reopen === undefined ? store : await factory.reopen(store);
              await store.open();
              cs = await start();
            }
          }
          for (const s of subs) await s.connect(cs);
          await settle();
          // The log holds exactly what was emitted, each service's events in emission order, with
          // the customer and contact key of their service at commit.
          const log = await rawLog(store);
          expect(log.map((e) => strip(e.event)).sort()).toEqual(emitted.map((e) => strip(e)).sort());
          const customer = new Map<string, string | undefined>();
          const contact = new Map<string, string | undefined>();
          for (const { event: e } of log) {
            if (e.type === 'service.started') {
              customer.set(e.service_id, e.customer_id);
              contact.set(e.service_id, e.contact_key);
            }
            if (e.type === 'service.associated') customer.set(e.service_id, e.customer_id);
            expect(e.customer_id).toBe(customer.get(e.service_id));
            expect(e.contact_key).toBe(contact.get(e.service_id));
          }
          for (const sid of sids) {
            const mine = (xs: readonly ContextEvent[]) => xs.filter((e) => e.service_id === sid).map(strip);
            expect(mine(log.map((e) => e.event))).toEqual(mine(emitted));
          }
        } finally {
          for (const s of subs) await s.disconnect();
          await cs.close();
          await disposeStore(factory, store);
        }
      }),
      fcParams(options.runs ?? 25),
    );
  });
}
