/**
 * The lifecycle model-based run: random sequences of engine commands on a real store, checked
 * after every step against the simplified model (see `lifecycle-model.ts`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ContextServices, EngineConfig, ServiceView, StateView, TaskView } from '../api.js';
import { SimulatedClock } from '../clock.js';
import { createContextServices } from '../engine.js';
import { isContextServicesError } from '../errors.js';
import type { ContextEvent } from '../events.js';
import { formatInstant } from '../time.js';
import { DOCUMENTED_FIELDS } from '../validate.js';
import { dumpStore, type StoreFactory } from './factory.js';
import { integrityProblems } from './integrity.js';
import { type LifecycleCommand, lifecycleCommandArbitraries } from './lifecycle-commands.js';
import {
  CONTACT_KEYS,
  CUSTOMERS,
  createModel,
  isVisible,
  type LifecycleModel,
  type LifecycleReal,
  MODEL_ENGINE_CONFIG,
  type ModelChild,
  type ModelService,
  TENANTS,
} from './lifecycle-model.js';
import { fcParams, WHOLE_SERVICE } from './params.js';

function extensionsOf(view: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(view).filter(([k]) => !DOCUMENTED_FIELDS.has(k)));
}

const byStart =
  <T extends { started: number }>(id: (x: T) => string | number) =>
  (a: T, b: T) =>
    a.started - b.started || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0);

function expectedChild(c: ModelChild) {
  return {
    id: c.id,
    type: c.type,
    stateId: c.stateId,
    completed: c.completed === undefined ? undefined : formatInstant(c.completed),
    duration: c.completed === undefined ? undefined : c.completed - c.started,
    ext: Object.fromEntries(c.ext),
  };
}

function actualChild(v: StateView | TaskView) {
  const task = 'task_id' in v;
  return {
    id: task ? (v as TaskView).task_id : (v as StateView).state_id,
    type: task ? (v as TaskView).task_type : (v as StateView).state_type,
    stateId: task ? (v as TaskView).state_id : undefined,
    completed: v.completed?.timestamp,
    duration: v.duration,
    ext: extensionsOf(v),
  };
}

function partition(children: Map<number, ModelChild>) {
  const sorted = [...children.values()].sort(byStart((c) => c.id));
  return {
    active: sorted.filter((c) => c.completed === undefined).map(expectedChild),
    completed: sorted.filter((c) => c.completed !== undefined).map(expectedChild),
  };
}

/** What the model says `getService` with everything embedded must show. */
function expectedService(s: ModelService) {
  const states = partition(s.states);
  const tasks = partition(s.tasks);
  return {
    customer_id: s.customer,
    contact_key: s.contactKey,
    service_type: s.type,
    started: formatInstant(s.started),
    completed: s.completed === undefined ? undefined : formatInstant(s.completed),
    duration: s.completed === undefined ? undefined : s.completed - s.started,
    ext: Object.fromEntries(s.ext),
    active_states: states.active,
    completed_states: states.completed,
    active_tasks: tasks.active,
    completed_tasks: tasks.completed,
  };
}

function actualService(v: ServiceView) {
  return {
    customer_id: v.customer_id,
    contact_key: v.contact_key,
    service_type: v.service_type,
    started: v.started.timestamp,
    completed: v.completed?.timestamp,
    duration: v.duration,
    ext: extensionsOf(v),
    active_states: (v.active_states ?? []).map(actualChild),
    completed_states: (v.completed_states ?? []).map(actualChild),
    active_tasks: (v.active_tasks ?? []).map(actualChild),
    completed_tasks: (v.completed_tasks ?? []).map(actualChild),
  };
}

async function notFound(p: Promise<unknown>, label: string): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isContextServicesError(error) ? error.code : String(error), label).toBe('SERVICE_NOT_FOUND');
}

const STATUSES = ['all', 'active', 'completed'] as const;

function statusIds(services: ModelService[], status: (typeof STATUSES)[number]): string[] {
  return services
    .filter((s) => status === 'all' || (status === 'active') === (s.completed === undefined))
    .map((s) => s.id);
}

/**
 * The invariants checked after every step: the store is consistent (indexes ↔ records, L7);
 * every service reads back as the model says (states, tasks, completion times, extensions: L1–L6)
 * or is not found when deleted, purged or expired (L8, §7.2) — with none of its keys left once
 * removed; no tenant sees another's services; customer lists split exactly into active and
 * completed; anonymous lists hold exactly the matching services without a customer.
 */
export async function checkLifecycleInvariants(m: LifecycleModel, r: LifecycleReal): Promise<void> {
  const entries = await dumpStore(r.store);
  expect(integrityProblems(entries, { denseIds: true }), 'store integrity').toEqual([]);
  const allKeys = entries.map(([k]) => k).join('\n');
  for (const s of m.services) {
    if (s.removed)
      expect(allKeys.includes(s.id), `L8: no key of removed service ${s.id} remains`).toBe(false);
    const label = `service ${s.id}`;
    if (!isVisible(m, s)) {
      await notFound(r.cs.getService(s.id, {}, { tenant: s.tenant }), `${label} is gone`);
      continue;
    }
    const view = await r.cs.getService(s.id, WHOLE_SERVICE, { tenant: s.tenant });
    expect(actualService(view), label).toEqual(expectedService(s));
    const other = TENANTS.find((t) => t !== s.tenant) as string;
    await notFound(r.cs.getService(s.id, {}, { tenant: other }), `${label} from another tenant`);
  }
  for (const tenant of TENANTS) {
    const visible = m.services
      .filter((s) => s.tenant === tenant && isVisible(m, s))
      .sort(byStart((s) => s.id));
    for (const customer of CUSTOMERS) {
      const mine = visible.filter((s) => s.customer === customer);
      for (const status of STATUSES) {
        const list = await r.cs.listCustomerServices(customer, { status }, { tenant });
        expect(
          list.map((v) => v.service_id),
          `${tenant}/${customer}/${status}`,
        ).toEqual(statusIds(mine, status));
      }
    }
    for (const key of CONTACT_KEYS) {
      const mine = visible.filter((s) => s.customer === undefined && s.contactKey === key);
      for (const status of STATUSES) {
        const list = await r.cs.listAnonymousServices(key, { status }, { tenant });
        expect(
          list.map((v) => v.service_id),
          `anonymous ${tenant}/${key}/${status}`,
        ).toEqual(statusIds(mine, status));
        expect(list.every((v) => v.customer_id === undefined)).toBe(true);
      }
    }
  }
}

/** Runs a command, then the invariants. */
class Checked implements LifecycleCommand {
  constructor(
    readonly inner: LifecycleCommand,
    readonly invariants: (m: LifecycleModel, r: LifecycleReal) => Promise<void>,
  ) {}
  check(m: Readonly<LifecycleModel>): boolean {
    return this.inner.check(m);
  }
  async run(m: LifecycleModel, r: LifecycleReal): Promise<void> {
    await this.inner.run(m, r);
    await this.invariants(m, r);
  }
  toString(): string {
    return this.inner.toString();
  }
}

/** Options of {@link runLifecycleModel}. */
export interface LifecycleRunOptions {
  /** Sequences to run (default 300; `FC_RUNS` overrides). */
  runs?: number;
  /** Longest sequence (default 50). */
  maxCommands?: number;
  /** Engine configuration (default {@link MODEL_ENGINE_CONFIG}); `cacheSize` is varied by the run. */
  config?: EngineConfig;
  /** Your own command arbitraries, mixed with the built-in ones. */
  commands?: fc.Arbitrary<LifecycleCommand>[];
  /** Your own invariants, checked after every step beside the built-in ones. */
  invariants?: (m: LifecycleModel, r: LifecycleReal) => Promise<void>;
}

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

async function engineOn(
  store: LifecycleReal['store'],
  clock: SimulatedClock,
  config: EngineConfig,
  events: ContextEvent[],
): Promise<ContextServices> {
  const cs = await createContextServices({ store, clock, config });
  cs.on('*', (e) => events.push(e));
  return cs;
}

/**
 * Run the lifecycle model: fast-check sequences of every built-in command (and yours) on the
 * engine over stores from `factory`, with a simulated clock, checking the invariants after every
 * step. When the factory can reopen, sequences also close and reopen the store. Throws (with
 * fast-check's seed and path) on the first failure.
 */
export async function runLifecycleModel(
  factory: StoreFactory,
  options: LifecycleRunOptions = {},
): Promise<void> {
  const base = options.config ?? MODEL_ENGINE_CONFIG;
  const extra = options.invariants;
  const invariants = async (m: LifecycleModel, r: LifecycleReal) => {
    await checkLifecycleInvariants(m, r);
    if (extra !== undefined) await extra(m, r);
  };
  const arbs = [
    ...lifecycleCommandArbitraries({ reopen: factory.reopen !== undefined }),
    ...(options.commands ?? []),
  ].map((arb) => arb.map((cmd) => new Checked(cmd, invariants) as LifecycleCommand));
  const property = fc.asyncProperty(
    fc.constantFrom(0, 2, 1000),
    fc.commands(arbs, { maxCommands: options.maxCommands ?? 50, size: 'max' }),
    async (cacheSize, cmds) => {
      const config = { ...base, cacheSize };
      const clock = new SimulatedClock(T0);
      const events: ContextEvent[] = [];
      const store = await factory.create();
      const real: LifecycleReal = {
        cs: await engineOn(store, clock, config, events),
        store,
        clock,
        events,
        reopen: async () => {
          await real.cs.close();
          real.store = await (factory.reopen as NonNullable<StoreFactory['reopen']>)(real.store);
          real.cs = await engineOn(real.store, clock, config, events);
        },
      };
      try {
        await fc.asyncModelRun(() => ({ model: createModel(clock.now(), config), real }), cmds);
      } finally {
        await real.cs.close();
        await factory.destroy?.(real.store);
      }
    },
  );
  await fc.assert(property, fcParams(options.runs ?? 300));
}

/**
 * Register the lifecycle model run for a store as a vitest test.
 *
 * @example
 * ```ts
 * import { MemoryStore } from '@cxs/core/memory';
 * import { lifecycleModelSuite } from '@cxs/core/testing';
 * lifecycleModelSuite('MemoryStore', { create: () => new MemoryStore() });
 * ```
 */
export function lifecycleModelSuite(
  name: string,
  factory: StoreFactory,
  options: LifecycleRunOptions = {},
): void {
  describe(`${name}: lifecycle model`, () => {
    it('keeps L1-L8, expiry, auto-complete and tenant isolation over random command sequences', async () => {
      await runLifecycleModel(factory, options);
    }, 600_000);
  });
}
