import { type ContextEvent, type ContextServices, createContextServices } from '@cxs/core';
import { LevelStore } from '@cxs/level';
import { Ivr } from './ivr.js';

/** Open the engine on a LevelDB directory and log every lifecycle event with `log`. */
export async function openEngine(location: string, log: (line: string) => void): Promise<ContextServices> {
  const cs = await createContextServices({ store: new LevelStore({ location }) });
  cs.on('*', (e: ContextEvent) => log(describe(e)));
  return cs;
}

function describe(e: ContextEvent): string {
  const ids = [
    'state_id' in e ? `state ${e.state_id}` : '',
    'task_id' in e ? `task ${e.task_id}` : '',
    'reason' in e ? e.reason : '',
    'customer_id' in e && e.customer_id !== undefined ? `customer ${e.customer_id}` : '',
    'contact_key' in e && e.contact_key !== undefined ? `contact ${e.contact_key}` : '',
  ].filter((x) => x !== '');
  return `${e.timestamp} ${e.type} ${ids.join(' ')}`.trimEnd();
}

/**
 * The whole story: an anonymous call that drops, a call back from the same number that finds the
 * service again, identification, and the bill fixed. Returns the service id.
 */
export async function runCallFlow(cs: ContextServices, phone: string, customerId: string): Promise<string> {
  const ivr = new Ivr(cs);
  const first = await ivr.callArrives(phone);
  await ivr.askAccount(first.serviceId, first.stateId);
  await ivr.callDrops(first.serviceId, first.stateId);

  const again = await ivr.callArrives(phone);
  if (!again.resumed || again.serviceId !== first.serviceId)
    throw new Error('the call back did not find the service');
  const task = await ivr.askAccount(again.serviceId, again.stateId);
  await ivr.identified(again.serviceId, again.stateId, customerId, task);
  return again.serviceId;
}
