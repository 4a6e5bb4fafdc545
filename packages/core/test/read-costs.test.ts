import { expect, it } from 'vitest';
import type { Range } from '../src/index.js';
import { createContextServices, SimulatedClock } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';

/** A memory store that counts the bytes of every key and value it hands out. */
class ReadCountingStore extends MemoryStore {
  read = 0;
  override async get(key: string) {
    const v = await super.get(key);
    this.read += key.length + (v?.length ?? 0);
    return v;
  }
  override async getMany(keys: readonly string[]) {
    const vs = await super.getMany(keys);
    vs.forEach((v, i) => {
      this.read += (keys[i] as string).length + (v?.length ?? 0);
    });
    return vs;
  }
  override async *iterate(range: Range): AsyncGenerator<[string, string]> {
    for await (const [k, v] of super.iterate(range)) {
      this.read += k.length + v.length;
      yield [k, v];
    }
  }
}

/** A memory store that counts the service records it hands out through `getMany`. */
class ServiceReadCountingStore extends MemoryStore {
  records = 0;
  override async getMany(keys: readonly string[]) {
    this.records += keys.filter((k) => /^t\/s\/[^/]+\/$/.test(k)).length;
    return super.getMany(keys);
  }
}

/** A service with 20 states carrying `stateExt` characters of attached data each, and 10 small tasks. */
async function build(stateExt: number) {
  const store = new ReadCountingStore();
  // No cache: every read goes to the store and is counted.
  const cs = await createContextServices({ store, clock: new SimulatedClock(), config: { cacheSize: 0 } });
  const { service_id: sid } = await cs.startService({ customer_id: 'C', Top: 'x'.repeat(stateExt) });
  for (let i = 0; i < 20; i++) {
    const { state_id } = await cs.startState(sid, { state_type: 's', Big: 'y'.repeat(stateExt), Small: i });
    await cs.startTask(sid, { task_type: 't', state_id, Note: i });
  }
  const cost = async (read: () => Promise<unknown>) => {
    store.read = 0;
    await read();
    return store.read;
  };
  return {
    tasks: await cost(() => cs.listTasks(sid)),
    tasksWithExtensions: await cost(() => cs.listTasks(sid, { extensions: ['Note'] })),
    task: await cost(() => cs.getTask(sid, 3, { extensions: ['*'] })),
    state: await cost(() => cs.getState(sid, 3, { extensions: ['Small'] })),
    stateWithTasks: await cost(() => cs.getState(sid, 3, { active_tasks: true, extensions: ['Task.*'] })),
    statesPage: await cost(() => cs.listStates(sid, { limit: 5, extensions: ['Small'] })),
    stateBig: await cost(() => cs.getState(sid, 3, { extensions: ['Big'] })),
    service: await cost(() => cs.getService(sid, { active_tasks: true, extensions: ['Task.Note'] })),
    close: () => cs.close(),
  };
}

it('docs/spec.md §10: reading part of a service reads only that part, not the extensions of other entities', async () => {
  const small = await build(10);
  const large = await build(200_000);
  for (const k of [
    'tasks',
    'tasksWithExtensions',
    'task',
    'state',
    'stateWithTasks',
    'statesPage',
    'service',
  ] as const) {
    // Only counters with more digits differ: nothing grows with the size of unselected extensions.
    expect(large[k] - small[k], k).toBeLessThan(100);
  }
  expect(large.tasks).toBeLessThan(10_000);
  // A selected extension is read, once.
  expect(large.stateBig - small.stateBig).toBeGreaterThanOrEqual(200_000 - 10);
  expect(large.stateBig).toBeLessThan(205_000);
  await small.close();
  await large.close();
});

it('a page of a long list reads the records of that page, not a fixed chunk of them', async () => {
  const store = new ServiceReadCountingStore();
  // No cache: every record read goes to the store and is counted.
  const cs = await createContextServices({ store, clock: new SimulatedClock(), config: { cacheSize: 0 } });
  for (let i = 0; i < 300; i++)
    await cs.startService({ customer_id: 'C', service_type: i % 2 ? 'odd' : 'even' });
  const recordsRead = async (q: Parameters<typeof cs.listCustomerServices>[1]) => {
    store.records = 0;
    const list = await cs.listCustomerServices('C', q);
    return { listed: list.length, records: store.records };
  };
  expect(await recordsRead({ limit: 5 })).toEqual({ listed: 5, records: 5 });
  expect(await recordsRead({ limit: 5, offset: 20 })).toEqual({ listed: 5, records: 25 });
  // A filter drops half of them: the chunks grow until the page is full.
  const odd = await recordsRead({ limit: 5, service_types: ['odd'] });
  expect(odd.listed).toBe(5);
  expect(odd.records).toBeLessThanOrEqual(15);
  expect(await recordsRead({})).toEqual({ listed: 300, records: 300 });
  await cs.close();
});
