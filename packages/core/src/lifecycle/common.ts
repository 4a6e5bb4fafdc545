/**
 * What every lifecycle rule shares: the settings, the shape of a change, event records, the
 * write stamp (`touch`) and the checks of L1, L2 and L6.
 */
import type { TypeValue } from '../api.js';
import { ContextServicesError } from '../errors.js';
import type { ContextEvent } from '../events.js';
import type { EventRecord, ServiceRecord, StateRecord, TaskRecord } from '../records.js';
import { EVENT_FIELDS } from '../records.js';
import { formatInstant, parseInstant } from '../time.js';

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
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
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
 * Stamp a write at `now` (docs/spec.md §7.2, §7.3): bump the version, push the expiry to now + lifetime
 * unless an absolute expiration_time holds, and move the auto-complete deadline.
 */
export function touch(s: ServiceRecord, now: number, cfg: RuleConfig): ServiceRecord {
  const expires = s.expiration_time ?? now + (s.ttl !== undefined ? s.ttl * 1000 : s.lifetime);
  const delay = s.auto_complete_after ?? cfg.autoCompleteAfter;
  const autoAt =
    s.completed === undefined && cfg.autoCompleteEnabled && delay !== undefined
      ? now + delay * 1000
      : undefined;
  // compact({ ...s, version, updated, expires, auto_at }) in one copy, keys in the same order.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(s)) {
    const v = k === 'auto_at' ? autoAt : (s as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  out.version = s.version + 1;
  out.updated = now;
  out.expires = expires;
  if (autoAt !== undefined) out.auto_at = autoAt;
  return out as unknown as ServiceRecord;
}

export function base(tenant: string, s: ServiceRecord, ts: number) {
  return { tenant, service_id: s.id, timestamp: formatInstant(ts) };
}

export function alreadyCompleted(what: string): ContextServicesError {
  return new ContextServicesError('ALREADY_COMPLETED', `The ${what} is already completed`, {
    details: { entity: what },
  });
}

/** L6: a completion may not precede the start. */
export function checkCompletion(what: string, started: EventRecord, completedTs: number): void {
  if (completedTs < started.ts) {
    throw new ContextServicesError(
      'COMPLETED_BEFORE_START',
      `The completion timestamp of the ${what} (${formatInstant(completedTs)}) is earlier than its start (${formatInstant(started.ts)})`,
      { details: { entity: what } },
    );
  }
}

export function checkChildLimit(s: ServiceRecord, adding: number, cfg: RuleConfig): void {
  if (s.children + adding > cfg.entitiesPerService) {
    throw new ContextServicesError(
      'LIMIT_EXCEEDED',
      `Too many states and tasks in service ${s.id}: the limit is ${cfg.entitiesPerService}`,
      { details: { field: 'states + tasks', limit: cfg.entitiesPerService } },
    );
  }
}

export interface EndInput extends EventInput {
  readonly disposition?: TypeValue;
  readonly disposition_desc?: string;
}

/**
 * End the given active states and tasks with the same event (L2). `clamp` (auto-complete) moves a
 * child's completion to its own start when the shared instant precedes it; otherwise that is L6.
 */
export function cascade(
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
