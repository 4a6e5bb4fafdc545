/**
 * The typed API: wrong inputs do not compile and results have their documented types. The
 * `@ts-expect-error` lines and `expectTypeOf` assertions are checked by `pnpm typecheck` (an unused
 * `@ts-expect-error` is an error, so loosening a type back to `unknown` fails it); the calls run
 * too, proving that the run-time validation JavaScript callers rely on still refuses the same
 * values.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  CompositeItemResult,
  ContextEvent,
  ContextServices,
  EventView,
  ExpirationUpdateBody,
  JsonValue,
  ServiceStartEventBody,
  ServiceView,
  StateView,
  TaskView,
  TypeValue,
} from '../src/index.js';
import { iso, rejects, setup, T0 } from './helpers.js';

describe('inputs are typed from the schemas (wrong ones do not compile, and still fail at run time)', () => {
  it('a service start event: documented fields keep their types, other keys are JSON extensions', async () => {
    const { cs } = await setup();
    const { service_id } = await cs.startService({ contact_key: '1', Feedback: { rating: 7 } });
    const tags = ['vip', 'fr'] as const;
    await cs.startService({ customer_id: 'C', service_type: 400, Tags: tags, Note: null });
    // A body built in a variable of the exported type, extensions added later.
    const body: ServiceStartEventBody = { customer_id: 'C', ttl: 60 };
    body.Cart = { items: [{ sku: 'A', qty: 2 }] };
    await cs.startService(body);

    // @ts-expect-error contact_key is a string
    const numberKey = cs.startService({ contact_key: 42 });
    await rejects(numberKey, 'VALIDATION_FAILED', /contact_key/);
    // @ts-expect-error service_type is a number or a string
    const boolType = cs.startService({ customer_id: 'C', service_type: true });
    await rejects(boolType, 'VALIDATION_FAILED', /service_type/);
    // @ts-expect-error state_id is a documented field of another kind, never an extension
    const foreign = cs.startService({ customer_id: 'C', state_id: 1 });
    await rejects(foreign, 'VALIDATION_FAILED', /state_id/);
    // @ts-expect-error an extension holds JSON, not a function
    const fn = cs.startService({ customer_id: 'C', Ext: () => 1 });
    await rejects(fn, 'VALIDATION_FAILED', /JSON/);
    // @ts-expect-error ttl is a number of seconds
    const ttl = cs.startService({ customer_id: 'C', ttl: '5m' });
    await rejects(ttl, 'VALIDATION_FAILED', /ttl/);

    const view = await cs.getService(service_id, { extensions: ['Feedback'] });
    expect(view.Feedback).toEqual({ rating: 7 });
  });

  it('end, associate, state, task and transition bodies', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    const { state_id } = await cs.startState(sid, { state_type: 'a', est_duration: 60, Form: { step: 1 } });

    // @ts-expect-error previous_state_id is a state id
    const prev = cs.startState(sid, { previous_state_id: '1' });
    await rejects(prev, 'VALIDATION_FAILED', /previous_state_id/);
    // @ts-expect-error state_id is a state id
    const owner = cs.startTask(sid, { state_id: 'x' });
    await rejects(owner, 'VALIDATION_FAILED', /state_id/);
    // @ts-expect-error disposition_desc is a string
    const desc = cs.endTask(sid, 1, { disposition_desc: 5 });
    await rejects(desc, 'VALIDATION_FAILED', /disposition_desc/);
    // @ts-expect-error disposition is a number or a string
    const disp = cs.endService(sid, { disposition: { code: 1 } });
    await rejects(disp, 'VALIDATION_FAILED', /disposition/);
    // @ts-expect-error est_duration belongs to start events
    const est = cs.endState(sid, state_id, { est_duration: 5 });
    await rejects(est, 'VALIDATION_FAILED', /est_duration/);
    // @ts-expect-error contact_key is a string
    const assoc = cs.associate('C', sid, { contact_key: 1 });
    await rejects(assoc, 'VALIDATION_FAILED', /contact_key/);
    // @ts-expect-error a transition names the state it ends
    const noFrom = cs.transition(sid, { to: { state_type: 'b' } });
    await rejects(noFrom, 'VALIDATION_FAILED', /from/);
    // @ts-expect-error `to` describes a state, closed: no task_type
    const closed = cs.transition(sid, { from: { state_id }, to: { task_type: 'x' } });
    await rejects(closed, 'VALIDATION_FAILED', /to/);

    const next = await cs.transition(sid, { from: { state_id, disposition: 'ok' }, to: { state_type: 'b' } });
    expectTypeOf(next).toEqualTypeOf<{ state_id: number }>();
    const task = await cs.startTask(sid, { task_type: 't', state_id: next.state_id });
    expectTypeOf(task).toEqualTypeOf<{ task_id: number }>();
    await cs.endTask(sid, task.task_id, { disposition: 2, Done: true });
    await cs.associate('C', sid, { contact_key: 'K', Profile: { tier: 'gold' } });
  });

  it('expiration updates need ttl or expiration_time; extensions take JSON', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    await cs.updateExpiration(sid, { ttl: 60 });
    await cs.updateExpiration(sid, { expiration_time: iso(T0 + 60_000) });
    const both: ExpirationUpdateBody = { ttl: 60, expiration_time: iso(T0) };
    await cs.updateExpiration(sid, both);
    // @ts-expect-error at least one of ttl and expiration_time
    const empty = cs.updateExpiration(sid, {});
    await rejects(empty, 'VALIDATION_FAILED');
    // @ts-expect-error ttl is a number of seconds
    const text = cs.updateExpiration(sid, { ttl: '60' });
    await rejects(text, 'VALIDATION_FAILED', /ttl/);

    await cs.putExtension({ service_id: sid }, 'List', [1, 'two', { three: 3 }]);
    await cs.mergeExtension({ service_id: sid }, 'Obj', { a: 1, b: [true] });
    await cs.putExtension({ service_id: sid }, 'Scalar', 'text');
    // @ts-expect-error replace takes any JSON value but null
    const nothing = cs.putExtension({ service_id: sid }, 'X', null);
    await rejects(nothing, 'VALIDATION_FAILED', /any JSON value but null/);
    // @ts-expect-error merge takes a JSON object
    const array = cs.mergeExtension({ service_id: sid }, 'Obj', [1]);
    await rejects(array, 'VALIDATION_FAILED', /merge value/);
  });

  it('composite start items are start events; where the state and task go is not the caller’s', async () => {
    const { cs } = await setup();
    const service = { customer_id: 'C' };
    // @ts-expect-error customer_id is a string
    const badService = cs.compositeStart({ services: [{ service: { customer_id: 1 }, state: {} }] });
    await rejects(badService, 'VALIDATION_FAILED', /customer_id/);
    // @ts-expect-error previous_state_id is refused in a composite item
    const prev = cs.compositeStart({ services: [{ service, state: { previous_state_id: 1 } }] });
    await rejects(prev, 'VALIDATION_FAILED', /previous_state_id/);
    // @ts-expect-error task.state_id is refused: use associate_state_task
    const owner = cs.compositeStart({ services: [{ service, state: {}, task: { state_id: 1 } }] });
    await rejects(owner, 'VALIDATION_FAILED', /state_id/);

    const result = await cs.compositeStart({
      services: [
        { service, state: { state_type: 's' }, task: { task_type: 't' }, associate_state_task: true },
      ],
    });
    expectTypeOf(result.services).toEqualTypeOf<CompositeItemResult[]>();
    const [item] = result.services;
    expectTypeOf(item?.service_id).toEqualTypeOf<string | undefined>();
    expectTypeOf(item?.task_id).toEqualTypeOf<number | undefined>();
    expect(item).toMatchObject({ service_created: true, state_created: true, task_created: true });
  });

  it('queries, purge and import bodies', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    // @ts-expect-error embedding flags are booleans
    const flag = cs.getService(sid, { active_states: 'yes' });
    await rejects(flag, 'VALIDATION_FAILED', /active_states/);
    // @ts-expect-error status is all, active or completed
    const status = cs.listStates(sid, { status: 'open' });
    await rejects(status, 'VALIDATION_FAILED', /status/);
    // @ts-expect-error not an operation of docs/spec.md §8.3
    const op = cs.purge({ limit: iso(T0), operation: 'purge.everything' });
    await rejects(op, 'VALIDATION_FAILED', /operation/);
    // @ts-expect-error an import takes exported services
    const ids = cs.importServices(['not-a-service']);
    await rejects(ids, 'VALIDATION_FAILED');
  });
});

describe('results have the types of the resource schemas', () => {
  it('services, states and tasks', async () => {
    const { cs } = await setup();
    const started = await cs.startService({ customer_id: 'C', service_type: 'booking', Cart: { n: 1 } });
    expectTypeOf(started).toEqualTypeOf<{ service_id: string }>();
    const sid = started.service_id;
    const { state_id } = await cs.startState(sid, { state_type: 1 });
    await cs.startTask(sid, { task_type: 'x', state_id });

    const view = await cs.getService(sid, { active_states: true, active_tasks: true, extensions: ['Cart'] });
    expectTypeOf(view).toEqualTypeOf<ServiceView>();
    expectTypeOf(view.service_id).toEqualTypeOf<string>();
    expectTypeOf(view.service_type).toEqualTypeOf<TypeValue | undefined>();
    expectTypeOf(view.customer_id).toEqualTypeOf<string | undefined>();
    expectTypeOf(view.started).toEqualTypeOf<EventView>();
    expectTypeOf(view.started.timestamp).toEqualTypeOf<string>();
    expectTypeOf(view.duration).toEqualTypeOf<number | undefined>();
    expectTypeOf(view.active_states).toEqualTypeOf<StateView[] | undefined>();
    expectTypeOf(view.active_tasks).toEqualTypeOf<TaskView[] | undefined>();
    expectTypeOf(view.Cart).toEqualTypeOf<JsonValue | undefined>();
    expect(view.Cart).toEqual({ n: 1 });
    expect(view.active_states?.[0]?.state_type).toBe(1);

    const state = await cs.getState(sid, state_id, { active_tasks: true });
    expectTypeOf(state.state_id).toEqualTypeOf<number>();
    expectTypeOf(state.service_id).toEqualTypeOf<string | undefined>();
    expectTypeOf(state.previous_state_id).toEqualTypeOf<number | undefined>();
    expectTypeOf(state.active_tasks).toEqualTypeOf<TaskView[] | undefined>();
    expect(state.service_id).toBe(sid);

    const [task] = await cs.listTasks(sid);
    expectTypeOf(task).toEqualTypeOf<TaskView | undefined>();
    expectTypeOf(task?.task_id).toEqualTypeOf<number | undefined>();
    expectTypeOf(task?.state_id).toEqualTypeOf<number | undefined>();
    expect(task?.state_id).toBe(state_id);
    expectTypeOf(await cs.listCustomerServices('C')).toEqualTypeOf<ServiceView[]>();
  });

  it('export follows export_content; purge and import count', async () => {
    const { cs } = await setup();
    await cs.startService({ customer_id: 'C' });
    const from = iso(T0 - 1);
    const full = await cs.exportServices({ time_from: from, export_content: true });
    expectTypeOf(full).toEqualTypeOf<AsyncIterable<ServiceView>>();
    const ids = await cs.exportServices({ time_from: from });
    expectTypeOf(ids).toEqualTypeOf<AsyncIterable<string>>();
    const query: { time_from: string; export_content: boolean } = { time_from: from, export_content: false };
    expectTypeOf(await cs.exportServices(query)).toEqualTypeOf<AsyncIterable<string | ServiceView>>();
    const services: ServiceView[] = [];
    for await (const s of full) services.push(s);

    const target = (await setup()).cs;
    expectTypeOf(await target.importServices(services)).toEqualTypeOf<{
      imported: number;
      skipped: number;
    }>();
    const purged = await cs.purge({ limit: iso(T0 + 1), operation: 'purge.service.all' });
    expectTypeOf(purged).toEqualTypeOf<{ purged: number }>();
    expect(purged).toEqual({ purged: 1 });
  });

  it('events are narrowed by their type', async () => {
    const { cs } = await setup();
    const seen: number[] = [];
    cs.on('state.transitioned', (e) => {
      expectTypeOf(e.type).toEqualTypeOf<'state.transitioned'>();
      expectTypeOf(e.from_state_id).toEqualTypeOf<number>();
      seen.push(e.from_state_id);
    });
    cs.on('*', (e) => expectTypeOf(e).toEqualTypeOf<ContextEvent>());
    // @ts-expect-error not an event type
    cs.on('state.moved', () => undefined);
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    const { state_id } = await cs.startState(sid, {});
    await cs.transition(sid, { from: { state_id } });
    expect(seen).toEqual([state_id]);
  });

  it('no input of the engine is unknown any more', () => {
    type Engine = ContextServices;
    expectTypeOf<Parameters<Engine['startService']>[0]>().not.toBeUnknown();
    expectTypeOf<Parameters<Engine['compositeStart']>[0]>().not.toBeUnknown();
    expectTypeOf<Parameters<Engine['updateExpiration']>[1]>().not.toBeUnknown();
    expectTypeOf<Parameters<Engine['putExtension']>[2]>().not.toBeUnknown();
    expectTypeOf<Parameters<Engine['importServices']>[0]>().not.toEqualTypeOf<Iterable<unknown>>();
  });
});
