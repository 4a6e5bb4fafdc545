/** Fields every event carries. `timestamp` is the ISO instant of the change it reports. */
interface Base {
  tenant: string;
  service_id: string;
  timestamp: string;
}

/**
 * Events emitted after each committed write (docs/spec.md §7.4): never before commit, never for a
 * rejected call.
 */
export type ContextEvent =
  | (Base & { type: 'service.started'; customer_id?: string; contact_key?: string })
  | (Base & { type: 'service.completed'; reason: 'ended' | 'auto-completed' })
  | (Base & { type: 'service.associated'; customer_id: string; previous_customer_id?: string })
  | (Base & {
      type: 'service.updated';
      change: 'extensions' | 'expiration';
      name?: string;
      state_id?: number;
      task_id?: number;
    })
  | (Base & { type: 'service.deleted'; reason: 'deleted' | 'expired' | 'purged' })
  | (Base & { type: 'state.started'; state_id: number })
  | (Base & { type: 'state.completed'; state_id: number })
  | (Base & { type: 'state.transitioned'; from_state_id: number; state_id: number })
  | (Base & { type: 'task.started'; task_id: number; state_id?: number })
  | (Base & { type: 'task.completed'; task_id: number; state_id?: number });

export type ContextEventType = ContextEvent['type'];

/** Every event type of docs/spec.md §7.4. */
export const CONTEXT_EVENT_TYPES: readonly ContextEventType[] = Object.freeze([
  'service.started',
  'service.completed',
  'service.associated',
  'service.updated',
  'service.deleted',
  'state.started',
  'state.completed',
  'state.transitioned',
  'task.started',
  'task.completed',
] as const);
export type EventOf<T extends ContextEventType> = Extract<ContextEvent, { type: T }>;

/**
 * An event as the change log keeps it (docs/spec.md §12): its service's `customer_id` and `contact_key`
 * as they were when the write committed (absent when the service had none).
 */
export type ChangeEvent = ContextEvent & { customer_id?: string; contact_key?: string };

/** One entry of the change log: the event and its position in the tenant's log. */
export interface ChangeEntry {
  /** Grows with every entry of the tenant; resume after it with `since`. */
  readonly position: number;
  readonly event: ChangeEvent;
}
