import { expect, it } from 'vitest';
import { createContextServices, type ServiceView, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { verifyStoreIntegrity } from '../src/testing/index.js';
import { dump, isServiceTooLarge, rejectsUnchanged, setup } from './helpers.js';

const BUDGET = 300_000;
const WHOLE = {
  active_states: true,
  completed_states: true,
  active_tasks: true,
  completed_tasks: true,
  extensions: ['*'],
};

it('docs/spec.md §10: a service is held to its stored size budget; one just under it reads, lists, exports and imports whole', async () => {
  const { cs, store } = await setup({ limits: { serviceBytes: BUDGET } });
  const { service_id: sid } = await cs.startService({ customer_id: 'C', Top: 'a'.repeat(50_000) });
  const { state_id } = await cs.startState(sid, { Big: 'b'.repeat(50_000) });
  const { task_id } = await cs.startTask(sid, { state_id, Big: 'c'.repeat(50_000) });
  // Fill the service 10,000 characters at a time, on the service, its state and its task in turn,
  // until a write is refused: the refused write leaves the store as it was.
  const refs = [{ service_id: sid }, { service_id: sid, state_id }, { service_id: sid, task_id }];
  let filled = 0;
  for (;;) {
    const ref = refs[filled % 3] as (typeof refs)[number];
    const before = await dump(store);
    try {
      await cs.putExtension(ref, `Fill${filled}`, 'f'.repeat(10_000));
    } catch (e) {
      expect(isServiceTooLarge(e), String(e)).toBe(true);
      expect(await dump(store)).toEqual(before);
      break;
    }
    filled++;
  }
  expect(filled).toBeGreaterThan(5);
  // Every other kind of growing write is refused too, nothing written.
  const grow = 'g'.repeat(10_000);
  for (const write of [
    () => cs.startTask(sid, { Note: grow }),
    () => cs.startState(sid, { Note: grow }),
    () => cs.endTask(sid, task_id, { Note: grow }),
    () => cs.endState(sid, state_id, { Note: grow }),
    () => cs.endService(sid, { Note: grow }),
    () => cs.mergeExtension({ service_id: sid, state_id }, 'Obj', { grow }),
    () => cs.associate('C', sid, { Note: grow }),
    () => cs.putExtension({ service_id: sid }, 'Top', 'a'.repeat(60_000)),
  ]) {
    await rejectsUnchanged(store, write, 'SERVICE_TOO_LARGE', /budget/);
  }
  expect(await verifyStoreIntegrity(store)).toEqual([]);

  // A service just under its budget is read whole, listed and exported in one piece.
  const whole = await cs.getService(sid, WHOLE);
  const text = JSON.stringify(whole);
  expect(text.length).toBeGreaterThan(BUDGET - 20_000);
  expect(text.length).toBeLessThan(BUDGET);
  expect(whole.active_states?.[0]).toHaveProperty('Fill1');
  expect(whole.active_tasks?.[0]).toHaveProperty('Fill2');
  expect(await cs.listCustomerServices('C', WHOLE)).toEqual([whole]);
  const exported: ServiceView[] = [];
  for await (const s of await cs.exportServices({
    time_from: '1970-01-01T00:00:00Z',
    time_to: '9999-01-01T00:00:00Z',
    export_content: true,
  }))
    exported.push(s);
  expect(exported).toEqual([whole]);

  // Import honours the budget: refused past a smaller one, accepted under the same one.
  for (const [budget, ok] of [
    [BUDGET / 2, false],
    [BUDGET, true],
  ] as const) {
    const target = new MemoryStore();
    const other = await createContextServices({
      store: target,
      clock: new SimulatedClock(),
      config: { limits: { serviceBytes: budget } },
    });
    if (ok) {
      await other.importServices(exported);
      expect(await other.getService(sid, WHOLE)).toEqual(whole);
    } else {
      await rejectsUnchanged(target, () => other.importServices(exported), 'SERVICE_TOO_LARGE');
    }
    await other.close();
  }

  // A write that shrinks the service always passes, and frees room for the next.
  await cs.putExtension({ service_id: sid }, 'Top', 'small');
  await cs.startTask(sid, { Note: grow });
  expect(await verifyStoreIntegrity(store)).toEqual([]);
  await cs.close();
});

it('the budget defaults to 64 MiB and is configured like the other limits', async () => {
  const { cs } = await setup();
  const { service_id: sid } = await cs.startService({ customer_id: 'C' });
  // Five values of 1 MiB minus a little (the body limit of docs/spec.md §10) fit easily.
  for (let i = 0; i < 5; i++) await cs.putExtension({ service_id: sid }, `E${i}`, 'x'.repeat(1_000_000));
  await cs.close();
  await expect(setup({ limits: { serviceBytes: 0 } })).rejects.toThrow(/serviceBytes/);
});
