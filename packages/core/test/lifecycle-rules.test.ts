import { describe, expect, it } from 'vitest';
import { iso, rejects, rejectsUnchanged, setup, T0, withoutChangeLog } from './helpers.js';

const all = { active_states: true, completed_states: true, active_tasks: true, completed_tasks: true };

describe('docs/spec.md §7.1 lifecycle rules', () => {
  it('L1: an entity is active until completed; completing twice is rejected and changes nothing', async () => {
    const { cs, store, clock } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { state_id } = await cs.startState(sid, { state_type: 'a' });
    const { task_id } = await cs.startTask(sid, { task_type: 't' });
    expect((await cs.getService(sid)).completed).toBeUndefined();
    clock.advance(1000);
    await cs.endTask(sid, task_id, { disposition: 'ok' });
    await rejectsUnchanged(
      store,
      () => cs.endTask(sid, task_id, { disposition: 'again' }),
      'ALREADY_COMPLETED',
    );
    await cs.endState(sid, state_id);
    await rejectsUnchanged(store, () => cs.endState(sid, state_id), 'ALREADY_COMPLETED');
    await cs.endService(sid, { disposition: 'done' });
    await rejectsUnchanged(store, () => cs.endService(sid, { disposition: 'other' }), 'ALREADY_COMPLETED');
    const s = await cs.getService(sid);
    expect(s.disposition).toBe('done');
    expect(s.completed?.timestamp).toBe(iso(T0 + 1000));
    expect(s.duration).toBe(1000);
  });

  it('L2: ending a service completes its active states and tasks atomically with the same timestamp', async () => {
    const { cs, clock, events } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { state_id: s1 } = await cs.startState(sid, { state_type: 'a' });
    const { state_id: s2 } = await cs.startState(sid, { state_type: 'b' });
    await cs.startTask(sid, { task_type: 'in-state', state_id: s1 });
    await cs.startTask(sid, { task_type: 'loose' });
    clock.advance(500);
    await cs.endState(sid, s2, { disposition: 'early' });
    clock.advance(500);
    await cs.endService(sid, { timestamp: iso(T0 + 900) });
    const s = await cs.getService(sid, all);
    expect(s.active_states).toEqual([]);
    expect(s.active_tasks).toEqual([]);
    const byId = new Map(s.completed_states?.map((x) => [x.state_id, x]));
    expect(byId.get(s1)?.completed?.timestamp).toBe(iso(T0 + 900));
    expect(byId.get(s2)?.completed?.timestamp).toBe(iso(T0 + 500));
    expect(s.completed_tasks?.map((t) => t.completed?.timestamp)).toEqual([iso(T0 + 900), iso(T0 + 900)]);
    expect(events.filter((e) => e.type === 'task.completed')).toHaveLength(2);
  });

  it('L2: ending a state completes its own active tasks only', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ contact_key: 'K' });
    const { state_id: a } = await cs.startState(sid, {});
    const { state_id: b } = await cs.startState(sid, {});
    const { task_id: ta } = await cs.startTask(sid, { state_id: a });
    const { task_id: tb } = await cs.startTask(sid, { state_id: b });
    const { task_id: tl } = await cs.startTask(sid, {});
    await cs.endState(sid, a, { timestamp: '2026-01-01T00:00:00.000Z' });
    expect((await cs.getTask(sid, ta)).completed?.timestamp).toBe('2026-01-01T00:00:00.000Z');
    expect((await cs.getTask(sid, tb)).completed).toBeUndefined();
    expect((await cs.getTask(sid, tl)).completed).toBeUndefined();
  });

  it('L3: states and tasks may start on a completed service; references must name a state of the same service', async () => {
    const { cs, store } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { service_id: other } = await cs.startService({ customer_id: 'C1' });
    const { state_id: otherState } = await cs.startState(other, {});
    await cs.endService(sid);
    const { state_id } = await cs.startState(sid, { state_type: 'late' });
    const { task_id } = await cs.startTask(sid, { state_id });
    expect(state_id).toBe(1);
    expect(task_id).toBe(1);
    await rejectsUnchanged(store, () => cs.startTask(sid, { state_id: 99 }), 'STATE_NOT_FOUND');
    await rejectsUnchanged(
      store,
      () => cs.startState(sid, { previous_state_id: otherState + 5 }),
      'STATE_NOT_FOUND',
    );
    // A state id that exists only in another service is not a state of this one.
    const { state_id: s2 } = await cs.startState(other, {});
    await rejectsUnchanged(store, () => cs.startTask(sid, { state_id: s2 }), 'STATE_NOT_FOUND');
    const { state_id: next } = await cs.startState(sid, { previous_state_id: state_id });
    expect((await cs.getState(sid, next)).previous_state_id).toBe(state_id);
  });

  it('L4: several states and several tasks may be active at once; ids are per-service counters from 1', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const states = [await cs.startState(sid, {}), await cs.startState(sid, {}), await cs.startState(sid, {})];
    const tasks = [await cs.startTask(sid, {}), await cs.startTask(sid, {})];
    expect(states.map((s) => s.state_id)).toEqual([1, 2, 3]);
    expect(tasks.map((t) => t.task_id)).toEqual([1, 2]);
    expect(await cs.listStates(sid, { status: 'active' })).toHaveLength(3);
    expect(await cs.listTasks(sid, { status: 'active' })).toHaveLength(2);
  });

  it('L5: transition ends an active state and starts the next at the same instant; from an inactive state it changes nothing', async () => {
    const { cs, store, clock, events } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { state_id: a } = await cs.startState(sid, { state_type: 'collect' });
    const { task_id } = await cs.startTask(sid, { state_id: a });
    clock.advance(2000);
    const { state_id: b } = await cs.transition(sid, {
      from: { state_id: a, disposition: 'collected', disposition_desc: 'all fields' },
      to: { state_type: 'propose', est_duration: 60 },
      interaction_id: 'I-1',
      Note: { x: 1 },
    });
    const from = await cs.getState(sid, a);
    const to = await cs.getState(sid, b, { extensions: ['Note'] });
    expect(from.completed).toEqual({ timestamp: iso(T0 + 2000), interaction_id: 'I-1' });
    expect(from.disposition).toBe('collected');
    expect(to.started).toEqual({ timestamp: iso(T0 + 2000), interaction_id: 'I-1' });
    expect(to).toMatchObject({
      state_type: 'propose',
      est_duration: 60,
      previous_state_id: a,
      Note: { x: 1 },
    });
    expect((await cs.getTask(sid, task_id)).completed?.timestamp).toBe(iso(T0 + 2000));
    expect(events.at(-1)).toMatchObject({ type: 'state.transitioned', from_state_id: a, state_id: b });
    await rejectsUnchanged(
      store,
      () => cs.transition(sid, { from: { state_id: a }, to: {} }),
      'STATE_NOT_ACTIVE',
    );
    await rejectsUnchanged(store, () => cs.transition(sid, { from: { state_id: 42 } }), 'STATE_NOT_FOUND');
  });

  it('L6: a completion earlier than the start is rejected', async () => {
    const { cs, store } = await setup();
    const { service_id: sid } = await cs.startService({
      customer_id: 'C1',
      timestamp: '2026-01-01T10:00:00Z',
    });
    const { state_id } = await cs.startState(sid, { timestamp: '2026-01-01T10:05:00Z' });
    const { task_id } = await cs.startTask(sid, { timestamp: '2026-01-01T10:06:00Z' });
    await rejectsUnchanged(
      store,
      () => cs.endTask(sid, task_id, { timestamp: '2026-01-01T10:05:59.999Z' }),
      'COMPLETED_BEFORE_START',
    );
    await rejectsUnchanged(
      store,
      () => cs.endState(sid, state_id, { timestamp: '2026-01-01T10:04:00Z' }),
      'COMPLETED_BEFORE_START',
    );
    await rejectsUnchanged(
      store,
      () => cs.endService(sid, { timestamp: '2026-01-01T09:00:00Z' }),
      'COMPLETED_BEFORE_START',
    );
    // The service's end would complete the task before the task started: L2 cannot hold, so L6 rejects it.
    await rejectsUnchanged(
      store,
      () => cs.endService(sid, { timestamp: '2026-01-01T10:05:30Z' }),
      'COMPLETED_BEFORE_START',
    );
    await cs.endService(sid, { timestamp: '2026-01-01T10:06:00Z' });
    expect((await cs.getTask(sid, task_id)).duration).toBe(0);
  });

  it('L7: concurrent writes on one service are serialized: none lost, ids unique', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 ? cs.startTask(sid, { task_type: i }) : cs.startState(sid, { state_type: i }),
      ),
    );
    const taskIds = results.flatMap((r) => ('task_id' in r ? [r.task_id] : [])).sort((a, b) => a - b);
    const stateIds = results.flatMap((r) => ('state_id' in r ? [r.state_id] : [])).sort((a, b) => a - b);
    expect(taskIds).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(stateIds).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        cs.mergeExtension({ service_id: sid }, 'Counter', { [`k${i}`]: i }),
      ),
    );
    const s = await cs.getService(sid, {
      ...{ active_tasks: true, active_states: true },
      extensions: ['Counter'],
    });
    expect(Object.keys(s.Counter as object)).toHaveLength(50);
    expect(s.active_tasks).toHaveLength(100);
    expect(s.active_states).toHaveLength(100);
  });

  it('L7: a reader sees a service and its children from one snapshot', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { state_id } = await cs.startState(sid, {});
    for (let i = 0; i < 20; i++) await cs.startTask(sid, { state_id });
    const [view] = await Promise.all([cs.getService(sid, all), cs.endService(sid)]);
    const done = view.completed !== undefined;
    // Either everything is still active, or everything is completed: never half.
    expect(view.active_tasks?.length).toBe(done ? 0 : 20);
    expect(view.completed_tasks?.length).toBe(done ? 20 : 0);
  });

  it('L8: delete removes the service with every state, task and index entry', async () => {
    const { cs, store } = await setup({ autoCompleteEnabled: true, autoCompleteAfter: 60 });
    const { service_id: keep } = await cs.startService({ customer_id: 'C1' });
    const before = await (async () => {
      const out: string[] = [];
      for await (const [k] of store.iterate({})) out.push(k);
      return out;
    })();
    const { service_id: sid } = await cs.startService({
      customer_id: 'C1',
      contact_key: 'K',
      service_type: 1,
    });
    await cs.startState(sid, {});
    await cs.startTask(sid, { state_id: 1 });
    await cs.associate('C2', sid);
    await cs.deleteService(sid);
    const after: string[] = [];
    for await (const [k] of store.iterate({})) after.push(k);
    expect(withoutChangeLog(after)).toEqual(withoutChangeLog(before));
    await rejects(
      cs.getService(sid),
      'SERVICE_NOT_FOUND',
      new RegExp(`There are no service found for : ${sid}`),
    );
    await rejects(cs.deleteService(sid), 'SERVICE_NOT_FOUND');
    expect(await cs.listCustomerServices('C2')).toEqual([]);
    expect((await cs.listCustomerServices('C1')).map((s) => s.service_id)).toEqual([keep]);
  });
});
