/**
 * The "conversation" of the original system's published figure: 1 service + 5 states + 10 tasks,
 * 33 requests: start service, 5 × (start state, 2 × (start task, end task), end state), end
 * service, get service with its states and tasks. Shared by the HTTP and the in-process suites so
 * that both send the same bodies.
 */
import type { ContextServices, ServiceStartEventBody, TaskStartEventBody } from '@cxs/core';

/** States per conversation. */
export const STATES = 5;
/** Tasks per state. */
export const TASKS_PER_STATE = 2;
/** Requests per conversation: 1 + 5 × (1 + 2 × 2 + 1) + 1 + 1. */
export const REQUESTS_PER_CONVERSATION = 1 + STATES * (2 + TASKS_PER_STATE * 2) + 2;

/** A service start event of a realistic size (about 250 bytes of JSON). */
export function serviceStartBody(i: number): ServiceStartEventBody {
  return {
    customer_id: `customer-${String(i % 100_000).padStart(6, '0')}`,
    service_type: 'booking',
    interaction_id: `0000${String(i).padStart(12, '0')}a1b2c3d4e5f6`,
    session_id: 'a3f9c2d1e8b74a6f',
    media_type: 'voice',
    application_type: 'ivr',
    application_id: 1201,
    resource_type: 'platform',
    resource_id: 42,
    est_duration: 600,
    Booking: { hotel: 'Grand Hotel', city: 'Paris', nights: 2 },
  };
}

/** The same start event serialized once: HTTP clients send it as is. */
export const SERVICE_START_JSON = JSON.stringify(serviceStartBody(123_456));

export const STATE_START = { state_type: 'collect-info', media_type: 'voice', est_duration: 120 };
export const STATE_END = { disposition: 'collected', disposition_desc: 'dates and city known' };
export const TASK_END = { disposition: 'done' };
export const SERVICE_END = { disposition: 'resolved', disposition_desc: 'booked' };

/** A task start event bound to a state. */
export function taskStartBody(stateId: number): TaskStartEventBody {
  return { task_type: 'ask-dates', state_id: stateId, media_type: 'voice' };
}

/** The query that embeds every state and task of a service. */
export const ALL_CHILDREN = {
  active_states: true,
  completed_states: true,
  active_tasks: true,
  completed_tasks: true,
} as const;

/** One conversation through the engine: the 33 operations, in order. */
export async function engineConversation(cs: ContextServices, i: number): Promise<void> {
  const { service_id } = await cs.startService(serviceStartBody(i));
  for (let s = 0; s < STATES; s++) {
    const { state_id } = await cs.startState(service_id, STATE_START);
    for (let t = 0; t < TASKS_PER_STATE; t++) {
      const { task_id } = await cs.startTask(service_id, taskStartBody(state_id));
      await cs.endTask(service_id, task_id, TASK_END);
    }
    await cs.endState(service_id, state_id, STATE_END);
  }
  await cs.endService(service_id, SERVICE_END);
  await cs.getService(service_id, ALL_CHILDREN);
}
