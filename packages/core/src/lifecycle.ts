/**
 * The lifecycle rules of SPEC §7 as pure functions `(current, command, now) → { next, events }`.
 * They read nothing and write nothing: the engine loads the records a command needs, calls one of
 * these, and commits the returned records (with their index entries) as one atomic batch.
 */
import type { TypeValue } from './api.js';
import { ContextServicesError, invalid } from './errors.js';
import type { ContextEvent } from './events.js';
import type { EventRecord, ServiceRecord, StateRecord, TaskRecord } from './records.js';
import { EVENT_FIELDS } from './records.js';
import { formatInstant, parseInstant } from './time.js';

/** Engine settings the rules depend on. */
export interface RuleConfig {
  /** Default lifetime in ms for services started now. */
  readonly lifetime: number;
  readonly autoCompleteEnabled: boolean;
  /** Seconds. */
  readonly autoCompleteAfter: number | undefined;
  readonly entitiesPerService: number;
  readonly extensionKeysPerEntity: number;
}

/** The records a command produced, and the events to emit once they are committed. */
export interface Change {
  readonly service: ServiceRecord;
  readonly states: readonly StateRecord[];
  readonly tasks: readonly TaskRecord[];
  /** Service extensions written by the command (each under its own key), by name. */
  readonly serviceExt?: Readonly<Record<string, unknown>>;
  readonly events: readonly ContextEvent[];
}

/** Event fields of a validated body (all optional). */
export type EventInput = { readonly timestamp?: string } & Partial<
  Record<(typeof EVENT_FIELDS)[number], unknown>
>;

/** `T` with keys whose value may be undefined made optional and defined. */
export type Compact<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Drop undefined values so records satisfy `exactOptionalPropertyTypes` and stay compact. */
export function compact<T extends object>(o: T): Compact<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Compact<T>;
}

/** Build the stored event from a body: the client's timestamp, else the server's clock. */
export function eventRecord(input: EventInput, now: number, field = 'timestamp'): EventRecord {
  const ts = input.timestamp === undefined ? now : parseInstant(field, input.timestamp);
  const e: Record<string, unknown> = { ts };
  for (const f of EVENT_FIELDS) if (input[f] !== undefined) e[f] = input[f];
  return e as unknown as EventRecord;
}

/**
 * Stamp a write at `now` (SPEC §7.2, §7.3): bump the version, push the expiry to now + lifetime
 * unless an absolute expiration_time holds, and move the auto-complete deadline.
 */
export function touch(s: ServiceRecord, now: number, cfg: RuleConfig): ServiceRecord {
  const expires = s.expiration_time ?? now + (s.ttl !== undefined ? s.ttl * 1000 : s.lifetime);
  const delay = s.auto_complete_after ?? cfg.autoCompleteAfter;
  const autoAt =
    s.completed === undefined && cfg.autoCompleteEnabled && delay !== undefined
      ? now + delay * 1000
      : undefined;
  return compact({ ...s, version: s.version + 1, updated: now, expires, auto_at: autoAt });
}

function base(tenant: string, s: ServiceRecord, ts: number) {
  return { tenant, service_id: s.id, timestamp: formatInstant(ts) };
}

function alreadyCompleted(what: string): ContextServicesError {
  return new ContextServicesError('ALREADY_COMPLETED', `The ${what} is already completed`, {
    details: { entity: what },
  });
}

/** L6: a completion may not precede the start. */
function checkCompletion(what: string, started: EventRecord, completedTs: number): void {
  if (completedTs < started.ts) {
    throw new ContextServicesError(
      'COMPLETED_BEFORE_START',
      `The completion timestamp of the ${what} (${formatInstant(completedTs)}) is earlier than its start (${formatInstant(started.ts)})`,
      { details: { entity: what } },
    );
  }
}

function checkChildLimit(s: ServiceRecord, adding: number, cfg: RuleConfig): void {
  if (s.children + adding > cfg.entitiesPerService) {
    throw new ContextServicesError(
      'LIMIT_EXCEEDED',
      `Too many states and tasks in service ${s.id}: the limit is ${cfg.entitiesPerService}`,
      { details: { field: 'states + tasks', limit: cfg.entitiesPerService } },
    );
  }
}

function tooManyExtensions(cfg: RuleConfig): ContextServicesError {
  return new ContextServicesError(
    'LIMIT_EXCEEDED',
    `Too many extensions: the limit is ${cfg.extensionKeysPerEntity}`,
    {
      details: { field: 'extensions', limit: cfg.extensionKeysPerEntity },
    },
  );
}

/** Apply extensions from a body: same-named ones are replaced; the key count stays bounded. */
export function withExtensions(
  ext: Readonly<Record<string, unknown>>,
  add: Readonly<Record<string, unknown>>,
  cfg: RuleConfig,
): Record<string, unknown> {
  const next = { ...ext, ...add };
  if (Object.keys(next).length > cfg.extensionKeysPerEntity) throw tooManyExtensions(cfg);
  return next;
}

/** The service's extension names once `add` is written (same-named ones are replaced), within the limit. */
function extensionNames(
  names: readonly string[],
  add: Readonly<Record<string, unknown>>,
  cfg: RuleConfig,
): readonly string[] {
  const added = Object.keys(add).filter((name) => !names.includes(name));
  if (added.length === 0) return names;
  if (names.length + added.length > cfg.extensionKeysPerEntity) throw tooManyExtensions(cfg);
  return [...names, ...added];
}

/** `serviceExt` of a change: only when the command writes some. */
function written(add: Readonly<Record<string, unknown>>): { serviceExt?: Readonly<Record<string, unknown>> } {
  return Object.keys(add).length === 0 ? {} : { serviceExt: add };
}

export interface ServiceStartInput extends EventInput {
  readonly customer_id?: string;
  readonly contact_key?: string;
  readonly service_type?: TypeValue;
  readonly est_duration?: number;
  readonly auto_complete_after?: number;
  readonly ttl?: number;
  readonly expiration_time?: string;
}

/** SRV.1. */
export function startService(
  tenant: string,
  id: string,
  input: ServiceStartInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (input.customer_id === undefined && input.contact_key === undefined) {
    throw invalid('customer_id', 'customer_id or contact_key is required');
  }
  const started = eventRecord(input, now);
  const draft: ServiceRecord = compact({
    id,
    version: 0,
    service_type: input.service_type,
    customer_id: input.customer_id,
    contact_key: input.contact_key,
    est_duration: input.est_duration,
    started,
    ext_names: extensionNames([], extensions, cfg),
    auto_complete_after: input.auto_complete_after,
    ttl: input.ttl,
    expiration_time:
      input.ttl === undefined && input.expiration_time !== undefined
        ? parseInstant('expiration_time', input.expiration_time)
        : undefined,
    lifetime: cfg.lifetime,
    updated: now,
    expires: now,
    next_state: 1,
    next_task: 1,
    children: 0,
  });
  const service = touch(draft, now, cfg);
  const ev: ContextEvent = compact({
    type: 'service.started' as const,
    ...base(tenant, service, started.ts),
    customer_id: service.customer_id,
    contact_key: service.contact_key,
  });
  return { service, states: [], tasks: [], ...written(extensions), events: [ev] };
}

export interface EndInput extends EventInput {
  readonly disposition?: TypeValue;
  readonly disposition_desc?: string;
}

function complete<T extends StateRecord | TaskRecord>(
  entity: T,
  ended: EventRecord,
  input: EndInput,
  ext: Record<string, unknown>,
): T {
  return compact({
    ...entity,
    completed: ended,
    disposition: input.disposition ?? entity.disposition,
    disposition_desc: input.disposition_desc ?? entity.disposition_desc,
    ext,
  }) as unknown as T;
}

/**
 * End the given active states and tasks with the same event (L2). `clamp` (auto-complete) moves a
 * child's completion to its own start when the shared instant precedes it; otherwise that is L6.
 */
function cascade(
  tenant: string,
  s: ServiceRecord,
  states: readonly StateRecord[],
  tasks: readonly TaskRecord[],
  ended: EventRecord,
  clamp: boolean,
): { states: StateRecord[]; tasks: TaskRecord[]; events: ContextEvent[] } {
  const at = <T extends StateRecord | TaskRecord>(e: T, what: string): EventRecord => {
    if (ended.ts >= e.started.ts) return ended;
    if (clamp) return { ...ended, ts: e.started.ts };
    checkCompletion(what, e.started, ended.ts);
    return ended;
  };
  const events: ContextEvent[] = [];
  const doneTasks = tasks.map((t) => {
    const completed = at(t, `task ${t.id}`);
    events.push(
      compact({
        type: 'task.completed' as const,
        ...base(tenant, s, completed.ts),
        task_id: t.id,
        state_id: t.state_id,
      }),
    );
    return { ...t, completed };
  });
  const doneStates = states.map((st) => {
    const completed = at(st, `state ${st.id}`);
    events.push({ type: 'state.completed' as const, ...base(tenant, s, completed.ts), state_id: st.id });
    return { ...st, completed };
  });
  return { states: doneStates, tasks: doneTasks, events };
}

export interface ServiceEndInput extends EndInput {
  readonly ttl?: number;
  readonly expiration_time?: string;
}

/** Expiration fields of a body applied to a service: ttl wins over expiration_time (SPEC §4). */
export function withExpiration(
  s: ServiceRecord,
  ttl: number | undefined,
  expirationTime: string | undefined,
): ServiceRecord {
  if (ttl !== undefined) return compact({ ...s, ttl, expiration_time: undefined });
  if (expirationTime !== undefined) {
    return compact({
      ...s,
      ttl: undefined,
      expiration_time: parseInstant('expiration_time', expirationTime),
    });
  }
  return s;
}

/** SRV.3 and auto-complete: L1, L2, L6. */
export function endService(
  tenant: string,
  s: ServiceRecord,
  activeStates: readonly StateRecord[],
  activeTasks: readonly TaskRecord[],
  input: ServiceEndInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
  reason: 'ended' | 'auto-completed' = 'ended',
): Change {
  if (s.completed !== undefined) throw alreadyCompleted('service');
  const ended = eventRecord(input, now);
  checkCompletion('service', s.started, ended.ts);
  const children = cascade(tenant, s, activeStates, activeTasks, ended, reason === 'auto-completed');
  const service = touch(
    withExpiration(
      compact({
        ...s,
        completed: ended,
        disposition: input.disposition ?? s.disposition,
        disposition_desc: input.disposition_desc ?? s.disposition_desc,
        ext_names: extensionNames(s.ext_names, extensions, cfg),
      }),
      input.ttl,
      input.expiration_time,
    ),
    now,
    cfg,
  );
  const ev: ContextEvent = { type: 'service.completed', ...base(tenant, s, ended.ts), reason };
  return {
    service,
    states: children.states,
    tasks: children.tasks,
    ...written(extensions),
    events: [...children.events, ev],
  };
}

/**
 * Auto-complete (SPEC §7.3): completed at last update + delay, deterministically. It is not an
 * update (SPEC §7.2): the expiry stays where the last update put it, so whether a reader still
 * finds the service never depends on when the sweep happened to run.
 */
export function autoComplete(
  tenant: string,
  s: ServiceRecord,
  activeStates: readonly StateRecord[],
  activeTasks: readonly TaskRecord[],
  cfg: RuleConfig,
): Change {
  const at = s.auto_at as number;
  const ts = Math.max(at, s.started.ts);
  const change = endService(
    tenant,
    s,
    activeStates,
    activeTasks,
    { timestamp: formatInstant(ts) },
    {},
    at,
    cfg,
    'auto-completed',
  );
  return { ...change, service: { ...change.service, updated: s.updated, expires: s.expires } };
}

export interface AssociateInput extends EventInput {
  readonly customer_id?: string;
  readonly contact_key?: string;
  readonly service_type?: TypeValue;
  readonly est_duration?: number;
}

/** SRV.2: attach to (or move to) a customer; body fields overwrite, extensions replace. */
export function associate(
  tenant: string,
  s: ServiceRecord,
  customerId: string,
  input: AssociateInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (input.customer_id !== undefined && input.customer_id !== customerId) {
    throw invalid('customer_id', 'must equal the customer id of the path');
  }
  const started: Record<string, unknown> = { ...s.started };
  for (const f of EVENT_FIELDS) if (input[f] !== undefined) started[f] = input[f];
  const service = touch(
    compact({
      ...s,
      customer_id: customerId,
      contact_key: input.contact_key ?? s.contact_key,
      service_type: input.service_type ?? s.service_type,
      est_duration: input.est_duration ?? s.est_duration,
      started: started as unknown as EventRecord,
      ext_names: extensionNames(s.ext_names, extensions, cfg),
    }),
    now,
    cfg,
  );
  const ev: ContextEvent = compact({
    type: 'service.associated' as const,
    ...base(tenant, s, now),
    customer_id: customerId,
    previous_customer_id: s.customer_id,
  });
  return { service, states: [], tasks: [], ...written(extensions), events: [ev] };
}

export interface StateStartInput extends EventInput {
  readonly state_type?: TypeValue;
  readonly est_duration?: number;
  readonly previous_state_id?: number;
}

/** SRV.5 (L3, L4): `previous` is the loaded previous state when one was named. */
export function startState(
  tenant: string,
  s: ServiceRecord,
  input: StateStartInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  checkChildLimit(s, 1, cfg);
  const state: StateRecord = compact({
    id: s.next_state,
    state_type: input.state_type,
    previous_state_id: input.previous_state_id,
    est_duration: input.est_duration,
    started: eventRecord(input, now),
    ext: withExtensions({}, extensions, cfg),
  });
  const service = touch({ ...s, next_state: s.next_state + 1, children: s.children + 1 }, now, cfg);
  const ev: ContextEvent = {
    type: 'state.started',
    ...base(tenant, s, state.started.ts),
    state_id: state.id,
  };
  return { service, states: [state], tasks: [], events: [ev] };
}

/** SRV.6: end a state and its active tasks (L1, L2, L6). */
export function endState(
  tenant: string,
  s: ServiceRecord,
  state: StateRecord,
  activeTasks: readonly TaskRecord[],
  input: EndInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (state.completed !== undefined) throw alreadyCompleted(`state ${state.id}`);
  const ended = eventRecord(input, now);
  checkCompletion(`state ${state.id}`, state.started, ended.ts);
  const children = cascade(tenant, s, [], activeTasks, ended, false);
  const done = complete(state, ended, input, withExtensions(state.ext, extensions, cfg));
  const ev: ContextEvent = { type: 'state.completed', ...base(tenant, s, ended.ts), state_id: state.id };
  return {
    service: touch(s, now, cfg),
    states: [done],
    tasks: children.tasks,
    events: [...children.events, ev],
  };
}

export interface TransitionInput extends EventInput {
  readonly from: {
    readonly state_id: number;
    readonly disposition?: TypeValue;
    readonly disposition_desc?: string;
  };
  readonly to?: { readonly state_type?: TypeValue; readonly est_duration?: number };
}

/** SRV.7 (L5): end `from` (which must be active) and start the new state, same instant, atomically. */
export function transition(
  tenant: string,
  s: ServiceRecord,
  from: StateRecord,
  fromTasks: readonly TaskRecord[],
  input: TransitionInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (from.completed !== undefined) {
    throw new ContextServicesError(
      'STATE_NOT_ACTIVE',
      `State ${from.id} is not active: cannot transition from it`,
      {
        details: { state_id: from.id },
      },
    );
  }
  const { from: f, to = {}, ...shared } = input;
  const endInput = compact({ ...shared, disposition: f.disposition, disposition_desc: f.disposition_desc });
  const ended = endState(tenant, s, from, fromTasks, endInput, {}, now, cfg);
  const at = formatInstant(eventRecord(shared, now).ts);
  const started = startState(
    tenant,
    ended.service,
    compact({
      ...shared,
      timestamp: at,
      state_type: to.state_type,
      est_duration: to.est_duration,
      previous_state_id: from.id,
    }),
    extensions,
    now,
    cfg,
  );
  const newState = started.states[0] as StateRecord;
  const ev: ContextEvent = {
    type: 'state.transitioned',
    ...base(tenant, s, newState.started.ts),
    from_state_id: from.id,
    state_id: newState.id,
  };
  return {
    // startState touched the service again; keep one version step per write.
    service: { ...started.service, version: s.version + 1 },
    states: [...ended.states, newState],
    tasks: ended.tasks,
    events: [...ended.events, ...started.events, ev],
  };
}

export interface TaskStartInput extends EventInput {
  readonly task_type?: TypeValue;
  readonly est_duration?: number;
  readonly state_id?: number;
}

/** SRV.8 (L3, L4). The engine has checked that `state_id`, when given, names a state of the service. */
export function startTask(
  tenant: string,
  s: ServiceRecord,
  input: TaskStartInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  checkChildLimit(s, 1, cfg);
  const task: TaskRecord = compact({
    id: s.next_task,
    task_type: input.task_type,
    state_id: input.state_id,
    est_duration: input.est_duration,
    started: eventRecord(input, now),
    ext: withExtensions({}, extensions, cfg),
  });
  const service = touch({ ...s, next_task: s.next_task + 1, children: s.children + 1 }, now, cfg);
  const ev: ContextEvent = compact({
    type: 'task.started' as const,
    ...base(tenant, s, task.started.ts),
    task_id: task.id,
    state_id: task.state_id,
  });
  return { service, states: [], tasks: [task], events: [ev] };
}

/** SRV.9 (L1, L6). */
export function endTask(
  tenant: string,
  s: ServiceRecord,
  task: TaskRecord,
  input: EndInput,
  extensions: Record<string, unknown>,
  now: number,
  cfg: RuleConfig,
): Change {
  if (task.completed !== undefined) throw alreadyCompleted(`task ${task.id}`);
  const ended = eventRecord(input, now);
  checkCompletion(`task ${task.id}`, task.started, ended.ts);
  const done = complete(task, ended, input, withExtensions(task.ext, extensions, cfg));
  const ev: ContextEvent = compact({
    type: 'task.completed' as const,
    ...base(tenant, s, ended.ts),
    task_id: task.id,
    state_id: task.state_id,
  });
  return { service: touch(s, now, cfg), states: [], tasks: [done], events: [ev] };
}

/** New value of an extension after a replace or a merge (SPEC §4). */
export function extensionValue(current: unknown, value: unknown, merge: boolean, name: string): unknown {
  if (!merge) {
    if (typeof value !== 'object' || value === null) throw invalid(name, 'must be a JSON object or array');
    return value;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'merge value must be a JSON object');
  }
  if (current === undefined) return value;
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    throw new ContextServicesError(
      'EXTENSION_NOT_OBJECT',
      `Extension '${name}' is not an object: cannot merge into it`,
      {
        details: { name },
      },
    );
  }
  return { ...current, ...value };
}

/** Update expiration (SPEC §4, §7.2). */
export function updateExpiration(
  tenant: string,
  s: ServiceRecord,
  ttl: number | undefined,
  expirationTime: string | undefined,
  now: number,
  cfg: RuleConfig,
): Change {
  const service = touch(withExpiration(s, ttl, expirationTime), now, cfg);
  const ev: ContextEvent = { type: 'service.updated', ...base(tenant, s, now), change: 'expiration' };
  return { service, states: [], tasks: [], events: [ev] };
}

/** The entity an extension write addresses. */
export type ExtensionTarget =
  | { readonly kind: 'service' /** The extension's stored value, if it exists. */; readonly current: unknown }
  | { readonly kind: 'state'; readonly state: StateRecord }
  | { readonly kind: 'task'; readonly task: TaskRecord };

/** SRV.4 / SRV.17 / SRV.18 and merge: replace or merge one extension of one entity. */
export function setExtension(
  tenant: string,
  s: ServiceRecord,
  target: ExtensionTarget,
  name: string,
  value: unknown,
  merge: boolean,
  now: number,
  cfg: RuleConfig,
): Change {
  const apply = (ext: Readonly<Record<string, unknown>>) =>
    withExtensions(
      ext,
      { [name]: extensionValue(Object.hasOwn(ext, name) ? ext[name] : undefined, value, merge, name) },
      cfg,
    );
  const change = (
    service: ServiceRecord,
    states: StateRecord[],
    tasks: TaskRecord[],
    extra: { state_id?: number; task_id?: number },
    serviceExt?: Record<string, unknown>,
  ): Change => {
    const ev: ContextEvent = {
      type: 'service.updated',
      ...base(tenant, s, now),
      change: 'extensions',
      name,
      ...extra,
    };
    return {
      service: touch(service, now, cfg),
      states,
      tasks,
      ...(serviceExt ? { serviceExt } : {}),
      events: [ev],
    };
  };
  switch (target.kind) {
    case 'service': {
      const add = { [name]: extensionValue(target.current, value, merge, name) };
      return change({ ...s, ext_names: extensionNames(s.ext_names, add, cfg) }, [], [], {}, add);
    }
    case 'state': {
      const st = { ...target.state, ext: apply(target.state.ext) };
      return change(s, [st], [], { state_id: st.id });
    }
    case 'task': {
      const t = { ...target.task, ext: apply(target.task.ext) };
      return change(s, [], [t], { task_id: t.id });
    }
  }
}
