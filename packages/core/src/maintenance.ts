/** Maintenance (docs/spec.md §8): purge, export selection, import, and the expiry / auto-complete sweep. */
import type {
  CallOptions,
  ExportQuery,
  ImportOptions,
  ImportResult,
  PurgeOperation,
  ServiceView,
  SweepResult,
} from './api.js';
import { type EngineContext, onService } from './context.js';
import { ContextServicesError, invalid, isContextServicesError } from './errors.js';
import {
  DEADLINE_PREFIX,
  decodeTime,
  encodeTime,
  lastComponent,
  parseDeadlineKey,
  TenantKeys,
} from './keys.js';
import type { SweepLease } from './lease.js';
import * as rules from './lifecycle.js';
import type { ServiceRecord, StateRecord, TaskRecord } from './records.js';
import {
  ServiceEndEvent,
  ServiceStartEvent,
  StateEndEvent,
  StateStartEvent,
  TaskEndEvent,
  TaskStartEvent,
  validators,
} from './schemas.js';
import type { Range } from './store.js';
import { parseInstant } from './time.js';
import { isServiceId, splitBody } from './validate.js';
import { byStart, extensionFilters, serviceView } from './views.js';
import { removeService } from './writes.js';

/**
 * Walk a key range in pages of `size` keys, each page from a fresh iterator that starts after the
 * last key seen: no iterator (and so no snapshot) is held while the caller works on a page.
 */
async function* pages(ctx: EngineContext, range: Range, size: number): AsyncGenerator<[string, string][]> {
  let cursor: Range = { ...range };
  for (;;) {
    const page: [string, string][] = [];
    for await (const entry of ctx.repo.store.iterate({ ...cursor, limit: size })) page.push(entry);
    if (page.length === 0) return;
    yield page;
    if (page.length < size) return;
    const { gte: _drop, ...rest } = cursor;
    cursor = { ...rest, gt: (page[page.length - 1] as [string, string])[0] };
  }
}

const PURGE: Record<PurgeOperation, (s: ServiceRecord) => boolean> = {
  'purge.service.all': () => true,
  'purge.service.started': (s) => s.completed === undefined,
  'purge.service.started.anonymous': (s) => s.completed === undefined && s.customer_id === undefined,
  'purge.service.completed': (s) => s.completed !== undefined,
  'purge.service.completed.anonymous': (s) => s.completed !== undefined && s.customer_id === undefined,
};

/**
 * Work through a page a group of services at a time, pausing in between as the engine's pacer
 * says (src/pacer.ts). Each service reads its keys and writes a batch through the same store (and
 * libuv thread pool) as the requests being served: a whole page at once made those requests
 * queue behind it, and even a few at a time do on a loaded machine.
 */
async function throttled<T>(
  ctx: EngineContext,
  page: readonly T[],
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < page.length; ) {
    const n = ctx.pacer.width;
    await Promise.all(page.slice(i, i + n).map(fn));
    i += n;
    await ctx.pacer.pause();
  }
}

/** docs/spec.md §8.3: delete services started before `limit` that match the operation, in bounded batches. */
export async function purge(
  ctx: EngineContext,
  body: unknown,
  options?: CallOptions,
): Promise<{ purged: number }> {
  const keys = ctx.keys(options);
  const req = validators.purge.Check(body) ? body : undefined;
  if (req === undefined) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof b.operation !== 'string' || !(b.operation in PURGE)) {
      throw invalid('operation', `must be one of ${Object.keys(PURGE).join(', ')}`, { value: b.operation });
    }
    throw invalid('limit', 'must be an ISO 8601 instant', { value: b.limit });
  }
  const limit = parseInstant('limit', req.limit);
  const matches = PURGE[req.operation];
  const prefix = keys.byStartPrefix();
  let purged = 0;
  const range = { gte: prefix, lt: `${prefix}${encodeTime(limit)}/` };
  for await (const page of pages(ctx, range, ctx.cfg.batchSize)) {
    await throttled(ctx, page, ([k]) => {
      const sid = lastComponent(k);
      return onService(ctx, keys, sid, async () => {
        const found = await ctx.repo.readForRemoval(keys, sid);
        const s = found?.service;
        // Expired services are already gone for every reader; the sweep removes them.
        if (s === undefined || s.started.ts >= limit || s.expires <= ctx.clock.now() || !matches(s)) return;
        await removeService(ctx, keys, s, 'purged', found?.under);
        purged++;
      });
    });
  }
  return { purged };
}

/** Validate an export query; resolve its window. */
function exportWindow(ctx: EngineContext, q: ExportQuery) {
  if (typeof q !== 'object' || q === null) throw invalid('query', 'must be an object');
  const from = parseInstant('time_from', q.time_from);
  const to = q.time_to === undefined ? ctx.clock.now() : parseInstant('time_to', q.time_to);
  const events = q.filter_events ?? 'any';
  const state = q.filter_state ?? 'any';
  if (!['any', 'started', 'completed'].includes(events))
    throw invalid('filter_events', "must be 'any', 'started' or 'completed'");
  if (!['any', 'active', 'inactive'].includes(state))
    throw invalid('filter_state', "must be 'any', 'active' or 'inactive'");
  if (q.export_content !== undefined && typeof q.export_content !== 'boolean')
    throw invalid('export_content', 'must be a boolean');
  return { from, to, events, state, content: q.export_content === true };
}

const WHOLE = { active_states: true, completed_states: true, active_tasks: true, completed_tasks: true };

/**
 * docs/spec.md §8.1. Ordered by start time, each service once, memory flat: services completed in the
 * window but started before it are found by one pass over the completion index (keeping only the
 * earliest start), then one ordered pass over the start index from there.
 */
export async function exportServices(
  ctx: EngineContext,
  q: ExportQuery,
  options?: CallOptions,
): Promise<AsyncIterable<string | ServiceView>> {
  const keys = ctx.keys(options);
  const w = exportWindow(ctx, q);
  // Expiry, like the status filter, is judged at request time, not page by page.
  const now = ctx.clock.now();
  return (async function* () {
    let scanFrom = w.from;
    if (w.events !== 'started') {
      const prefix = keys.byCompletionPrefix();
      const range = { gte: `${prefix}${encodeTime(w.from)}/`, lt: `${prefix}${encodeTime(w.to)}/` };
      for await (const page of pages(ctx, range, 1000)) {
        for (const [, start] of page) scanFrom = Math.min(scanFrom, decodeTime(start));
      }
    }
    const prefix = keys.byStartPrefix();
    const inWindow = (ts: number) => ts >= w.from && ts < w.to;
    // Services started before the window are selected only by a completion in it, which their
    // start-index entry holds: the others are passed over without reading their records.
    const candidate = ([k, completed]: [string, string]) =>
      decodeTime(k.slice(prefix.length, prefix.length + 15)) >= w.from ||
      (completed !== '' && inWindow(decodeTime(completed)));
    for await (const page of pages(
      ctx,
      { gte: `${prefix}${encodeTime(scanFrom)}/`, lt: `${prefix}${encodeTime(w.to)}/` },
      256,
    )) {
      const records = await ctx.repo.getServices(
        keys,
        page.filter(candidate).map(([k]) => lastComponent(k)),
      );
      const selected = records.filter((s): s is ServiceRecord => {
        if (s === undefined || s.expires <= now) return false;
        const started = inWindow(s.started.ts);
        const completed = s.completed !== undefined && inWindow(s.completed.ts);
        const chosen =
          w.events === 'started' ? started : w.events === 'completed' ? completed : started || completed;
        const active = s.completed === undefined;
        return chosen && !(w.state === 'active' && !active) && !(w.state === 'inactive' && active);
      });
      if (!w.content) {
        yield* selected.map((s) => s.id);
        continue;
      }
      // Services without states or tasks are all in their record and extension keys: those of the
      // whole page come in one read (one snapshot), with no range read (no LevelDB iterator).
      const flat = await ctx.repo.withExtensions(
        keys,
        selected.filter((s) => s.children === 0),
        (s) => s.ext_names,
      );
      for (const s of selected) {
        const read = flat.get(s.id);
        const a =
          read === undefined || read.service.children > 0
            ? await ctx.repo.loadAll(keys, s.id)
            : { ...read, states: [], tasks: [] };
        if (a === undefined) continue;
        yield structuredClone(
          serviceView(
            a.service,
            a.ext,
            a.states.sort(byStart),
            a.tasks.sort(byStart),
            WHOLE,
            extensionFilters(['*'], 'Service'),
          ),
        );
      }
    }
  })();
}

const DOC_KEYS = new Set([
  'started',
  'completed',
  'duration',
  'active_states',
  'completed_states',
  'active_tasks',
  'completed_tasks',
]);

/** Turn one exported entity back into a start body and an optional end body. */
function bodies(view: Record<string, unknown>, drop: readonly string[]) {
  const started = view.started as Record<string, unknown> | undefined;
  if (typeof started !== 'object' || started === null || started.timestamp === undefined) {
    throw invalid('started.timestamp', 'is required');
  }
  const start: Record<string, unknown> = { ...(view.started as object) };
  const end: Record<string, unknown> | undefined =
    view.completed === undefined ? undefined : { ...(view.completed as object) };
  for (const [k, v] of Object.entries(view)) {
    if (DOC_KEYS.has(k) || drop.includes(k)) continue;
    if (k === 'disposition' || k === 'disposition_desc') {
      if (end !== undefined) end[k] = v;
    } else start[k] = v;
  }
  return { start, end };
}

function entityFrom<T extends StateRecord | TaskRecord>(
  ctx: EngineContext,
  view: Record<string, unknown>,
  kind: 'state' | 'task',
): T {
  const idKey = kind === 'state' ? 'state_id' : 'task_id';
  const id = view[idKey];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1)
    throw invalid(idKey, 'must be a positive integer');
  const { start, end } = bodies(view, [idKey, 'service_id']);
  const [startSchema, endSchema] =
    kind === 'state' ? [StateStartEvent, StateEndEvent] : [TaskStartEvent, TaskEndEvent];
  const startV = kind === 'state' ? validators.stateStart : validators.taskStart;
  const s = splitBody(
    startV,
    start,
    new Set(Object.keys(startSchema.properties)),
    `${kind} ${id}`,
    ctx.cfg.limits,
  );
  const f = s.fields as Record<string, unknown>;
  let rec: Record<string, unknown> = {
    id,
    state_type: f.state_type,
    previous_state_id: f.previous_state_id,
    task_type: f.task_type,
    state_id: kind === 'task' ? f.state_id : undefined,
    est_duration: f.est_duration,
    started: rules.eventRecord(s.fields, 0),
    ext_names: Object.keys(s.extensions),
    ext: s.extensions,
  };
  if (end !== undefined) {
    const endV = kind === 'state' ? validators.stateEnd : validators.taskEnd;
    const e = splitBody(
      endV,
      end,
      new Set(Object.keys(endSchema.properties)),
      `${kind} ${id}`,
      ctx.cfg.limits,
    );
    const completed = rules.eventRecord(e.fields, 0);
    rec = {
      ...rec,
      completed,
      disposition: e.fields.disposition,
      disposition_desc: e.fields.disposition_desc,
    };
  }
  return rules.compact(rec) as unknown as T;
}

/**
 * What the engine itself could never have stored, refused on import: two states (or tasks) with
 * one id, a reference to a state the service does not have (L3), a completion before its start (L6).
 */
function checkImportedChildren(states: readonly StateRecord[], tasks: readonly TaskRecord[]): void {
  const stateIds = new Set<number>();
  for (const [kind, list] of [
    ['state', states],
    ['task', tasks],
  ] as const) {
    const seen = kind === 'state' ? stateIds : new Set<number>();
    for (const e of list) {
      if (seen.has(e.id)) throw invalid(`${kind}_id`, `${e.id} appears twice`);
      seen.add(e.id);
      if (e.completed !== undefined && e.completed.ts < e.started.ts) {
        throw invalid(`${kind} ${e.id} completed.timestamp`, 'is earlier than started.timestamp (L6)');
      }
    }
  }
  for (const st of states) {
    if (st.previous_state_id !== undefined && !stateIds.has(st.previous_state_id)) {
      throw invalid(
        `state ${st.id} previous_state_id`,
        `names no state of the service (${st.previous_state_id})`,
      );
    }
  }
  for (const t of tasks) {
    if (t.state_id !== undefined && !stateIds.has(t.state_id)) {
      throw invalid(`task ${t.id} state_id`, `names no state of the service (${t.state_id})`);
    }
  }
}

/**
 * Import services exported with `export_content`, keeping their ids; each service is one atomic
 * write. With `skipExisting`, an id already stored is counted in `skipped` instead of failing.
 */
export async function importServices(
  ctx: EngineContext,
  services: AsyncIterable<unknown> | Iterable<unknown>,
  options?: ImportOptions,
): Promise<ImportResult> {
  const keys = ctx.keys(options);
  const skip = options?.skipExisting === true;
  const result: ImportResult = { imported: 0, skipped: 0 };
  for await (const item of services) {
    const n = result.imported + result.skipped;
    try {
      if (await importOne(ctx, keys, item, skip)) result.imported++;
      else result.skipped++;
    } catch (e) {
      if (isContextServicesError(e)) {
        throw new ContextServicesError(e.code, `import item ${n}: ${e.message}`, {
          details: { ...e.details, item: n },
        });
      }
      throw e;
    }
  }
  return result;
}

/** Import one item; false when it was skipped because its id is already stored. */
async function importOne(
  ctx: EngineContext,
  keys: TenantKeys,
  item: unknown,
  skip: boolean,
): Promise<boolean> {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw invalid('service', 'must be a JSON object');
  const view = item as Record<string, unknown>;
  const sid = view.service_id;
  if (!isServiceId(sid)) throw invalid('service_id', 'must be 1 to 64 characters of [A-Za-z0-9_-]');
  const now = ctx.clock.now();
  const { start, end } = bodies(view, ['service_id']);
  const s = splitBody(
    validators.serviceStart,
    start,
    new Set(Object.keys(ServiceStartEvent.properties)),
    'service',
    ctx.cfg.limits,
  );
  const created = rules.startService(
    keys.tenant,
    sid,
    s.fields as rules.ServiceStartInput,
    s.extensions,
    now,
    ctx.cfg.rules,
  );
  let service = created.service;
  const list = (k: string) => (Array.isArray(view[k]) ? (view[k] as Record<string, unknown>[]) : []);
  const states = [...list('active_states'), ...list('completed_states')].map((v) =>
    entityFrom<StateRecord>(ctx, v, 'state'),
  );
  const tasks = [...list('active_tasks'), ...list('completed_tasks')].map((v) =>
    entityFrom<TaskRecord>(ctx, v, 'task'),
  );
  if (states.length + tasks.length > ctx.cfg.limits.entitiesPerService)
    throw invalid('service', 'has too many states and tasks');
  checkImportedChildren(states, tasks);
  if (end !== undefined) {
    const e = splitBody(
      validators.serviceEnd,
      end,
      new Set(Object.keys(ServiceEndEvent.properties)),
      'service',
      ctx.cfg.limits,
    );
    service = rules.compact({
      ...service,
      completed: rules.eventRecord(e.fields, now),
      disposition: e.fields.disposition,
      disposition_desc: e.fields.disposition_desc,
    });
  }
  if (service.completed !== undefined && service.completed.ts < service.started.ts) {
    throw invalid('completed.timestamp', 'is earlier than started.timestamp (L6)');
  }
  service = rules.touch(
    {
      ...service,
      next_state: Math.max(0, ...states.map((x) => x.id)) + 1,
      next_task: Math.max(0, ...tasks.map((x) => x.id)) + 1,
      children: states.length + tasks.length,
    },
    now,
    ctx.cfg.rules,
  );
  return onService(ctx, keys, sid, async () => {
    if ((await ctx.repo.getService(keys, sid)) !== undefined) {
      if (skip) return false;
      throw new ContextServicesError('SERVICE_EXISTS', `Service ${sid} already exists`, {
        details: { service_id: sid },
      });
    }
    await ctx.repo.commit(keys, {}, { ...created, service, states, tasks, events: [] });
    return true;
  });
}

/**
 * Expire and auto-complete everything due at `now`, in bounded batches. With a `lease` (shared
 * stores) the sweep runs only while this engine holds it: taken first (else nothing is done),
 * renewed before every further page (else the sweep stops where it is). Each service is handled
 * by a conditional write either way, so one that another engine handled meanwhile is skipped.
 */
export async function sweep(ctx: EngineContext, now: number, lease?: SweepLease): Promise<SweepResult> {
  const result: SweepResult = { expired: 0, autoCompleted: 0 };
  if (lease !== undefined && !(await lease.acquire())) return result;
  let held = true;
  const tenants = new Map<string, TenantKeys>();
  const keysOf = (tenant: string) => {
    const k = tenants.get(tenant) ?? new TenantKeys(tenant);
    tenants.set(tenant, k);
    return k;
  };
  /** Run `fn` under the queue of each service whose deadline under `prefix` is due. */
  const forDue = async (prefix: string, fn: (keys: TenantKeys, sid: string) => Promise<void>) => {
    const range = { gte: prefix, lt: `${prefix}${encodeTime(now + 1)}/` };
    let first = prefix === DEADLINE_PREFIX.expiry;
    for await (const page of pages(ctx, range, ctx.cfg.batchSize)) {
      if (!held) return;
      if (lease !== undefined && !first && !(await lease.acquire())) {
        held = false;
        return;
      }
      first = false;
      await throttled(ctx, page, ([k]) => {
        const { tenant, sid } = parseDeadlineKey(k);
        const keys = keysOf(tenant);
        return onService(ctx, keys, sid, () => fn(keys, sid));
      });
    }
  };
  await forDue(DEADLINE_PREFIX.expiry, async (keys, sid) => {
    const found = await ctx.repo.readForRemoval(keys, sid);
    const s = found?.service;
    if (s === undefined || s.expires > now) return;
    await removeService(ctx, keys, s, 'expired', found?.under);
    result.expired++;
  });
  await forDue(DEADLINE_PREFIX.autoComplete, async (keys, sid) => {
    const s = await ctx.repo.getService(keys, sid);
    if (s === undefined || s.completed !== undefined || s.auto_at === undefined || s.auto_at > now) return;
    const [states, tasks] = await Promise.all([
      ctx.repo.activeStates(keys, sid),
      ctx.repo.activeTasks(keys, sid),
    ]);
    const change = rules.autoComplete(keys.tenant, s, states, tasks, ctx.cfg.rules);
    const before = {
      service: s,
      states: new Map(states.map((x) => [x.id, x])),
      tasks: new Map(tasks.map((x) => [x.id, x])),
    };
    await ctx.repo.commit(keys, before, change);
    result.autoCompleted++;
  });
  return result;
}
