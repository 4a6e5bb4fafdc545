/** The representations of docs/spec.md §3.2 as the page reads them, and what sets extensions apart. */

/** `started` / `completed`: the event fields of an entity. */
export interface EventFields {
  timestamp: string;
  [field: string]: unknown;
}

/** Fields every service, state and task has. */
export interface Entity {
  started: EventFields;
  completed?: EventFields;
  duration?: number;
  est_duration?: number;
  disposition?: string | number;
  disposition_desc?: string;
  [field: string]: unknown;
}

export interface Task extends Entity {
  task_id: number;
  task_type?: string | number;
  state_id?: number;
}

export interface State extends Entity {
  state_id: number;
  state_type?: string | number;
}

export interface Service extends Entity {
  service_id: string;
  service_type?: string | number;
  customer_id?: string;
  contact_key?: string;
  active_states?: State[];
  completed_states?: State[];
  active_tasks?: Task[];
  completed_tasks?: Task[];
}

/** What the page selected on the timeline. */
export type Selection =
  | { kind: 'service'; service: Service }
  | { kind: 'state'; service: Service; state: State }
  | { kind: 'task'; service: Service; task: Task };

const COMMON = ['started', 'completed', 'duration', 'est_duration', 'disposition', 'disposition_desc'];

/** The documented fields of each kind; any other key is an extension (docs/spec.md §3.1). */
export const FIELDS: Record<Selection['kind'], ReadonlySet<string>> = {
  service: new Set([
    ...COMMON,
    'service_id',
    'service_type',
    'customer_id',
    'contact_key',
    'active_states',
    'completed_states',
    'active_tasks',
    'completed_tasks',
  ]),
  state: new Set([...COMMON, 'state_id', 'state_type', 'active_tasks', 'completed_tasks']),
  task: new Set([...COMMON, 'task_id', 'task_type', 'state_id']),
};

/** The extensions of an entity: its keys that are not documented fields. */
export function extensionsOf(entity: Entity, kind: Selection['kind']): [string, unknown][] {
  return Object.entries(entity).filter(([key]) => !FIELDS[kind].has(key));
}

/** Every state of a service, in start order. */
export function statesOf(service: Service): State[] {
  return [...(service.active_states ?? []), ...(service.completed_states ?? [])].sort(byStart);
}

/** Every task of a service, in start order. */
export function tasksOf(service: Service): Task[] {
  return [...(service.active_tasks ?? []), ...(service.completed_tasks ?? [])].sort(byStart);
}

function byStart(a: Entity, b: Entity): number {
  return a.started.timestamp.localeCompare(b.started.timestamp);
}

/** The media of a task or state: `media_type` of its start event, else of its end event. */
export function mediaOf(entity: Entity): string | undefined {
  const media = entity.started.media_type ?? entity.completed?.media_type;
  return media === undefined ? undefined : String(media);
}
