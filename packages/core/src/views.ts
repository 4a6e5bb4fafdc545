/** Stored records → the representations of docs/spec.md §3.2, with the embedding and extension selection of §5. */
import type { EventView, ServiceView, StateView, TaskView } from './api.js';
import type { EventRecord, ServiceRecord, StateRecord, TaskRecord } from './records.js';
import { EVENT_FIELDS } from './records.js';
import { formatInstant } from './time.js';

/** Which extensions to show at one level of a response. */
type ExtFilter = (name: string) => boolean;

const NONE: ExtFilter = () => false;

/**
 * Compile extension selectors for the entity kind a query is about (`top`) and for nested kinds:
 * a plain name selects on the top entity; `State.X`/`Task.X` on nested ones; `State`, `State.*`,
 * `Task`, `Task.*` select all of a nested kind; `*` everything.
 */
export function extensionFilters(
  selectors: readonly string[] | undefined,
  top: 'Service' | 'State' | 'Task',
): { top: ExtFilter; State: ExtFilter; Task: ExtFilter } {
  if (selectors === undefined || selectors.length === 0) return { top: NONE, State: NONE, Task: NONE };
  const build = (kind: 'top' | 'State' | 'Task'): ExtFilter => {
    const names = new Set<string>();
    let all = false;
    for (const sel of selectors) {
      if (sel === '*') all = true;
      else if (kind !== 'top' && (sel === kind || sel === `${kind}.*`)) all = true;
      else if (kind !== 'top' && sel.startsWith(`${kind}.`)) names.add(sel.slice(kind.length + 1));
      else if (kind === 'top' && !/^(State|Task)(\.|$)/.test(sel)) names.add(sel);
      else if (kind === 'top' && top !== 'Service' && (sel === top || sel === `${top}.*`)) all = true;
      else if (kind === 'top' && top !== 'Service' && sel.startsWith(`${top}.`))
        names.add(sel.slice(top.length + 1));
    }
    return all ? () => true : (n) => names.has(n);
  };
  return { top: build('top'), State: build('State'), Task: build('Task') };
}

function eventView(e: EventRecord): EventView {
  const v: Record<string, unknown> = { timestamp: formatInstant(e.ts) };
  for (const f of EVENT_FIELDS) if (e[f] !== undefined) v[f] = e[f];
  return v as unknown as EventView;
}

function common(
  r: {
    started: EventRecord;
    completed?: EventRecord;
    est_duration?: number;
    disposition?: unknown;
    disposition_desc?: string;
  },
  out: Record<string, unknown>,
): void {
  if (r.est_duration !== undefined) out.est_duration = r.est_duration;
  out.started = eventView(r.started);
  if (r.completed !== undefined) {
    out.completed = eventView(r.completed);
    if (r.disposition !== undefined) out.disposition = r.disposition;
    if (r.disposition_desc !== undefined) out.disposition_desc = r.disposition_desc;
    out.duration = r.completed.ts - r.started.ts;
  }
}

function addExtensions(
  ext: Readonly<Record<string, unknown>>,
  filter: ExtFilter,
  out: Record<string, unknown>,
): void {
  for (const [name, value] of Object.entries(ext)) if (filter(name)) out[name] = value;
}

/** Lists are ordered by start time ascending, ties by id (docs/spec.md §3.2). */
export function byStart<T extends { started: EventRecord; id: number }>(a: T, b: T): number {
  return a.started.ts - b.started.ts || a.id - b.id;
}

export function taskView(t: TaskRecord, ext: ExtFilter, serviceId?: string): TaskView {
  const out: Record<string, unknown> = {};
  if (serviceId !== undefined) out.service_id = serviceId;
  out.task_id = t.id;
  if (t.task_type !== undefined) out.task_type = t.task_type;
  if (t.state_id !== undefined) out.state_id = t.state_id;
  common(t, out);
  addExtensions(t.ext ?? {}, ext, out);
  return out as TaskView;
}

export interface StateEmbed {
  active_tasks?: boolean;
  completed_tasks?: boolean;
}

export function stateView(
  st: StateRecord,
  tasksOfState: readonly TaskRecord[],
  embed: StateEmbed,
  ext: { top: ExtFilter; Task: ExtFilter },
  serviceId?: string,
): StateView {
  const out: Record<string, unknown> = {};
  if (serviceId !== undefined) out.service_id = serviceId;
  out.state_id = st.id;
  if (st.state_type !== undefined) out.state_type = st.state_type;
  if (st.previous_state_id !== undefined) out.previous_state_id = st.previous_state_id;
  common(st, out);
  if (embed.active_tasks)
    out.active_tasks = tasksOfState.filter((t) => !t.completed).map((t) => taskView(t, ext.Task));
  if (embed.completed_tasks)
    out.completed_tasks = tasksOfState.filter((t) => t.completed).map((t) => taskView(t, ext.Task));
  addExtensions(st.ext ?? {}, ext.top, out);
  return out as StateView;
}

export interface ServiceEmbed {
  active_states?: boolean;
  completed_states?: boolean;
  active_tasks?: boolean;
  completed_tasks?: boolean;
}

/**
 * `ext`: the service's extensions (only those the filter may select are needed); `states` and
 * `tasks` sorted by start, needed only when something is embedded.
 */
export function serviceView(
  s: ServiceRecord,
  serviceExt: Readonly<Record<string, unknown>>,
  states: readonly StateRecord[],
  tasks: readonly TaskRecord[],
  embed: ServiceEmbed,
  ext: { top: ExtFilter; State: ExtFilter; Task: ExtFilter },
): ServiceView {
  const out: Record<string, unknown> = { service_id: s.id };
  if (s.service_type !== undefined) out.service_type = s.service_type;
  if (s.customer_id !== undefined) out.customer_id = s.customer_id;
  if (s.contact_key !== undefined) out.contact_key = s.contact_key;
  common(s, out);
  const st = (x: StateRecord) => stateView(x, [], {}, { top: ext.State, Task: ext.Task });
  if (embed.active_states) out.active_states = states.filter((x) => !x.completed).map(st);
  if (embed.completed_states) out.completed_states = states.filter((x) => x.completed).map(st);
  if (embed.active_tasks)
    out.active_tasks = tasks.filter((t) => !t.completed).map((t) => taskView(t, ext.Task));
  if (embed.completed_tasks)
    out.completed_tasks = tasks.filter((t) => t.completed).map((t) => taskView(t, ext.Task));
  addExtensions(serviceExt, ext.top, out);
  return out as ServiceView;
}

/** True when a service query needs the states and tasks loaded. */
export function needsChildren(q: ServiceEmbed): boolean {
  return Boolean(q.active_states || q.completed_states || q.active_tasks || q.completed_tasks);
}
