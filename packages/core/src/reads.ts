/** The queries of docs/spec.md §4–§5. Reads never take the write queue: they read one snapshot. */
import type {
  CallOptions,
  Paging,
  ServiceListQuery,
  ServiceQuery,
  ServiceView,
  StateListQuery,
  StateQuery,
  Status,
  TaskListQuery,
  TaskQuery,
  TypeValue,
} from './api.js';
import { type EngineContext, requireService } from './context.js';
import { invalid, serviceNotFound, stateNotFound, taskNotFound } from './errors.js';
import { encodeTime, lastComponent, prefixEnd, type TenantKeys } from './keys.js';
import { parseId } from './query.js';
import type { ServiceRecord, StateRecord, TaskRecord } from './records.js';
import type { Children } from './repo-types.js';
import { parseInstant } from './time.js';
import { checkString, isServiceId } from './validate.js';
import { byStart, extensionFilters, needsChildren, serviceView, stateView, taskView } from './views.js';

type ExtensionFilters = ReturnType<typeof extensionFilters>;

const BOOLS = ['active_states', 'completed_states', 'active_tasks', 'completed_tasks'] as const;

/** Validate a typed query from a TypeScript caller the way the HTTP parser would. */
function checkQuery(q: object): void {
  const r = q as Record<string, unknown>;
  for (const b of BOOLS)
    if (r[b] !== undefined && typeof r[b] !== 'boolean') throw invalid(b, 'must be a boolean');
  for (const l of ['extensions', 'service_types', 'state_types', 'task_types']) {
    const v = r[l];
    if (
      v !== undefined &&
      (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number'))
    ) {
      throw invalid(l, 'must be an array of strings');
    }
  }
  if (r.status !== undefined && !['all', 'active', 'completed'].includes(r.status as string)) {
    throw invalid('status', "must be 'all', 'active' or 'completed'");
  }
}

function paging(ctx: EngineContext, q: Paging): { offset: number; limit: number } {
  const cap = ctx.cfg.limits.listLimit;
  const limit = q.limit ?? cap;
  const offset = q.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > cap)
    throw invalid('limit', `must be an integer from 1 to ${cap}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid('offset', 'must be a non-negative integer');
  return { offset, limit };
}

function statusMatches(status: Status | undefined, completed: unknown): boolean {
  return status === undefined || status === 'all' || (status === 'active') === (completed === undefined);
}

function typeMatches(types: readonly TypeValue[] | undefined, v: TypeValue | undefined): boolean {
  return types === undefined || (v !== undefined && types.some((t) => String(t) === String(v)));
}

/** The records of a visible service from one snapshot iterator (states, and tasks if asked), or SERVICE_NOT_FOUND. */
async function children(
  ctx: EngineContext,
  keys: TenantKeys,
  sid: string,
  tasks: boolean,
): Promise<Children> {
  if (!isServiceId(sid)) throw serviceNotFound(String(sid));
  const c = await ctx.repo.loadChildren(keys, sid, tasks);
  if (c === undefined || c.service.expires <= ctx.clock.now()) throw serviceNotFound(sid);
  return c;
}

/**
 * Run a read until the extension values it selects were read at the same instant as its records
 * (the service version did not move in between, L7). Reads only what the read returns.
 */
async function consistent<T>(read: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const out = await read();
    if (out !== undefined) return out;
  }
}

function cloneView<T>(view: T, hasExtensions: boolean): T {
  // Extension values are shared with cached records: callers get their own copy.
  return hasExtensions ? structuredClone(view) : view;
}

/** Tasks embedded by a query (`active_tasks`, `completed_tasks`). */
function embedded<T extends StateRecord | TaskRecord>(
  list: readonly T[],
  active?: boolean,
  completed?: boolean,
) {
  return list.filter((x) => (x.completed === undefined ? active === true : completed === true));
}

/**
 * The view of a service record alone, when the query needs nothing more than the record (no
 * embedded states or tasks, no extension of its selected): no read, so lists render it in line.
 */
function recordView(s: ServiceRecord, q: ServiceQuery, ext: ExtensionFilters): ServiceView | undefined {
  if (needsChildren(q) || s.ext_names.some(ext.top)) return undefined;
  return cloneView(serviceView(s, {}, [], [], q, ext), q.extensions !== undefined);
}

async function renderService(
  ctx: EngineContext,
  keys: TenantKeys,
  s: ServiceRecord,
  q: ServiceQuery,
  ext: ExtensionFilters = extensionFilters(q.extensions, 'Service'),
): Promise<ServiceView | undefined> {
  if (needsChildren(q)) {
    // Only the records a query embeds, and of their extensions only those it selects.
    const withTasks = Boolean(q.active_tasks || q.completed_tasks);
    const found = await consistent(async () => {
      const c = await ctx.repo.loadChildren(keys, s.id, withTasks);
      if (c === undefined) return { view: undefined };
      const v = await ctx.repo.extensionValues(keys, c.service, {
        service: c.service.ext_names.filter(ext.top),
        states: embedded(c.states, q.active_states, q.completed_states),
        tasks: embedded(c.tasks, q.active_tasks, q.completed_tasks),
        names: (kind, r) => r.ext_names.filter(kind === 's' ? ext.State : ext.Task),
      });
      if (v === undefined) return undefined;
      return {
        view: serviceView(c.service, v.service, v.states.sort(byStart), v.tasks.sort(byStart), q, ext),
      };
    });
    return found.view === undefined ? undefined : cloneView(found.view, q.extensions !== undefined);
  }
  let serviceExt: Record<string, unknown> = {};
  if (s.ext_names.some(ext.top)) {
    // The extensions live under keys of their own: only those the query selects are read, with
    // the record again, from one snapshot.
    const read = (await ctx.repo.withExtensions(keys, [s], (r) => r.ext_names.filter(ext.top))).get(s.id);
    if (read === undefined) return undefined;
    s = read.service;
    serviceExt = read.ext;
  }
  return cloneView(serviceView(s, serviceExt, [], [], q, ext), q.extensions !== undefined);
}

/** SRV.14 */
export async function getService(
  ctx: EngineContext,
  sid: string,
  q: ServiceQuery = {},
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkQuery(q);
  const s = await requireService(ctx, keys, sid);
  const view = await renderService(ctx, keys, s, q);
  if (view === undefined) throw serviceNotFound(sid);
  return view;
}

/** Lists by customer (SRV.11) or anonymous by contact key (SRV.10), through their index only. */
export async function listServices(
  ctx: EngineContext,
  by: 'customer' | 'contact_key',
  value: string,
  q: ServiceListQuery = {},
  options?: CallOptions,
): Promise<ServiceView[]> {
  const keys = ctx.keys(options);
  checkQuery(q);
  const limits = ctx.cfg.limits;
  checkString(
    by === 'customer' ? 'customer_id' : 'contact_key',
    value,
    by === 'customer' ? limits.customerIdLength : limits.contactKeyLength,
  );
  const { offset, limit } = paging(ctx, q);
  const prefix = by === 'customer' ? keys.byCustomerPrefix(value) : keys.byContactKeyPrefix(value);
  const from = q.started_from === undefined ? undefined : parseInstant('started_from', q.started_from);
  const to = q.started_to === undefined ? undefined : parseInstant('started_to', q.started_to);
  const range = {
    gte: from === undefined ? prefix : `${prefix}${encodeTime(from)}/`,
    lt: to === undefined ? prefixEnd(prefix) : `${prefix}${encodeTime(to)}/`,
  };
  const now = ctx.clock.now();
  const ext = extensionFilters(q.extensions, 'Service');
  const out: ServiceView[] = [];
  let skipped = 0;
  let chunk: string[] = [];
  const flush = async (): Promise<boolean> => {
    const records = await ctx.repo.getServices(keys, chunk, true);
    chunk = [];
    for (const s of records) {
      if (s === undefined || s.expires <= now) continue;
      if (!statusMatches(q.status, s.completed) || !typeMatches(q.service_types, s.service_type)) continue;
      // The record is read after its index entry: a concurrent associate may have moved it since.
      const belongs =
        by === 'customer' ? s.customer_id === value : s.customer_id === undefined && s.contact_key === value;
      if (!belongs) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      const view = recordView(s, q, ext) ?? (await renderService(ctx, keys, s, q, ext));
      if (view !== undefined) out.push(view);
      if (out.length >= limit) return false;
    }
    return true;
  };
  // Records are read a chunk at a time, the first no larger than the page (a page of a long list
  // reads only its own records), each next one twice the last (filters that drop many entries do
  // not make many small reads), up to 256.
  const needed = () => offset - skipped + limit - out.length;
  let size = Math.min(256, needed());
  for await (const [k] of ctx.repo.store.iterate(range)) {
    chunk.push(lastComponent(k));
    if (chunk.length < size) continue;
    if (!(await flush())) return out;
    size = Math.min(256, Math.max(size * 2, needed()));
  }
  if (chunk.length > 0) await flush();
  return out;
}

/** SRV.12: the service's states (and their tasks only when embedded); extensions only those selected. */
export async function listStates(
  ctx: EngineContext,
  sid: string,
  q: StateListQuery = {},
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkQuery(q);
  const { offset, limit } = paging(ctx, q);
  const ext = extensionFilters(q.extensions, 'State');
  const withTasks = Boolean(q.active_tasks || q.completed_tasks);
  const views = await consistent(async () => {
    const c = await children(ctx, keys, sid, withTasks);
    const chosen = c.states
      .sort(byStart)
      .filter((st) => statusMatches(q.status, st.completed) && typeMatches(q.state_types, st.state_type))
      .slice(offset, offset + limit);
    const ids = new Set(chosen.map((st) => st.id));
    const tasks = embedded(
      c.tasks.filter((t) => t.state_id !== undefined && ids.has(t.state_id)),
      q.active_tasks,
      q.completed_tasks,
    );
    const v = await ctx.repo.extensionValues(keys, c.service, {
      states: chosen,
      tasks,
      names: (kind, r) => r.ext_names.filter(kind === 's' ? ext.top : ext.Task),
    });
    if (v === undefined) return undefined;
    // Tasks grouped once, not once per state.
    const byState = new Map<number, TaskRecord[]>();
    for (const t of v.tasks.sort(byStart)) {
      const list = byState.get(t.state_id as number) ?? [];
      byState.set(t.state_id as number, list);
      list.push(t);
    }
    return v.states.map((st) => stateView(st, byState.get(st.id) ?? [], q, ext, sid));
  });
  return cloneView(views, q.extensions !== undefined);
}

/** SRV.15: the state's record (its tasks only when embedded) and the extensions selected. */
export async function getState(
  ctx: EngineContext,
  sid: string,
  stateId: number,
  q: StateQuery = {},
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkQuery(q);
  const id = parseId('state_id', stateId);
  const ext = extensionFilters(q.extensions, 'State');
  const withTasks = Boolean(q.active_tasks || q.completed_tasks);
  const view = await consistent(async () => {
    const s = await requireService(ctx, keys, sid);
    const st = await ctx.repo.getState(keys, sid, id);
    if (st === undefined) throw stateNotFound(sid, id);
    const tasks = withTasks
      ? embedded(
          (await ctx.repo.loadTasks(keys, sid)).filter((t) => t.state_id === id),
          q.active_tasks,
          q.completed_tasks,
        )
      : [];
    const v = await ctx.repo.extensionValues(keys, s, {
      states: [st],
      tasks,
      names: (kind, r) => r.ext_names.filter(kind === 's' ? ext.top : ext.Task),
      // The state and its tasks come from two reads: they must show the same instant.
      check: withTasks,
    });
    if (v === undefined) return undefined;
    return stateView(v.states[0] as StateRecord, v.tasks.sort(byStart), q, ext, sid);
  });
  return cloneView(view, q.extensions !== undefined);
}

/** SRV.13: the task records of the service (no state, no state extension) and the extensions selected. */
export async function listTasks(
  ctx: EngineContext,
  sid: string,
  q: TaskListQuery = {},
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkQuery(q);
  const { offset, limit } = paging(ctx, q);
  const stateId = q.state_id === undefined ? undefined : parseId('state_id', q.state_id);
  const ext = extensionFilters(q.extensions, 'Task');
  const views = await consistent(async () => {
    const s = await requireService(ctx, keys, sid);
    const chosen = (await ctx.repo.loadTasks(keys, sid))
      .sort(byStart)
      .filter(
        (t) =>
          statusMatches(q.status, t.completed) &&
          typeMatches(q.task_types, t.task_type) &&
          (stateId === undefined || t.state_id === stateId),
      )
      .slice(offset, offset + limit);
    const v = await ctx.repo.extensionValues(keys, s, {
      tasks: chosen,
      names: (_kind, r) => r.ext_names.filter(ext.top),
    });
    return v?.tasks.map((t) => taskView(t, ext.top, sid));
  });
  return cloneView(views, q.extensions !== undefined);
}

/** SRV.16: the task's record and the extensions selected. */
export async function getTask(
  ctx: EngineContext,
  sid: string,
  taskId: number,
  q: TaskQuery = {},
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkQuery(q);
  const id = parseId('task_id', taskId);
  const ext = extensionFilters(q.extensions, 'Task');
  const view = await consistent(async () => {
    const s = await requireService(ctx, keys, sid);
    const t = await ctx.repo.getTask(keys, sid, id);
    if (t === undefined) throw taskNotFound(sid, id);
    const v = await ctx.repo.extensionValues(keys, s, {
      tasks: [t],
      names: (_kind, r) => r.ext_names.filter(ext.top),
    });
    return v === undefined ? undefined : taskView(v.tasks[0] as TaskRecord, ext.top, sid);
  });
  return cloneView(view, q.extensions !== undefined);
}
