/** The rules of states and tasks: start (L3, L4), end (L1, L2, L6), transition (L5). */
import type { TypeValue } from '../api.js';
import { ContextServicesError } from '../errors.js';
import type { ContextEvent } from '../events.js';
import type { EventRecord, ServiceRecord, StateRecord, TaskRecord } from '../records.js';
import { formatInstant } from '../time.js';
import {
  alreadyCompleted,
  base,
  type Change,
  cascade,
  checkChildLimit,
  checkCompletion,
  compact,
  type EndInput,
  type EventInput,
  eventRecord,
  type RuleConfig,
  touch,
} from './common.js';
import { withExtensions } from './extensions.js';

function complete<T extends StateRecord | TaskRecord>(entity: T, ended: EventRecord, input: EndInput): T {
  return compact({
    ...entity,
    completed: ended,
    disposition: input.disposition ?? entity.disposition,
    disposition_desc: input.disposition_desc ?? entity.disposition_desc,
  }) as unknown as T;
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
  const state: StateRecord = withExtensions(
    compact({
      id: s.next_state,
      state_type: input.state_type,
      previous_state_id: input.previous_state_id,
      est_duration: input.est_duration,
      started: eventRecord(input, now),
      ext_names: [],
    }),
    extensions,
    cfg,
  );
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
  const done = withExtensions(complete(state, ended, input), extensions, cfg);
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
  const task: TaskRecord = withExtensions(
    compact({
      id: s.next_task,
      task_type: input.task_type,
      state_id: input.state_id,
      est_duration: input.est_duration,
      started: eventRecord(input, now),
      ext_names: [],
    }),
    extensions,
    cfg,
  );
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
  const done = withExtensions(complete(task, ended, input), extensions, cfg);
  const ev: ContextEvent = compact({
    type: 'task.completed' as const,
    ...base(tenant, s, ended.ts),
    task_id: task.id,
    state_id: task.state_id,
  });
  return { service: touch(s, now, cfg), states: [], tasks: [done], events: [ev] };
}
