import { expect, it } from 'vitest';
import type { BatchOp } from '../src/index.js';
import { createContextServices, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';

/** A memory store that records the size of every batch written. */
class MeasuringStore extends MemoryStore {
  last = { ops: 0, bytes: 0 };
  override async batch(ops: readonly BatchOp[]) {
    let bytes = 0;
    for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    this.last = { ops: ops.length, bytes };
    return super.batch(ops);
  }
}

it('a state or task write rewrites neither the other children nor the service extensions', async () => {
  const store = new MeasuringStore();
  const clock = new SimulatedClock();
  const cs = await createContextServices({
    store,
    clock,
    config: { limits: { entitiesPerService: 20_000 } },
  });
  // Every write one millisecond after the last, so every write moves the expiry index alike.
  const tick = () => clock.advance(1);
  const cost = async (sid: string) => {
    tick();
    const { state_id } = await cs.startState(sid, { state_type: 's' });
    const start = store.last;
    tick();
    const { task_id } = await cs.startTask(sid, { task_type: 't', state_id });
    const task = store.last;
    tick();
    await cs.endTask(sid, task_id);
    const endTask = store.last;
    tick();
    await cs.endState(sid, state_id);
    return { start, task, endTask, endState: store.last };
  };
  const empty = (await cs.startService({ customer_id: 'C' })).service_id;
  const big = (await cs.startService({ customer_id: 'C', Big: { blob: 'x'.repeat(500_000) } })).service_id;
  for (let i = 0; i < 5_000; i++) await cs.startTask(big, { task_type: 'filler' });
  await cs.putExtension({ service_id: big }, 'Other', { blob: 'y'.repeat(200_000) });
  const small = await cost(empty);
  const large = await cost(big);
  for (const k of ['start', 'task', 'endTask', 'endState'] as const) {
    expect(large[k].ops, k).toBe(small[k].ops);
    // Only the service header grows a little (its counters have more digits).
    expect(large[k].bytes, k).toBeLessThan(small[k].bytes + 100);
    expect(large[k].bytes, k).toBeLessThan(2_000);
  }
  expect((await cs.getService(big, { extensions: ['Big'] })).Big).toEqual({ blob: 'x'.repeat(500_000) });
  await cs.close();
});
