/** Fields every event carries. `timestamp` is the ISO instant of the change it reports. */
interface Base {
  tenant: string;
  service_id: string;
  timestamp: string;
}

/**
 * Events emitted after each committed write (SPEC §7.4): never before commit, never for a
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
export type EventOf<T extends ContextEventType> = Extract<ContextEvent, { type: T }>;
