import { describe, expect, it } from 'vitest';
import { createContextServices } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { iso, rejects, rejectsUnchanged, setup, T0, untyped } from './helpers.js';

describe('representations (docs/spec.md §3.2)', () => {
  it('omits absent values, keeps entity-level fields out of events, nests without service_id', async () => {
    const { cs, clock } = await setup();
    const { service_id: sid } = await cs.startService({
      customer_id: 'C1',
      service_type: 400,
      est_duration: 600,
      interaction_id: 'I1',
      media_type: 'voice',
      Feedback: { rating: 7 },
    });
    await cs.startState(sid, { state_type: 'collect', est_duration: 30 });
    await cs.startTask(sid, { task_type: 'dates', state_id: 1 });
    const active = await cs.getService(sid);
    expect(active).toEqual({
      service_id: sid,
      service_type: 400,
      customer_id: 'C1',
      est_duration: 600,
      started: { timestamp: iso(T0), interaction_id: 'I1', media_type: 'voice' },
    });
    clock.advance(720_000);
    await cs.endService(sid, { disposition: 'resolved', disposition_desc: 'booked', resource_type: 2 });
    const done = await cs.getService(sid, {
      completed_states: true,
      completed_tasks: true,
      extensions: ['Feedback'],
    });
    expect(done).toEqual({
      service_id: sid,
      service_type: 400,
      customer_id: 'C1',
      est_duration: 600,
      started: { timestamp: iso(T0), interaction_id: 'I1', media_type: 'voice' },
      completed: { timestamp: iso(T0 + 720_000), resource_type: 2 },
      disposition: 'resolved',
      disposition_desc: 'booked',
      duration: 720_000,
      completed_states: [
        {
          state_id: 1,
          state_type: 'collect',
          est_duration: 30,
          started: { timestamp: iso(T0) },
          completed: { timestamp: iso(T0 + 720_000), resource_type: 2 },
          duration: 720_000,
        },
      ],
      completed_tasks: [
        {
          task_id: 1,
          task_type: 'dates',
          state_id: 1,
          started: { timestamp: iso(T0) },
          completed: { timestamp: iso(T0 + 720_000), resource_type: 2 },
          duration: 720_000,
        },
      ],
      Feedback: { rating: 7 },
    });
    expect(JSON.stringify(done)).not.toContain('null');
  });

  it('normalizes any ISO instant to UTC milliseconds', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({
      contact_key: 'K',
      timestamp: '2014-09-02T10:00:00+02:00',
    });
    expect((await cs.getService(sid)).started.timestamp).toBe('2014-09-02T08:00:00.000Z');
    // The edges of the four-digit years, reached through an offset, are accepted and normalized…
    const edge = await cs.startService({ contact_key: 'K', timestamp: '9999-12-31T23:00:00+00:59' });
    expect((await cs.getService(edge.service_id)).started.timestamp).toBe('9999-12-31T22:01:00.000Z');
    // …and an offset that moves the instant out of them is rejected: it has no normalized form.
    for (const timestamp of ['9999-12-31T23:00:00-05:00', '0000-01-01T00:00:00+01:00']) {
      await rejects(cs.startService({ contact_key: 'K', timestamp }), 'VALIDATION_FAILED', /timestamp/);
    }
  });
});

describe('extension selection (docs/spec.md §5)', () => {
  it('selects by plain name, State.X, Task.X, State/State.*, Task/Task.*, and *', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C', A: [1], B: [2] });
    await cs.startState(sid, { SA: [3], SB: [4] });
    await cs.startTask(sid, { state_id: 1, TA: [5] });
    const q = (extensions: string[]) =>
      cs.getService(sid, { active_states: true, active_tasks: true, extensions }).then((s) => ({
        s: Object.keys(s).filter((k) => /^[A-Z]/.test(k)),
        st: Object.keys(s.active_states?.[0] ?? {}).filter((k) => /^[A-Z]/.test(k)),
        t: Object.keys(s.active_tasks?.[0] ?? {}).filter((k) => /^[A-Z]/.test(k)),
      }));
    expect(await q([])).toEqual({ s: [], st: [], t: [] });
    expect(await q(['A'])).toEqual({ s: ['A'], st: [], t: [] });
    expect(await q(['State.SB', 'Task.TA'])).toEqual({ s: [], st: ['SB'], t: ['TA'] });
    expect(await q(['State'])).toEqual({ s: [], st: ['SA', 'SB'], t: [] });
    expect(await q(['State.*', 'B'])).toEqual({ s: ['B'], st: ['SA', 'SB'], t: [] });
    expect(await q(['Task.*'])).toEqual({ s: [], st: [], t: ['TA'] });
    expect(await q(['*'])).toEqual({ s: ['A', 'B'], st: ['SA', 'SB'], t: ['TA'] });
    expect(await cs.getService(sid)).not.toHaveProperty('A');
    // On a state query the plain name applies to the state, Task.X to its tasks.
    const st = await cs.getState(sid, 1, { active_tasks: true, extensions: ['SA', 'Task.TA'] });
    expect(st).toMatchObject({ SA: [3], active_tasks: [{ TA: [5] }] });
    expect(st).not.toHaveProperty('SB');
    expect(await cs.getTask(sid, 1, { extensions: ['TA'] })).toMatchObject({ TA: [5] });
    // On state and task queries, State / State.* (Task / Task.*) select every extension of the
    // entities the query is about, as they do for nested ones.
    for (const sel of ['State', 'State.*']) {
      expect(await cs.listStates(sid, { extensions: [sel] })).toMatchObject([{ SA: [3], SB: [4] }]);
      expect(await cs.getState(sid, 1, { extensions: [sel] })).toMatchObject({ SA: [3], SB: [4] });
    }
    for (const sel of ['Task', 'Task.*']) {
      expect(await cs.listTasks(sid, { extensions: [sel] })).toMatchObject([{ TA: [5] }]);
      expect(await cs.getTask(sid, 1, { extensions: [sel] })).toMatchObject({ TA: [5] });
    }
  });
});

describe('service lists (docs/spec.md §5)', () => {
  async function journey() {
    const ctx = await setup();
    const { cs, clock } = ctx;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await cs.startService({ customer_id: 'C1', service_type: i % 2 ? 400 : 'web' })).service_id);
      clock.advance(1000);
    }
    await cs.endService(ids[1] as string);
    await cs.endService(ids[3] as string);
    return { ...ctx, ids };
  }

  it('orders by start time, filters by status, types (string form) and start window, pages', async () => {
    const { cs, ids } = await journey();
    const list = async (q: Parameters<typeof cs.listCustomerServices>[1]) =>
      (await cs.listCustomerServices('C1', q)).map((s) => ids.indexOf(s.service_id));
    expect(await list({})).toEqual([0, 1, 2, 3, 4]);
    expect(await list({ status: 'active' })).toEqual([0, 2, 4]);
    expect(await list({ status: 'completed' })).toEqual([1, 3]);
    expect(await list({ service_types: ['400'] })).toEqual([1, 3]);
    expect(await list({ service_types: ['web', 400] })).toEqual([0, 1, 2, 3, 4]);
    expect(await list({ started_from: iso(T0 + 1000), started_to: iso(T0 + 3000) })).toEqual([1, 2]);
    expect(
      await list({ started_from: iso(T0 + 1000), started_to: iso(T0 + 3000), status: 'active' }),
    ).toEqual([2]);
    expect(await list({ limit: 2 })).toEqual([0, 1]);
    expect(await list({ limit: 2, offset: 2 })).toEqual([2, 3]);
    expect(await list({ offset: 5 })).toEqual([]);
    await rejects(cs.listCustomerServices('C1', { limit: 0 }), 'VALIDATION_FAILED', /limit/);
    await rejects(cs.listCustomerServices('C1', { limit: 10_001 }), 'VALIDATION_FAILED', /limit/);
    await rejects(cs.listCustomerServices('C1', { started_from: 'x' }), 'VALIDATION_FAILED', /started_from/);
    await rejects(
      cs.listCustomerServices('C1', { active_states: 'yes' as unknown as boolean }),
      'VALIDATION_FAILED',
      /active_states/,
    );
  });

  it('embeds states and tasks on every service of a list', async () => {
    const { cs, ids } = await journey();
    await cs.startState(ids[0] as string, {});
    await cs.startTask(ids[2] as string, {});
    const list = await cs.listCustomerServices('C1', {
      active_states: true,
      active_tasks: true,
      status: 'active',
    });
    expect(list.map((s) => [s.active_states?.length, s.active_tasks?.length])).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
  });

  it('anonymous lists return only services without a customer; associate moves services between customers', async () => {
    const { cs, clock } = await setup();
    const a = (await cs.startService({ contact_key: '+331' })).service_id;
    clock.advance(1);
    const b = (await cs.startService({ contact_key: '+331' })).service_id;
    await cs.startService({ contact_key: '+331', customer_id: 'C9' });
    expect((await cs.listAnonymousServices('+331')).map((s) => s.service_id)).toEqual([a, b]);
    await cs.associate('C1', a, { service_type: 'billing', Note: { by: 'ivr' } });
    expect((await cs.listAnonymousServices('+331')).map((s) => s.service_id)).toEqual([b]);
    expect(await cs.getService(a, { extensions: ['Note'] })).toMatchObject({
      customer_id: 'C1',
      contact_key: '+331',
      service_type: 'billing',
      Note: { by: 'ivr' },
    });
    await cs.endService(a);
    await cs.associate('C2', a); // works on completed services and moves them
    expect(await cs.listCustomerServices('C1')).toEqual([]);
    expect((await cs.listCustomerServices('C2', { status: 'completed' })).map((s) => s.service_id)).toEqual([
      a,
    ]);
    expect(await cs.listAnonymousServices('+331', { status: 'completed' })).toEqual([]);
  });

  it('a service moved to another customer while a list reads it is not listed under the old one', async () => {
    let release: () => void = () => {};
    let gate: Promise<void> | undefined;
    let waiting = 0;
    let bothWaiting: () => void = () => {};
    class SlowStore extends MemoryStore {
      override async getMany(keys: readonly string[]) {
        if (gate !== undefined) {
          if (++waiting === 2) bothWaiting();
          await gate;
        }
        return super.getMany(keys);
      }
    }
    const store = new SlowStore();
    const cs = await createContextServices({ store, config: { cacheSize: 0 } });
    const { service_id: sid } = await cs.startService({ customer_id: 'C1' });
    const { service_id: anon } = await cs.startService({ contact_key: 'K' });
    gate = new Promise((r) => {
      release = r;
    });
    const waited = new Promise<void>((r) => {
      bothWaiting = r;
    });
    const lists = [cs.listCustomerServices('C1'), cs.listAnonymousServices('K')];
    await waited; // both lists have read their index and wait for the records
    await cs.associate('C2', sid);
    await cs.associate('C3', anon);
    release();
    expect(await Promise.all(lists)).toEqual([[], []]);
    expect((await cs.listCustomerServices('C2')).map((v) => v.service_id)).toEqual([sid]);
    await cs.close();
  });

  it('L7: a service read with its extensions never shows half of a write that changed both', async () => {
    let meanwhile: (() => Promise<void>) | undefined;
    class InterleavingStore extends MemoryStore {
      override async getMany(keys: readonly string[]) {
        const write = meanwhile;
        meanwhile = undefined;
        if (write !== undefined) await write(); // lands between the reader's two reads
        return super.getMany(keys);
      }
    }
    const cs = await createContextServices({ store: new InterleavingStore(), config: { cacheSize: 0 } });
    const { service_id: sid } = await cs.startService({ customer_id: 'C', A: { v: 1 } });
    meanwhile = () => cs.endService(sid, { A: { v: 2 }, B: { v: 2 } });
    const view = await cs.getService(sid, { extensions: ['*'] });
    // The end (completion + both extensions) is seen whole.
    expect(view).toMatchObject({ A: { v: 2 }, B: { v: 2 } });
    expect(view.completed).toBeDefined();
    await cs.close();
  });

  it('keeps look-alike customer ids and contact keys apart (escaped keys)', async () => {
    const { cs } = await setup();
    const ids = ['a', 'a/', 'a/b', 'a%002f', 'a%', 'A', 'é', 'a\u0000', '\uD800'];
    for (const c of ids) await cs.startService({ customer_id: c, contact_key: c });
    for (const c of ids) {
      const list = await cs.listCustomerServices(c);
      expect(list.map((s) => s.customer_id)).toEqual([c]);
    }
  });
});

describe('state and task lists (SRV.12, SRV.13)', () => {
  it('filter by status, types and state; embed each state own tasks', async () => {
    const { cs, clock } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    await cs.startState(sid, { state_type: 1 });
    clock.advance(1);
    await cs.startState(sid, { state_type: 'two' });
    await cs.startTask(sid, { state_id: 1, task_type: 'x' });
    await cs.startTask(sid, { state_id: 2, task_type: 'y' });
    await cs.startTask(sid, { task_type: 'x' });
    await cs.endTask(sid, 1);
    await cs.endState(sid, 2);
    expect((await cs.listStates(sid, { status: 'active' })).map((s) => s.state_id)).toEqual([1]);
    expect((await cs.listStates(sid, { state_types: ['1', 'two'] })).map((s) => s.state_id)).toEqual([1, 2]);
    const withTasks = await cs.listStates(sid, { active_tasks: true, completed_tasks: true });
    expect(
      withTasks.map((s) => [s.active_tasks?.map((t) => t.task_id), s.completed_tasks?.map((t) => t.task_id)]),
    ).toEqual([
      [[], [1]],
      [[], [2]],
    ]);
    expect(withTasks[0]?.service_id).toBe(sid);
    expect((await cs.listTasks(sid, { task_types: ['x'] })).map((t) => t.task_id)).toEqual([1, 3]);
    expect((await cs.listTasks(sid, { state_id: 2 })).map((t) => t.task_id)).toEqual([2]);
    expect((await cs.listTasks(sid, { status: 'active' })).map((t) => t.task_id)).toEqual([3]);
    await rejects(cs.getState(sid, 9), 'STATE_NOT_FOUND', /state/);
    await rejects(cs.getTask(sid, 9), 'TASK_NOT_FOUND', /task/);
  });
});

describe('composite start (docs/spec.md §6)', () => {
  it('reuses the active service, state and task that match, else starts them', async () => {
    const { cs } = await setup();
    const item = {
      service: { customer_id: 'C', service_type: 400 },
      state: { state_type: 'wait' },
      task: { task_type: 'cb' },
    };
    const first = await cs.compositeStart({ services: [item] });
    expect(first.services[0]).toMatchObject({
      service_created: true,
      state_id: 1,
      state_created: true,
      task_id: 1,
      task_created: true,
    });
    const sid = first.services[0]?.service_id as string;
    const again = await cs.compositeStart({
      services: [
        item,
        { ...item, task: { task_type: 'other' } },
        { ...item, service: { customer_id: 'C', service_type: '400' } },
      ],
    });
    expect(again.services).toEqual([
      {
        service_id: sid,
        service_created: false,
        state_id: 1,
        state_created: false,
        task_id: 1,
        task_created: false,
      },
      {
        service_id: sid,
        service_created: false,
        state_id: 1,
        state_created: false,
        task_id: 2,
        task_created: true,
      },
      {
        service_id: sid,
        service_created: false,
        state_id: 1,
        state_created: false,
        task_id: 1,
        task_created: false,
      },
    ]);
    // An absent field matches only absent: a contact key makes it another service.
    const other = await cs.compositeStart({
      services: [{ service: { customer_id: 'C', service_type: 400, contact_key: 'K' }, state: {} }],
    });
    expect(other.services[0]?.service_created).toBe(true);
    expect(other.services[0]).not.toHaveProperty('task_id');
    const forced = await cs.compositeStart({ services: [item], create_new_services: true });
    expect(forced.services[0]?.service_id).not.toBe(sid);
    await cs.endService(sid);
    const afterEnd = await cs.compositeStart({ services: [{ ...item, associate_state_task: true }] });
    expect(afterEnd.services[0]?.service_id).not.toBe(sid);
  });

  it('with associate_state_task the task belongs to the state and is matched within it', async () => {
    const { cs } = await setup();
    const item = {
      service: { contact_key: 'K' },
      state: { state_type: 's' },
      task: { task_type: 't' },
      associate_state_task: true,
    };
    const r = (await cs.compositeStart({ services: [item] })).services[0];
    expect((await cs.getTask(r?.service_id as string, r?.task_id as number)).state_id).toBe(r?.state_id);
    const loose = await cs.startTask(r?.service_id as string, { task_type: 'u' });
    const r2 = (await cs.compositeStart({ services: [{ ...item, task: { task_type: 'u' } }] })).services[0];
    expect(r2?.task_id).not.toBe(loose.task_id);
    expect(r2?.task_created).toBe(true);
  });

  it('without associate_state_task a new state still reuses an active task of the service', async () => {
    const { cs } = await setup();
    const first = (
      await cs.compositeStart({
        services: [{ service: { customer_id: 'C' }, state: { state_type: 'a' }, task: { task_type: 't' } }],
      })
    ).services[0];
    const second = (
      await cs.compositeStart({
        services: [{ service: { customer_id: 'C' }, state: { state_type: 'b' }, task: { task_type: 't' } }],
      })
    ).services[0];
    expect(second).toMatchObject({ state_created: true, task_id: first?.task_id, task_created: false });
  });

  it('a bad item rejects the whole request before anything is written', async () => {
    const { cs, store, events } = await setup();
    const good = { service: { customer_id: 'C1' }, state: { state_type: 'a' } };
    const bad: [unknown, RegExp][] = [
      [{ service: { customer_id: 'C2' }, state: { state_type: 's', timestamp: 'garbage' } }, /timestamp/],
      [{ service: { customer_id: 'C2', expiration_time: 'nope' }, state: {} }, /expiration_time/],
      [
        { service: { customer_id: 'C2' }, state: {}, task: { timestamp: '2024-13-45T00:00:00Z' } },
        /timestamp/,
      ],
      [{ service: { customer_id: 'C2' }, state: { previous_state_id: 5 } }, /previous_state_id/],
      [{ service: { customer_id: 'C2' }, state: {}, task: { state_id: 1 } }, /state_id/],
    ];
    for (const [item, message] of bad) {
      await rejectsUnchanged(
        store,
        () => cs.compositeStart({ services: [good, untyped(item)] }),
        'VALIDATION_FAILED',
        new RegExp(`^services\\[1\\]: .*${message.source}`),
      );
    }
    expect(events).toEqual([]);
  });

  it('a later item refused by a limit names its index; the items before it stay written', async () => {
    const { cs } = await setup({ limits: { entitiesPerService: 1 } });
    const item = (type: string) => ({ service: { customer_id: 'C' }, state: { state_type: type } });
    await rejects(
      cs.compositeStart({ services: [item('a'), item('b')] }),
      'LIMIT_EXCEEDED',
      /^services\[1\]: /,
    );
    expect((await cs.listCustomerServices('C', { active_states: true }))[0]?.active_states).toHaveLength(1);
  });

  it('concurrent composite starts for one customer create one service', async () => {
    const { cs } = await setup();
    const item = { service: { customer_id: 'C' }, state: { state_type: 's' } };
    const all = await Promise.all(Array.from({ length: 20 }, () => cs.compositeStart({ services: [item] })));
    expect(new Set(all.map((r) => r.services[0]?.service_id)).size).toBe(1);
    expect(all.filter((r) => r.services[0]?.service_created)).toHaveLength(1);
  });
});
