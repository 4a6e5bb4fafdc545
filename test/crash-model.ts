/**
 * The crash test's model, shared by the child (to choose valid operations) and the parent (to
 * check what survived a SIGKILL): the operations the child performs, what each does to a service,
 * and the comparable summary of a service read back through the engine.
 */
import { isDeepStrictEqual } from 'node:util';
import { DOCUMENTED_FIELDS, type JsonObject, type ServiceView } from '@cxs/core';

/** One engine operation of the child, with everything needed to replay it on the model. */
export type CrashOp =
  | { k: 'start'; sid: string; customer?: string; contact?: string }
  | { k: 'end'; sid: string }
  | { k: 'state'; sid: string; id: number }
  | { k: 'endState'; sid: string; id: number }
  | { k: 'task'; sid: string; id: number; state?: number }
  | { k: 'endTask'; sid: string; id: number }
  | { k: 'put'; sid: string; name: string; value: JsonObject }
  | { k: 'merge'; sid: string; name: string; value: JsonObject }
  | { k: 'assoc'; sid: string; customer: string }
  | { k: 'del'; sid: string };

/** What the model knows of one service. */
export interface ModelService {
  sid: string;
  customer?: string;
  completed: boolean;
  /** state id → completed */
  states: Record<string, boolean>;
  /** task id → completed and owning state */
  tasks: Record<string, { done: boolean; state?: number }>;
  /** Service-level extensions. */
  ext: Record<string, unknown>;
}

/** Every service the model knows, by id. */
export type Model = Map<string, ModelService>;

/** The id the engine will give the next state (ids are per service, from 1, never reused). */
export const nextStateId = (s: ModelService) => Object.keys(s.states).length + 1;
/** The id the engine will give the next task. */
export const nextTaskId = (s: ModelService) => Object.keys(s.tasks).length + 1;

/** Apply one acknowledged operation to the model (L2: ends cascade to active children). */
export function apply(model: Model, op: CrashOp): void {
  if (op.k === 'start') {
    const s: ModelService = { sid: op.sid, completed: false, states: {}, tasks: {}, ext: {} };
    if (op.customer !== undefined) s.customer = op.customer;
    model.set(op.sid, s);
    return;
  }
  const s = model.get(op.sid);
  if (s === undefined) throw new Error(`model: ${op.k} on unknown service ${op.sid}`);
  switch (op.k) {
    case 'end':
      s.completed = true;
      for (const id of Object.keys(s.states)) s.states[id] = true;
      for (const t of Object.values(s.tasks)) t.done = true;
      break;
    case 'state':
      s.states[op.id] = false;
      break;
    case 'endState':
      s.states[op.id] = true;
      for (const t of Object.values(s.tasks)) if (t.state === op.id) t.done = true;
      break;
    case 'task':
      s.tasks[op.id] = op.state === undefined ? { done: false } : { done: false, state: op.state };
      break;
    case 'endTask': {
      const t = s.tasks[op.id];
      if (t === undefined) throw new Error(`model: endTask on unknown task ${op.id}`);
      t.done = true;
      break;
    }
    case 'put':
      s.ext[op.name] = op.value;
      break;
    case 'merge':
      s.ext[op.name] = { ...(s.ext[op.name] as Record<string, unknown> | undefined), ...op.value };
      break;
    case 'assoc':
      s.customer = op.customer;
      break;
    case 'del':
      model.delete(op.sid);
      break;
  }
}

/** A service as compared: customer, completion, children's completion, extensions. */
export interface Summary {
  customer: string | null;
  completed: boolean;
  states: [number, boolean][];
  tasks: [number, boolean][];
  ext: Record<string, unknown>;
}

const byId = (a: [number, boolean], b: [number, boolean]) => a[0] - b[0];

/** The summary the model expects. */
export function expected(s: ModelService): Summary {
  return {
    customer: s.customer ?? null,
    completed: s.completed,
    states: Object.entries(s.states)
      .map(([id, done]): [number, boolean] => [Number(id), done])
      .sort(byId),
    tasks: Object.entries(s.tasks)
      .map(([id, t]): [number, boolean] => [Number(id), t.done])
      .sort(byId),
    ext: s.ext,
  };
}

/** The summary of a service read with every state, task and extension embedded. */
export function observed(v: ServiceView): Summary {
  const states = (list: { state_id: number }[] | undefined, done: boolean) =>
    (list ?? []).map((x): [number, boolean] => [x.state_id, done]);
  // A task carries `state_id` too when it belongs to a state: its own id is `task_id`.
  const tasks = (list: { task_id: number }[] | undefined, done: boolean) =>
    (list ?? []).map((x): [number, boolean] => [x.task_id, done]);
  const ext: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(v)) if (!DOCUMENTED_FIELDS.has(k)) ext[k] = value;
  return {
    customer: v.customer_id ?? null,
    completed: v.completed !== undefined,
    states: [...states(v.active_states, false), ...states(v.completed_states, true)].sort(byId),
    tasks: [...tasks(v.active_tasks, false), ...tasks(v.completed_tasks, true)].sort(byId),
    ext,
  };
}

/** Deep equality of two summaries (absent service = undefined). */
export function same(a: Summary | undefined, b: Summary | undefined): boolean {
  return isDeepStrictEqual(a, b);
}

/** Line protocol child → parent: `i` = about to call, `a` = the call resolved, `e` = unexpected error. */
export type CrashLine =
  | { t: 'ready' }
  | { t: 'i'; w: number; n: number; op: CrashOp }
  | { t: 'a'; w: number; n: number }
  | { t: 'e'; w: number; message: string };
