import { describe, expect, it } from 'vitest';
import { randomServiceId } from '../src/context.js';
import { createContextServices, type JsonValue } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { dump, rejects, rejectsUnchanged, setup, untyped } from './helpers.js';

describe('bad input is rejected with a clear error and writes nothing (docs/spec.md §2, §3.1, §10)', () => {
  it('service start requires customer_id or contact_key and checks every documented field', async () => {
    const { cs, store } = await setup();
    const bad: [unknown, RegExp][] = [
      [{}, /customer_id or contact_key is required/],
      [null, /customer_id or contact_key/],
      [[], /must be a JSON object/],
      ['x', /must be a JSON object/],
      [{ customer_id: 5 }, /customer_id/],
      [{ customer_id: '' }, /customer_id/],
      [{ customer_id: 'x'.repeat(257) }, /customer_id.*256/],
      [{ contact_key: 'x'.repeat(257) }, /contact_key.*256/],
      [{ customer_id: 'C', session_id: 'x'.repeat(33) }, /session_id.*32/],
      [{ customer_id: 'C', interaction_id: 'x'.repeat(51) }, /interaction_id.*50/],
      [{ customer_id: 'C', application_id: 'app' }, /application_id/],
      [{ customer_id: 'C', resource_id: 1.5 }, /resource_id/],
      [{ customer_id: 'C', est_duration: -1 }, /est_duration/],
      [{ customer_id: 'C', media_type: true }, /media_type/],
      [{ customer_id: 'C', timestamp: 'yesterday' }, /timestamp.*ISO 8601/],
      [{ customer_id: 'C', timestamp: '2026-02-30T00:00:00Z' }, /timestamp/],
      [{ customer_id: 'C', disposition: 'x' }, /disposition.*is not a field of service start event/],
      [{ customer_id: 'C', state_type: 1 }, /state_type.*not a field/],
      [{ customer_id: 'C', task_id: 1 }, /task_id/],
      [{ customer_id: 'C', ['__proto__']: { polluted: true } }, /__proto__/],
      [JSON.parse('{"customer_id":"C","__proto__":{"a":1}}'), /__proto__/],
      [{ customer_id: 'C', constructor: 1 }, /constructor/],
      [{ customer_id: 'C', Ext: { deep: { prototype: 1 } } }, /prototype/],
      [{ customer_id: 'C', ['x'.repeat(129)]: 1 }, /extension name.*128/],
      [{ customer_id: 'C', Ext: 1n }, /JSON/],
      [{ customer_id: 'C', Ext: Number.NaN }, /finite/],
      [{ customer_id: 'C', ttl: 0 }, /ttl/],
      [{ customer_id: 'C', auto_complete_after: 'soon' }, /auto_complete_after/],
    ];
    for (const [body, message] of bad) {
      const before = await dump(store);
      await rejects(cs.startService(untyped(body)), 'VALIDATION_FAILED', message, String(message));
      expect(await dump(store)).toEqual(before);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('extension values may not nest deeper than the limit; entities keep at most 256 extensions', async () => {
    const { cs, store } = await setup();
    let deep: JsonValue = 1;
    for (let i = 0; i < 33; i++) deep = { d: deep };
    await rejectsUnchanged(
      store,
      () => cs.startService({ customer_id: 'C', Ext: deep }),
      'VALIDATION_FAILED',
      /nest/,
    );
    let ok: JsonValue = 1;
    for (let i = 0; i < 32; i++) ok = { d: ok };
    const { service_id: sid } = await cs.startService({ customer_id: 'C', Ext: ok });
    const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`e${i}`, i]));
    await rejectsUnchanged(
      store,
      () => cs.startService({ customer_id: 'C', ...many }),
      'LIMIT_EXCEEDED',
      /256/,
    );
    for (let i = 0; i < 255; i++) await cs.putExtension({ service_id: sid }, `e${i}`, [i]);
    await rejectsUnchanged(
      store,
      () => cs.putExtension({ service_id: sid }, 'one-more', [1]),
      'LIMIT_EXCEEDED',
    );
    await cs.putExtension({ service_id: sid }, 'e0', ['replaced']);
  });

  it('docs/spec.md §4: an extension replace takes any JSON value but null, on a service, a state and a task', async () => {
    const { cs, store } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C', Score: 3 });
    const { state_id } = await cs.startState(sid, { Note: 'text' });
    const { task_id } = await cs.startTask(sid, { Tags: ['a'] });
    const refs = [{ service_id: sid }, { service_id: sid, state_id }, { service_id: sid, task_id }];
    for (const ref of refs) {
      for (const [name, value] of [
        ['Score', 4],
        ['Note', 'other text'],
        ['Tags', ['b', 'c']],
        ['Flag', false],
        ['Obj', { a: 1 }],
      ] as const) {
        await cs.putExtension(ref, name, value);
      }
      await rejectsUnchanged(
        store,
        () => cs.putExtension(ref, 'Score', untyped(null)),
        'VALIDATION_FAILED',
        /null/,
      );
      // Merge keeps its rules: only into objects.
      await rejectsUnchanged(store, () => cs.mergeExtension(ref, 'Score', { a: 1 }), 'EXTENSION_NOT_OBJECT');
    }
    const all = { extensions: ['*'] };
    expect(await cs.getService(sid, all)).toMatchObject({
      Score: 4,
      Note: 'other text',
      Tags: ['b', 'c'],
      Flag: false,
    });
    expect(await cs.getState(sid, state_id, all)).toMatchObject({
      Score: 4,
      Note: 'other text',
      Flag: false,
    });
    expect(await cs.getTask(sid, task_id, all)).toMatchObject({ Tags: ['b', 'c'], Obj: { a: 1 } });
  });

  it('a service holds at most the configured number of states and tasks', async () => {
    const { cs, store } = await setup({ limits: { entitiesPerService: 3 } });
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    await cs.startState(sid, {});
    await cs.startTask(sid, {});
    await cs.startTask(sid, {});
    await rejectsUnchanged(store, () => cs.startState(sid, {}), 'LIMIT_EXCEEDED', /states and tasks/);
    await rejectsUnchanged(
      store,
      () =>
        cs.compositeStart({ services: [{ service: { customer_id: 'C' }, state: { state_type: 'new' } }] }),
      'LIMIT_EXCEEDED',
    );
  });

  it('end events, transitions and extension calls validate their bodies', async () => {
    const { cs, store } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    const { state_id } = await cs.startState(sid, {});
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => cs.endService(sid, { disposition_desc: 'x'.repeat(65) }), /disposition_desc.*64/],
      [() => cs.endService(sid, untyped({ est_duration: 5 })), /est_duration.*not a field/],
      [() => cs.endState(sid, state_id, untyped({ state_type: 'x' })), /state_type/],
      [() => cs.endState(sid, 0, {}), /state_id.*positive/],
      [() => cs.endTask(sid, 1.5, {}), /task_id/],
      [() => cs.transition(sid, untyped({})), /from/],
      [() => cs.transition(sid, untyped({ from: { state_id: 'one' } })), /from.state_id/],
      [() => cs.transition(sid, untyped({ from: { state_id }, to: { task_type: 1 } })), /to/],
      [() => cs.putExtension({ service_id: sid }, 'X', untyped(null)), /any JSON value but null/],
      [() => cs.putExtension({ service_id: sid }, 'service_type', {}), /documented field/],
      [() => cs.putExtension({ service_id: sid }, '', {}), /1 to 128/],
      [() => cs.mergeExtension({ service_id: sid }, 'X', untyped([1])), /merge value must be a JSON object/],
      [() => cs.startTask(sid, untyped({ task_type: { nested: 1 } })), /task_type/],
      [() => cs.associate('', sid, {}), /customer_id/],
      [() => cs.associate('C2', sid, { customer_id: 'C3' }), /customer_id must equal|must equal/],
      [() => cs.compositeStart({ services: [] }), /services/],
      [
        () =>
          cs.compositeStart({
            services: [{ service: { customer_id: 'C' }, state: untyped({ disposition: 1 }) }],
          }),
        /services\[0\]/,
      ],
    ];
    for (const [call, message] of cases) await rejectsUnchanged(store, call, 'VALIDATION_FAILED', message);
  });

  it('merge into an array-valued extension is rejected', async () => {
    const { cs, store } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C', List: [1, 2] });
    await rejectsUnchanged(
      store,
      () => cs.mergeExtension({ service_id: sid }, 'List', { a: 1 }),
      'EXTENSION_NOT_OBJECT',
    );
  });

  it('merge creates an absent extension whatever its name, Object.prototype names included', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    for (const name of ['toString', 'valueOf', 'hasOwnProperty']) {
      await cs.mergeExtension({ service_id: sid }, name, { a: 1 });
      await cs.mergeExtension({ service_id: sid }, name, { b: 2 });
    }
    const view = await cs.getService(sid, { extensions: ['toString', 'valueOf', 'hasOwnProperty'] });
    expect(view.toString).toEqual({ a: 1, b: 2 });
    expect(view.hasOwnProperty).toEqual({ a: 1, b: 2 });
  });

  it('a missing state named by a body field is STATE_NOT_FOUND with that field in details (L3, L5)', async () => {
    const { cs } = await setup();
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    const fieldOf = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e: { code: string; details?: { field?: string } }) => `${e.code} ${e.details?.field}`,
      );
    expect(await fieldOf(cs.startTask(sid, { state_id: 7 }))).toBe('STATE_NOT_FOUND state_id');
    expect(await fieldOf(cs.startState(sid, { previous_state_id: 7 }))).toBe(
      'STATE_NOT_FOUND previous_state_id',
    );
    expect(await fieldOf(cs.transition(sid, { from: { state_id: 7 } }))).toBe(
      'STATE_NOT_FOUND from.state_id',
    );
    // The state the call addresses (in the path) has no field: adapters may answer 404 for it.
    expect(await fieldOf(cs.endState(sid, 7))).toBe('STATE_NOT_FOUND undefined');
  });

  it('unknown or malformed service ids answer not-found with the documented message', async () => {
    const { cs, store } = await setup();
    for (const id of ['nope', '../x', '', 'a'.repeat(65)]) {
      await rejectsUnchanged(
        store,
        () => cs.getService(id),
        'SERVICE_NOT_FOUND',
        /There are no service found for : /,
      );
      await rejectsUnchanged(store, () => cs.startState(id, {}), 'SERVICE_NOT_FOUND');
    }
  });

  it('caller objects are copied: mutating a body or a result after the call changes nothing stored', async () => {
    const { cs } = await setup();
    const ext = { rating: 7 };
    const { service_id: sid } = await cs.startService({ customer_id: 'C', Feedback: ext });
    ext.rating = 1;
    const first = await cs.getService(sid, { extensions: ['Feedback'] });
    (first.Feedback as { rating: number }).rating = 2;
    expect((await cs.getService(sid, { extensions: ['Feedback'] })).Feedback).toEqual({ rating: 7 });
  });
});

describe('default service ids (docs/spec.md §2)', () => {
  it('are 22 URL-safe characters, unique, never starting with "-", every other first character drawn', () => {
    // 20,000 ids: with a plain base64url first character about 310 would start with "-".
    const ids = Array.from({ length: 20_000 }, randomServiceId);
    expect(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id[0])).size).toBe(63);
  });
});

describe('service ids from the application (EngineOptions.ids)', () => {
  it('a malformed id is a TypeError; a stored one is refused with SERVICE_EXISTS, writing nothing', async () => {
    let next = 'same-id';
    const store = new MemoryStore();
    const cs = await createContextServices({ store, ids: () => next });
    await cs.startService({ customer_id: 'C1' });
    await rejectsUnchanged(store, () => cs.startService({ customer_id: 'C2' }), 'SERVICE_EXISTS');
    await rejectsUnchanged(
      store,
      () => cs.compositeStart({ services: [{ service: { customer_id: 'C3' }, state: {} }] }),
      'SERVICE_EXISTS',
    );
    expect((await cs.getService('same-id')).customer_id).toBe('C1');
    next = 'not a valid id';
    await expect(cs.startService({ customer_id: 'C1' })).rejects.toThrow(TypeError);
    await cs.close();
  });
});
