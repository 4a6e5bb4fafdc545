import type { CallOptions, ContextServices } from '@cxs/core';

/** The task type our application uses for "call me back" requests. */
export const CALLBACK = 'callback';

/** What {@link requestCallback} did. */
export type CallbackOutcome =
  | { readonly status: 'created'; readonly task_id: number }
  | { readonly status: 'pending'; readonly task_id: number }
  | { readonly status: 'refused' };

/**
 * Our application's rule for callbacks: a customer may ask to be called back while their service
 * is active; asking again while a callback is pending returns that one; once the service has
 * ended no callback is offered. (The engine itself allows tasks on a completed service — docs/spec.md L3 —
 * so this rule is ours to keep, and ours to test.)
 */
export async function requestCallback(
  cs: ContextServices,
  serviceId: string,
  options?: CallOptions,
): Promise<CallbackOutcome> {
  const service = await cs.getService(serviceId, { active_tasks: true }, options);
  if (service.completed !== undefined) return { status: 'refused' };
  const pending = service.active_tasks?.find((t) => t.task_type === CALLBACK);
  if (pending !== undefined) return { status: 'pending', task_id: pending.task_id };
  const { task_id } = await cs.startTask(serviceId, { task_type: CALLBACK }, options);
  return { status: 'created', task_id };
}

/** The same rule written carelessly: it forgets to check that the service is still active. */
export async function requestCallbackCareless(
  cs: ContextServices,
  serviceId: string,
  options?: CallOptions,
): Promise<CallbackOutcome> {
  const service = await cs.getService(serviceId, { active_tasks: true }, options);
  const pending = service.active_tasks?.find((t) => t.task_type === CALLBACK);
  if (pending !== undefined) return { status: 'pending', task_id: pending.task_id };
  const { task_id } = await cs.startTask(serviceId, { task_type: CALLBACK }, options);
  return { status: 'created', task_id };
}
