import { describe, expect, it } from 'vitest';
import { createContextServices, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { rejects, setup } from './helpers.js';

describe('tenancy (docs/spec.md §9)', () => {
  it('isolates tenants completely', async () => {
    const { cs } = await setup();
    const A = { tenant: 'A' };
    const B = { tenant: 'B' };
    const { service_id: sid } = await cs.startService({ customer_id: 'C', contact_key: 'K' }, A);
    await cs.startService({ contact_key: 'K' }, A);
    await rejects(cs.getService(sid, {}, B), 'SERVICE_NOT_FOUND');
    await rejects(cs.getService(sid), 'SERVICE_NOT_FOUND');
    await rejects(cs.startTask(sid, {}, B), 'SERVICE_NOT_FOUND');
    await rejects(cs.deleteService(sid, B), 'SERVICE_NOT_FOUND');
    expect(await cs.listCustomerServices('C', {}, B)).toEqual([]);
    expect(await cs.listAnonymousServices('K', {}, B)).toEqual([]);
    expect(await cs.listCustomerServices('C', {}, A)).toHaveLength(1);
    expect(await cs.purge({ limit: '2100-01-01T00:00:00Z', operation: 'purge.service.all' }, B)).toEqual({
      purged: 0,
    });
    const exportB: unknown[] = [];
    for await (const x of await cs.exportServices({ time_from: '2000-01-01T00:00:00Z' }, B)) exportB.push(x);
    expect(exportB).toEqual([]);
    const composite = await cs.compositeStart(
      { services: [{ service: { customer_id: 'C', contact_key: 'K' }, state: {} }] },
      B,
    );
    expect(composite.services[0]?.service_created).toBe(true);
  });
});

describe('events (docs/spec.md §7.4)', () => {
  it('are emitted after commit, typed, and never for rejected calls', async () => {
    const { cs, events } = await setup();
    const seen: string[] = [];
    const off = cs.on('task.started', (e) => seen.push(`${e.type}:${e.task_id}`));
    const { service_id: sid } = await cs.startService({ contact_key: 'K' });
    await cs.startTask(sid, {});
    off();
    await cs.startTask(sid, {});
    expect(seen).toEqual(['task.started:1']);
    const count = events.length;
    await rejects(cs.endTask(sid, 7), 'TASK_NOT_FOUND');
    await rejects(cs.startService({}), 'VALIDATION_FAILED');
    expect(events).toHaveLength(count);
    await cs.associate('C', sid);
    await cs.putExtension({ service_id: sid, task_id: 1 }, 'X', {});
    await cs.updateExpiration(sid, { ttl: 10 });
    await cs.endService(sid);
    await cs.deleteService(sid);
    expect(events.map((e) => e.type)).toEqual([
      'service.started',
      'task.started',
      'task.started',
      'service.associated',
      'service.updated',
      'service.updated',
      'task.completed',
      'task.completed',
      'service.completed',
      'service.deleted',
    ]);
    expect(events.find((e) => e.type === 'service.completed')).toMatchObject({
      reason: 'ended',
      service_id: sid,
      tenant: '',
    });
  });

  it('a listener that throws does not break the write or other listeners', async () => {
    const errors: unknown[] = [];
    const cs = await createContextServices({
      store: new MemoryStore(),
      clock: new SimulatedClock(),
      onListenerError: (e) => errors.push(e),
    });
    const seen: string[] = [];
    cs.on('service.started', () => {
      throw new Error('boom');
    });
    cs.on('service.started', (e) => seen.push(e.service_id));
    const { service_id } = await cs.startService({ customer_id: 'C' });
    expect(seen).toEqual([service_id]);
    expect(errors).toHaveLength(1);
  });
});
