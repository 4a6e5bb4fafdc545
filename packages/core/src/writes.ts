/** The write operations of docs/spec.md §4: validate, load, apply a pure rule, commit one batch. */
import type { CallOptions, CompositeItemResult, CompositeResult, EntityRef } from './api.js';
import { type EngineContext, onNewService, onService, requireService, retrying } from './context.js';
import {
  ContextServicesError,
  invalid,
  isContextServicesError,
  stateNotFound,
  taskNotFound,
} from './errors.js';
import type { TenantKeys } from './keys.js';
import * as rules from './lifecycle.js';
import { parseId } from './query.js';
import { type ServiceRecord, type StateRecord, type TaskRecord, typeKey } from './records.js';
import type { Before, Guard } from './repo-types.js';
import {
  AssociateBody,
  ServiceEndEvent,
  ServiceStartEvent,
  StateEndEvent,
  StateStartEvent,
  TaskEndEvent,
  TaskStartEvent,
  TransitionRequest,
  validators,
} from './schemas.js';
import {
  checkExtensionName,
  checkInstants,
  checkJsonValue,
  checkSchema,
  checkString,
  splitBody,
} from './validate.js';

const fieldsOf = (schema: { properties: object }) => new Set(Object.keys(schema.properties));
const ALLOWED = {
  serviceStart: fieldsOf(ServiceStartEvent),
  serviceEnd: fieldsOf(ServiceEndEvent),
  stateStart: fieldsOf(StateStartEvent),
  stateEnd: fieldsOf(StateEndEvent),
  taskStart: fieldsOf(TaskStartEvent),
  taskEnd: fieldsOf(TaskEndEvent),
  associate: fieldsOf(AssociateBody),
  transition: fieldsOf(TransitionRequest),
};

function toMap<T extends { id: number }>(items: readonly T[]): Map<number, T> {
  return new Map(items.map((x) => [x.id, x]));
}

/** Parsed, validated service start: fields with string limits checked, extensions split. */
function parseServiceStart(ctx: EngineContext, body: unknown) {
  const { fields, extensions } = splitBody(
    validators.serviceStart,
    body,
    ALLOWED.serviceStart,
    'service start event',
    ctx.cfg.limits,
  );
  if (fields.customer_id !== undefined)
    checkString('customer_id', fields.customer_id, ctx.cfg.limits.customerIdLength);
  if (fields.contact_key !== undefined)
    checkString('contact_key', fields.contact_key, ctx.cfg.limits.contactKeyLength);
  if (fields.customer_id === undefined && fields.contact_key === undefined) {
    throw invalid('customer_id', 'customer_id or contact_key is required');
  }
  checkFuture(ctx, fields);
  return { fields: fields as rules.ServiceStartInput, extensions };
}

/**
 * An `expiration_time` that applies (no `ttl` beside it) is in the future, checked with the
 * body, before anything is read: a composite start refuses it even where it would find a service.
 */
function checkFuture(ctx: EngineContext, fields: { ttl?: number; expiration_time?: string }): void {
  if (fields.ttl === undefined && fields.expiration_time !== undefined)
    rules.futureInstant(fields.expiration_time, ctx.clock.now());
}

function parseStateStart(ctx: EngineContext, body: unknown) {
  const r = splitBody(validators.stateStart, body, ALLOWED.stateStart, 'state start event', ctx.cfg.limits);
  return { fields: r.fields as rules.StateStartInput, extensions: r.extensions };
}

function parseTaskStart(ctx: EngineContext, body: unknown) {
  const r = splitBody(validators.taskStart, body, ALLOWED.taskStart, 'task start event', ctx.cfg.limits);
  return { fields: r.fields as rules.TaskStartInput, extensions: r.extensions };
}

/** SRV.1 */
export async function startService(ctx: EngineContext, body: unknown, options?: CallOptions) {
  const keys = ctx.keys(options);
  const { fields, extensions } = parseServiceStart(ctx, body);
  const sid = ctx.ids();
  const change = rules.startService(keys.tenant, sid, fields, extensions, ctx.clock.now(), ctx.cfg.rules);
  await onNewService(ctx, keys, sid, () => ctx.repo.commit(keys, {}, change));
  return { service_id: sid };
}

/** SRV.3 */
export async function endService(ctx: EngineContext, sid: string, body: unknown, options?: CallOptions) {
  const keys = ctx.keys(options);
  const { fields, extensions } = splitBody(
    validators.serviceEnd,
    body,
    ALLOWED.serviceEnd,
    'service end event',
    ctx.cfg.limits,
  );
  checkFuture(ctx, fields);
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const [states, tasks] = await Promise.all([
      ctx.repo.activeStates(keys, sid),
      ctx.repo.activeTasks(keys, sid),
    ]);
    const change = rules.endService(
      keys.tenant,
      s,
      states,
      tasks,
      fields,
      extensions,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    await ctx.repo.commit(keys, { service: s, states: toMap(states), tasks: toMap(tasks) }, change);
  });
}

/** SRV.2 */
export async function associate(
  ctx: EngineContext,
  customerId: string,
  sid: string,
  body: unknown,
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  checkString('customer_id', customerId, ctx.cfg.limits.customerIdLength);
  const { fields, extensions } = splitBody(
    validators.associate,
    body,
    ALLOWED.associate,
    'associate body',
    ctx.cfg.limits,
  );
  if (fields.contact_key !== undefined)
    checkString('contact_key', fields.contact_key, ctx.cfg.limits.contactKeyLength);
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const change = rules.associate(
      keys.tenant,
      s,
      customerId,
      fields,
      extensions,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    await ctx.repo.commit(keys, { service: s }, change);
  });
}

/** SRV.5 */
export async function startState(ctx: EngineContext, sid: string, body: unknown, options?: CallOptions) {
  const keys = ctx.keys(options);
  const { fields, extensions } = parseStateStart(ctx, body);
  return onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    if (
      fields.previous_state_id !== undefined &&
      !(await ctx.repo.getState(keys, sid, fields.previous_state_id))
    ) {
      throw stateNotFound(sid, fields.previous_state_id, 'previous_state_id');
    }
    const change = rules.startState(keys.tenant, s, fields, extensions, ctx.clock.now(), ctx.cfg.rules);
    await ctx.repo.commit(keys, { service: s }, change);
    return { state_id: (change.states[0] as StateRecord).id };
  });
}

/** SRV.6 */
export async function endState(
  ctx: EngineContext,
  sid: string,
  stateId: number,
  body: unknown,
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  const id = parseId('state_id', stateId);
  const { fields, extensions } = splitBody(
    validators.stateEnd,
    body,
    ALLOWED.stateEnd,
    'state end event',
    ctx.cfg.limits,
  );
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const st = await ctx.repo.getState(keys, sid, id);
    if (st === undefined) throw stateNotFound(sid, id);
    const tasks = st.completed ? [] : await ctx.repo.activeTasks(keys, sid, id);
    const change = rules.endState(
      keys.tenant,
      s,
      st,
      tasks,
      fields,
      extensions,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    await ctx.repo.commit(keys, { service: s, states: toMap([st]), tasks: toMap(tasks) }, change);
  });
}

/** SRV.7 */
export async function transition(ctx: EngineContext, sid: string, body: unknown, options?: CallOptions) {
  const keys = ctx.keys(options);
  const { fields, extensions } = splitBody(
    validators.transition,
    body,
    ALLOWED.transition,
    'transition',
    ctx.cfg.limits,
  );
  return onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const from = await ctx.repo.getState(keys, sid, fields.from.state_id);
    if (from === undefined) throw stateNotFound(sid, fields.from.state_id, 'from.state_id');
    const tasks = from.completed ? [] : await ctx.repo.activeTasks(keys, sid, from.id);
    const input = fields as rules.TransitionInput;
    const change = rules.transition(
      keys.tenant,
      s,
      from,
      tasks,
      input,
      extensions,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    await ctx.repo.commit(keys, { service: s, states: toMap([from]), tasks: toMap(tasks) }, change);
    return { state_id: (change.states[1] as StateRecord).id };
  });
}

/** SRV.8 */
export async function startTask(ctx: EngineContext, sid: string, body: unknown, options?: CallOptions) {
  const keys = ctx.keys(options);
  const { fields, extensions } = parseTaskStart(ctx, body);
  return onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    if (fields.state_id !== undefined && !(await ctx.repo.getState(keys, sid, fields.state_id))) {
      throw stateNotFound(sid, fields.state_id, 'state_id');
    }
    const change = rules.startTask(keys.tenant, s, fields, extensions, ctx.clock.now(), ctx.cfg.rules);
    await ctx.repo.commit(keys, { service: s }, change);
    return { task_id: (change.tasks[0] as TaskRecord).id };
  });
}

/** SRV.9 */
export async function endTask(
  ctx: EngineContext,
  sid: string,
  taskId: number,
  body: unknown,
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  const id = parseId('task_id', taskId);
  const { fields, extensions } = splitBody(
    validators.taskEnd,
    body,
    ALLOWED.taskEnd,
    'task end event',
    ctx.cfg.limits,
  );
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const t = await ctx.repo.getTask(keys, sid, id);
    if (t === undefined) throw taskNotFound(sid, id);
    const change = rules.endTask(keys.tenant, s, t, fields, extensions, ctx.clock.now(), ctx.cfg.rules);
    await ctx.repo.commit(keys, { service: s, tasks: toMap([t]) }, change);
  });
}

/** Extension replace or merge on a service, state or task. */
export async function setExtension(
  ctx: EngineContext,
  ref: EntityRef,
  name: string,
  value: unknown,
  merge: boolean,
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  if (typeof ref !== 'object' || ref === null) throw new TypeError('setExtension: ref must be an object');
  checkExtensionName(name, ctx.cfg.limits);
  checkJsonValue(name, value, ctx.cfg.limits.jsonDepth);
  const stateId = ref.state_id === undefined ? undefined : parseId('state_id', ref.state_id);
  const taskId = ref.task_id === undefined ? undefined : parseId('task_id', ref.task_id);
  const copy = structuredClone(value);
  const sid = ref.service_id;
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const before: {
      service: ServiceRecord;
      states?: Map<number, StateRecord>;
      tasks?: Map<number, TaskRecord>;
    } = {
      service: s,
    };
    let target: rules.ExtensionTarget;
    // Under the service's queue: nothing else writes the extension between these reads and the commit.
    // Only a merge needs the current value.
    if (taskId !== undefined) {
      const task = await ctx.repo.getTask(keys, sid, taskId);
      if (task === undefined) throw taskNotFound(sid, taskId);
      const current = merge ? await ctx.repo.childExtension(keys, sid, 't', task, name) : undefined;
      target = { kind: 'task', task, current };
      before.tasks = toMap([task]);
    } else if (stateId !== undefined) {
      const state = await ctx.repo.getState(keys, sid, stateId);
      if (state === undefined) throw stateNotFound(sid, stateId);
      const current = merge ? await ctx.repo.childExtension(keys, sid, 's', state, name) : undefined;
      target = { kind: 'state', state, current };
      before.states = toMap([state]);
    } else {
      const current =
        merge && s.ext_names.includes(name) ? await ctx.repo.serviceExtension(keys, sid, name) : undefined;
      target = { kind: 'service', current };
    }
    const change = rules.setExtension(
      keys.tenant,
      s,
      target,
      name,
      copy,
      merge,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    await ctx.repo.commit(keys, before, change);
  });
}

/** `PUT /services/{id}`: ttl / expiration_time. */
export async function updateExpiration(
  ctx: EngineContext,
  sid: string,
  body: unknown,
  options?: CallOptions,
) {
  const keys = ctx.keys(options);
  const fields = checkSchema(validators.expiration, body, 'expiration update');
  checkInstants(fields);
  checkFuture(ctx, fields);
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    const change = rules.updateExpiration(
      keys.tenant,
      s,
      fields.ttl,
      fields.expiration_time,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    await ctx.repo.commit(keys, { service: s }, change);
  });
}

/** Delete a service and everything under it (L8). */
export async function deleteService(ctx: EngineContext, sid: string, options?: CallOptions) {
  const keys = ctx.keys(options);
  await onService(ctx, keys, sid, async () => {
    const s = await requireService(ctx, keys, sid);
    await removeService(ctx, keys, s, 'deleted');
  });
}

/** Remove a loaded service (caller holds its queue); `under`: its keys, when just read. */
export function removeService(
  ctx: EngineContext,
  keys: TenantKeys,
  s: ServiceRecord,
  reason: 'deleted' | 'expired' | 'purged',
  under?: readonly string[],
): Promise<void> {
  const at = new Date(ctx.clock.now()).toISOString();
  return ctx.repo.remove(
    keys,
    s,
    {
      type: 'service.deleted',
      tenant: keys.tenant,
      service_id: s.id,
      timestamp: at,
      reason,
    },
    under,
  );
}

type Parsed<T extends (...a: never[]) => unknown> = ReturnType<T>;

/** Composite start (docs/spec.md §6): every item validated first; each item then commits atomically. */
export async function compositeStart(
  ctx: EngineContext,
  body: unknown,
  options?: CallOptions,
): Promise<CompositeResult> {
  const keys = ctx.keys(options);
  const req = checkSchema(validators.composite, body, 'composite start');
  // Every item is checked before the first one is written (docs/spec.md §6).
  const items = req.services.map((item, i) =>
    inItem(i, () => {
      const state = parseStateStart(ctx, item.state);
      const task = item.task === undefined ? undefined : parseTaskStart(ctx, item.task);
      // Where the state and task go is composite start's own decision (find or start, and
      // associate_state_task): a reference to another state could only be checked once earlier
      // items were written, so it is refused up front.
      if (state.fields.previous_state_id !== undefined) {
        throw invalid('state.previous_state_id', 'is not accepted in a composite start item');
      }
      if (task?.fields.state_id !== undefined) {
        throw invalid('task.state_id', 'is not accepted in a composite start item: use associate_state_task');
      }
      return {
        service: parseServiceStart(ctx, item.service),
        state,
        task,
        associate: item.associate_state_task === true,
      };
    }),
  );
  const results: CompositeItemResult[] = [];
  for (const [i, item] of items.entries()) {
    // Rules that depend on stored data (limits) can still refuse a later item: items before it stay written.
    results.push(await inItem(i, () => compositeItem(ctx, keys, item, req.create_new_services === true)));
  }
  return { services: results };
}

/** Run `fn` for item `i`, prefixing the message of any core error with the item (`services[i]: …`). */
function inItem<T>(i: number, fn: () => T): T {
  const wrap = (e: unknown): never => {
    if (!isContextServicesError(e)) throw e;
    throw new ContextServicesError(e.code, `services[${i}]: ${e.message}`, {
      details: { ...e.details, item: i },
      cause: e,
    });
  };
  try {
    const r = fn();
    return (r instanceof Promise ? r.catch(wrap) : r) as T;
  } catch (e) {
    return wrap(e);
  }
}

interface CompositeInput {
  service: Parsed<typeof parseServiceStart>;
  state: Parsed<typeof parseStateStart>;
  task: Parsed<typeof parseTaskStart> | undefined;
  associate: boolean;
}

/**
 * One composite item: find a matching active service or start one. In this process the match is
 * serialized by its tuple; with shared writers a creation also moves the tuple's claim key under a
 * precondition on the value read before the matches were listed, so when two processes create at
 * once one fails, reads again and finds the other's service (docs/spec.md §11).
 */
function compositeItem(ctx: EngineContext, keys: TenantKeys, item: CompositeInput, forceNew: boolean) {
  const f = item.service.fields;
  const type = typeKey(f.service_type);
  const match = keys.matchPrefix(f.customer_id, f.contact_key, type);
  const claimKey = ctx.repo.shared && !forceNew ? keys.claim(f.customer_id, f.contact_key, type) : undefined;
  const attempt = async (): Promise<CompositeItemResult> => {
    // Read before the matches: a creation committed after this read moves the claim.
    const claimed = claimKey === undefined ? undefined : await ctx.repo.readRaw(claimKey);
    if (!forceNew) {
      for (const sid of await ctx.repo.activeMatches(keys, match)) {
        const done = await onService(ctx, keys, sid, async () => {
          const s = await ctx.repo.getService(keys, sid);
          const stillMatches =
            s !== undefined &&
            s.completed === undefined &&
            s.expires > ctx.clock.now() &&
            s.customer_id === f.customer_id &&
            s.contact_key === f.contact_key &&
            typeKey(s.service_type) === type;
          return stillMatches ? compositeInService(ctx, keys, s, false, item) : undefined;
        });
        if (done !== undefined) return done;
      }
    }
    const sid = ctx.ids();
    const created = rules.startService(
      keys.tenant,
      sid,
      f,
      item.service.extensions,
      ctx.clock.now(),
      ctx.cfg.rules,
    );
    const guard = claimKey === undefined ? undefined : claimGuard(claimKey, claimed);
    return onNewService(ctx, keys, sid, () =>
      compositeInService(ctx, keys, created.service, true, item, created, guard),
    );
  };
  return ctx.repo.serialize(match, claimKey === undefined ? attempt : () => retrying(ctx, attempt));
}

/** Move a claim key on from the value read (a counter; any other text counts as 0). */
function claimGuard(key: string, claimed: string | undefined): Guard {
  const n = claimed === undefined ? 0 : Number.parseInt(claimed, 10);
  return {
    ops: [{ type: 'put', key, value: String((Number.isSafeInteger(n) ? n : 0) + 1) }],
    preconditions: [claimed === undefined ? { key, absent: true } : { key, value: claimed }],
  };
}

async function compositeInService(
  ctx: EngineContext,
  keys: TenantKeys,
  s: ServiceRecord,
  serviceCreated: boolean,
  item: CompositeInput,
  creation?: rules.Change,
  guard?: Guard,
): Promise<CompositeItemResult> {
  const now = ctx.clock.now();
  const cfg = ctx.cfg.rules;
  const before: Before = serviceCreated ? {} : { service: s };
  const events = [...(creation?.events ?? [])];
  const states: StateRecord[] = [];
  const tasks: TaskRecord[] = [];
  let service = s;
  const activeStates = serviceCreated ? [] : await ctx.repo.activeStates(keys, s.id);
  const wantedState = typeKey(item.state.fields.state_type);
  let state = activeStates
    .filter((x) => typeKey(x.state_type) === wantedState)
    .sort((a, b) => a.id - b.id)[0];
  const stateCreated = state === undefined;
  if (state === undefined) {
    const c = rules.startState(keys.tenant, service, item.state.fields, item.state.extensions, now, cfg);
    service = c.service;
    state = c.states[0] as StateRecord;
    states.push(state);
    events.push(...c.events);
  }
  const result: CompositeItemResult = {
    service_id: s.id,
    service_created: serviceCreated,
    state_id: state.id,
    state_created: stateCreated,
  };
  if (item.task !== undefined) {
    const scope = item.associate ? state.id : undefined;
    // A new service has no tasks and a new state none of its own; other tasks of the service may match.
    const fresh = serviceCreated || (stateCreated && scope !== undefined);
    const active = fresh ? [] : await ctx.repo.activeTasks(keys, s.id, scope);
    const wantedTask = typeKey(item.task.fields.task_type);
    let task = active.filter((t) => typeKey(t.task_type) === wantedTask).sort((a, b) => a.id - b.id)[0];
    result.task_created = task === undefined;
    if (task === undefined) {
      const fields = { ...item.task.fields, state_id: scope };
      const c = rules.startTask(keys.tenant, service, rules.compact(fields), item.task.extensions, now, cfg);
      service = c.service;
      task = c.tasks[0] as TaskRecord;
      tasks.push(task);
      events.push(...c.events);
    }
    result.task_id = task.id;
  }
  if (serviceCreated || states.length > 0 || tasks.length > 0) {
    const serviceExt = creation?.serviceExt;
    await ctx.repo.commit(
      keys,
      before,
      {
        service,
        states,
        tasks,
        ...(serviceExt ? { serviceExt } : {}),
        events,
      },
      guard,
    );
  }
  return result;
}
