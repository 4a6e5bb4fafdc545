/** The queries of SPEC §4–§5. Reads never take the write queue: they read one snapshot. */
import type {
  CallOptions,
  Paging,
  ServiceListQuery,
  ServiceQuery,
  ServiceView,
  StateListQuery,
  StateQuery,
  StateView,
  Status,
  TaskListQuery,
  TaskQuery,
  TaskView,
  TypeValue,
} from './api.js';
import { type EngineContext, requireService } from './context.js';
import { invalid, serviceNotFound, stateNotFound, taskNotFound } from './errors.js';
import { encodeTime, lastComponent, prefixEnd, type TenantKeys } from './keys.js';
import { parseId } from './query.js';
import type { ServiceRecord, StateRecord, TaskRecord } from './records.js';
import type { Aggregate } from './repo.js';
import { parseInstant } from './time.js';
import { checkString, isServiceId } from './validate.js';
import { byStart, extensionFilters, needsChildren, serviceView, stateView, taskView } from './views.js';

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

/** One snapshot of a visible service with all children, sorted, or SERVICE_NOT_FOUND. */
async function aggregate(ctx: EngineContext, keys: TenantKeys, sid: string): Promise<Aggregate> {
  if (!isServiceId(sid)) throw serviceNotFound(String(sid));
  const a = await ctx.repo.loadAll(keys, sid);
  if (a === undefined || a.service.expires <= ctx.clock.now()) throw serviceNotFound(sid);
  a.states.sort(byStart);
  a.tasks.sort(byStart);
  return a;
}

function cloneView<T>(view: T, hasExtensions: boolean): T {
  // Extension values are shared with cached records: callers get their own copy.
  return hasExtensions ? structuredClone(view) : view;
}

async function renderService(
  ctx: EngineContext,
  keys: TenantKeys,
  s: ServiceRecord,
  q: ServiceQuery,
): Promise<ServiceView | undefined> {
  const ext = extensionFilters(q.extensions, 'Service');
  let states: StateRecord[] = [];
  let tasks: TaskRecord[] = [];
  let serviceExt: Record<string, unknown> = {};
  if (needsChildren(q)) {
    const a = await ctx.repo.loadAll(keys, s.id);
    if (a === undefined) return undefined;
    states = a.states.sort(byStart);
    tasks = a.tasks.sort(byStart);
    serviceExt = a.ext;
    s = a.service;
  } else if (s.ext_names.some(ext.top)) {
    // The extensions live under keys of their own: only those the query selects are read, with
    // the record again, from one snapshot.
    const read = (await ctx.repo.withExtensions(keys, [s], (r) => r.ext_names.filter(ext.top))).get(s.id);
    if (read === undefined) return undefined;
    s = read.service;
    serviceExt = read.ext;
  }
  return cloneView(serviceView(s, serviceExt, states, tasks, q, ext), q.extensions !== undefined);
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
      const view = await renderService(ctx, keys, s, q);
      if (view !== undefined) out.push(view);
      if (out.length >= limit) return false;
    }
    return true;
  };
  for await (const [k] of ctx.repo.store.iterate(range)) {
    chunk.push(lastComponent(k));
    if (chunk.length >= 256 && !(await flush())) return out;
  }
  if (chunk.length > 0) await flush();
  return out;
}

/** SRV.12 */
export async function listStates(
  ctx: EngineContext,
  sid: string,
  q: StateListQuery = {},
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkQuery(q);
  const { offset, limit } = paging(ctx, q);
  const a = await aggregate(ctx, keys, sid);
  const ext = extensionFilters(q.extensions, 'State');
  const chosen = a.states
    .filter((st) => statusMatches(q.status, st.completed) && typeMatches(q.state_types, st.state_type))
    .slice(offset, offset + limit);
  // Tasks grouped once, and only when embedded: not once per state.
  const byState = new Map<number, TaskRecord[]>();
  if (q.active_tasks || q.completed_tasks) {
    for (const t of a.tasks) {
      if (t.state_id === undefined) continue;
      const list = byState.get(t.state_id) ?? [];
      byState.set(t.state_id, list);
      list.push(t);
    }
  }
  const views: StateView[] = chosen.map((st) => stateView(st, byState.get(st.id) ?? [], q, ext, sid));
  return cloneView(views, q.extensions !== undefined);
}

/** SRV.15 */
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
  let st: StateRecord | undefined;
  let tasks: TaskRecord[] = [];
  if (q.active_tasks || q.completed_tasks) {
    const a = await aggregate(ctx, keys, sid);
    st = a.states.find((x) => x.id === id);
    tasks = a.tasks.filter((t) => t.state_id === id);
  } else {
    // No tasks wanted: two keys, whatever the size of the service.
    await requireService(ctx, keys, sid);
    st = await ctx.repo.getState(keys, sid, id);
  }
  if (st === undefined) throw stateNotFound(sid, id);
  const view = stateView(st, tasks, q, extensionFilters(q.extensions, 'State'), sid);
  return cloneView(view, q.extensions !== undefined);
}

/** SRV.13 */
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
  const a = await aggregate(ctx, keys, sid);
  const ext = extensionFilters(q.extensions, 'Task');
  const views: TaskView[] = a.tasks
    .filter(
      (t) =>
        statusMatches(q.status, t.completed) &&
        typeMatches(q.task_types, t.task_type) &&
        (stateId === undefined || t.state_id === stateId),
    )
    .slice(offset, offset + limit)
    .map((t) => taskView(t, ext.top, sid));
  return cloneView(views, q.extensions !== undefined);
}

/** SRV.16 */
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
  await requireService(ctx, keys, sid);
  const t = await ctx.repo.getTask(keys, sid, id);
  if (t === undefined) throw taskNotFound(sid, id);
  return cloneView(taskView(t, extensionFilters(q.extensions, 'Task').top, sid), q.extensions !== undefined);
}
