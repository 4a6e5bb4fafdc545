import type { ContextServices, EngineOptions } from './api.js';
import { ChangeLog } from './change-log.js';
import { changes, sweepChanges } from './changes.js';
import { systemClock } from './clock.js';
import { resolveConfig } from './config.js';
import { createContext, randomServiceId } from './context.js';
import { ContextServicesError } from './errors.js';
import type { ContextEvent } from './events.js';
import { SweepLease } from './lease.js';
import * as maintenance from './maintenance.js';
import { Pacer } from './pacer.js';
import * as reads from './reads.js';
import { probeStore } from './ready.js';
import { Repo } from './repo.js';
import * as writes from './writes.js';

const closedError = () => new ContextServicesError('CLOSED', 'The engine is closed');

function warnListenerError(error: unknown, event: ContextEvent): void {
  process.emitWarning(`Context Services listener for ${event.type} threw: ${String(error)}`, {
    code: 'CXS_LISTENER',
  });
}

/**
 * Open a Context Services engine on a store: one method per operation of docs/spec.md §4 (see
 * {@link ContextServices}). Opens the store; `close()` closes it.
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { MemoryStore } from '@cxs/core/memory';
 * const cs = await createContextServices({ store: new MemoryStore() });
 * const { service_id } = await cs.startService({ customer_id: 'C1', service_type: 'booking' });
 * const { state_id } = await cs.startState(service_id, { state_type: 'identification' });
 * await cs.endService(service_id, { disposition: 'done' });
 * ```
 * @throws ContextServicesError `VALIDATION_FAILED` for a bad configuration; the store's open errors.
 */
export async function createContextServices(options: EngineOptions): Promise<ContextServices> {
  if (typeof options !== 'object' || options === null || typeof options.store !== 'object') {
    throw new TypeError('createContextServices: options.store is required');
  }
  const cfg = resolveConfig(options.config);
  const clock = options.clock ?? systemClock;
  const log = new ChangeLog(options.store, clock);
  const repo = new Repo(
    options.store,
    log,
    cfg.cacheSize,
    options.onListenerError ?? warnListenerError,
    cfg.limits.serviceBytes,
  );
  const pacer = options.pacer ?? new Pacer(options.config?.maintenance);
  const ctx = createContext(repo, clock, cfg, options.ids, pacer);
  // Engines sharing the store take turns at sweeping (docs/spec.md §11).
  const lease = repo.shared ? new SweepLease(options.store, clock, randomServiceId()) : undefined;
  await options.store.open();

  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  let closed: Promise<void> | undefined;

  const engine: ContextServices = {
    startService: (event, o) => writes.startService(ctx, event, o),
    endService: (sid, event, o) => writes.endService(ctx, sid, event, o),
    associate: (customerId, sid, body, o) => writes.associate(ctx, customerId, sid, body, o),
    compositeStart: (body, o) => writes.compositeStart(ctx, body, o),
    getService: (sid, q, o) => reads.getService(ctx, sid, q, o),
    deleteService: (sid, o) => writes.deleteService(ctx, sid, o),
    updateExpiration: (sid, body, o) => writes.updateExpiration(ctx, sid, body, o),
    putExtension: (ref, name, value, o) => writes.setExtension(ctx, ref, name, value, false, o),
    mergeExtension: (ref, name, value, o) => writes.setExtension(ctx, ref, name, value, true, o),
    listAnonymousServices: (key, q, o) => reads.listServices(ctx, 'contact_key', key, q, o),
    listCustomerServices: (customerId, q, o) => reads.listServices(ctx, 'customer', customerId, q, o),
    startState: (sid, event, o) => writes.startState(ctx, sid, event, o),
    endState: (sid, id, event, o) => writes.endState(ctx, sid, id, event, o),
    transition: (sid, body, o) => writes.transition(ctx, sid, body, o),
    listStates: (sid, q, o) => reads.listStates(ctx, sid, q, o),
    getState: (sid, id, q, o) => reads.getState(ctx, sid, id, q, o),
    startTask: (sid, event, o) => writes.startTask(ctx, sid, event, o),
    endTask: (sid, id, event, o) => writes.endTask(ctx, sid, id, event, o),
    listTasks: (sid, q, o) => reads.listTasks(ctx, sid, q, o),
    getTask: (sid, id, q, o) => reads.getTask(ctx, sid, id, q, o),
    purge: (body, o) => pacer.during(() => maintenance.purge(ctx, body, o)),
    // The query's export_content decides what the iterable yields (ExportItem); the
    // implementation yields exactly that, which its untyped result cannot say.
    exportServices: ((q, o) => maintenance.exportServices(ctx, q, o)) as ContextServices['exportServices'],
    importServices: (items, o) => maintenance.importServices(ctx, items, o),
    changes: (q, o) => changes(ctx, q, o),
    sweep(now) {
      const at = now ?? clock.now();
      const run = sweeping.then(() =>
        pacer.during(async () => {
          const result = await maintenance.sweep(ctx, at, lease);
          // The change log's retention, by the engine holding the sweep lease (renewed here).
          if (lease === undefined || (await lease.acquire())) await sweepChanges(ctx, at);
          return result;
        }),
      );
      sweeping = run.catch(() => undefined);
      return run;
    },
    startSweeper(intervalMs = 60_000) {
      if (!(intervalMs > 0)) throw new TypeError('startSweeper: intervalMs must be > 0');
      if (timer !== undefined) return;
      // The lease outlives one interval only a little: a dead engine's turn passes on within about one.
      if (lease !== undefined) lease.duration = intervalMs;
      timer = setInterval(() => {
        engine
          .sweep()
          .catch((error: unknown) => process.emitWarning(`Context Services sweep failed: ${String(error)}`));
      }, intervalMs);
      timer.unref();
    },
    async stopSweeper() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await sweeping;
      await lease?.release();
    },
    recordLatency: (ms) => pacer.record(ms),
    stats() {
      const paced = pacer.stats();
      return { ...repo.counters, maintenancePauses: paced.pauses, maintenancePausedMs: paced.pausedMs };
    },
    on(type: string, listener: (event: never) => void) {
      return repo.on(type, listener as (event: ContextEvent) => void);
    },
    ready: (o) => (closed === undefined ? probeStore(options.store, o) : Promise.reject(closedError())),
    close() {
      closed ??= (async () => {
        await engine.stopSweeper();
        await repo.drain();
        log.close();
        await options.store.close();
      })();
      return closed;
    },
  };
  return engine;
}
