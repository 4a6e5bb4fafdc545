import type { ContextServices } from '@cxs/core';

/**
 * The IVR's side of a call, written against the Context Services engine. A caller is known by
 * phone number (the contact key) until they identify themselves; a dropped call leaves the
 * service open so that a call back finds it again.
 */
export class Ivr {
  constructor(private readonly cs: ContextServices) {}

  /**
   * A call arrives: continue the caller's open anonymous service if there is one (they called
   * before and the call dropped), else start one. Either way a new "identification" state begins.
   */
  async callArrives(phone: string): Promise<{ serviceId: string; stateId: number; resumed: boolean }> {
    const [open] = await this.cs.listAnonymousServices(phone, { status: 'active' });
    const serviceId =
      open?.service_id ??
      (await this.cs.startService({ contact_key: phone, service_type: 'billing', media_type: 'voice' }))
        .service_id;
    const { state_id } = await this.cs.startState(serviceId, {
      state_type: 'identification',
      media_type: 'voice',
    });
    return { serviceId, stateId: state_id, resumed: open !== undefined };
  }

  /** The caller starts entering their account number. */
  async askAccount(serviceId: string, stateId: number): Promise<number> {
    return (await this.cs.startTask(serviceId, { task_type: 'ask-account', state_id: stateId })).task_id;
  }

  /** The line drops: the state ends (its open tasks with it); the service stays open for a call back. */
  async callDrops(serviceId: string, stateId: number): Promise<void> {
    await this.cs.endState(serviceId, stateId, { disposition: 'dropped' });
  }

  /** The caller is identified: the service is attached to the customer, then the bill is fixed. */
  async identified(serviceId: string, stateId: number, customerId: string, taskId: number): Promise<void> {
    await this.cs.endTask(serviceId, taskId, { disposition: 'ok' });
    await this.cs.associate(customerId, serviceId, { Verification: { method: 'account-number' } });
    const { state_id } = await this.cs.transition(serviceId, {
      from: { state_id: stateId, disposition: 'identified' },
      to: { state_type: 'fix-bill' },
    });
    const { task_id } = await this.cs.startTask(serviceId, { task_type: 'refund', state_id });
    await this.cs.endTask(serviceId, task_id, { disposition: 'refunded', Refund: { amount: 12.5 } });
    await this.cs.endService(serviceId, { disposition: 'resolved', disposition_desc: 'bill corrected' });
  }
}
