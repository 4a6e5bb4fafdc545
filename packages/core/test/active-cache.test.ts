import { describe, expect, it } from 'vitest';
import type { BatchOp, BatchOptions, Range } from '../src/index.js';
import { createContextServices } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';

/** A memory store that counts the reads it serves and can be told to fail the next batch. */
class CountingStore extends MemoryStore {
  reads = 0;
  failNext = false;
  override async get(key: string) {
    this.reads++;
    return super.get(key);
  }
  override async getMany(keys: readonly string[]) {
    this.reads++;
    return super.getMany(keys);
  }
  override iterate(range: Range): AsyncIterable<[string, string]> {
    this.reads++;
    return super.iterate(range);
  }
  override async batch(ops: readonly BatchOp[], options?: BatchOptions) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return super.batch(ops, options);
  }
}

describe('aggregate cache of active services (single writer)', () => {
  it('serves the writes of a conversation without store reads, and forgets a service on a failed batch', async () => {
    const store = new CountingStore();
    const cs = await createContextServices({ store });
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    store.reads = 0;
    for (let s = 0; s < 3; s++) {
      const { state_id } = await cs.startState(sid, { state_type: 'st' });
      for (let t = 0; t < 2; t++) {
        const { task_id } = await cs.startTask(sid, { task_type: 'tt', state_id });
        await cs.endTask(sid, task_id, {});
      }
      await cs.startTask(sid, { task_type: 'left-open', state_id });
      await cs.endState(sid, state_id, {});
    }
    // The service record, the states and tasks the writes named and the active markers all came
    // from the cache: no write read the store.
    expect(store.reads).toBe(0);

    // A batch that fails leaves nothing stale: the next write reads the store again and sees
    // exactly what was stored.
    const { state_id } = await cs.startState(sid, { state_type: 'st' });
    store.failNext = true;
    await expect(cs.startTask(sid, { task_type: 'lost', state_id })).rejects.toThrow();
    store.reads = 0;
    const { task_id } = await cs.startTask(sid, { task_type: 'kept', state_id });
    expect(store.reads).toBeGreaterThan(0);
    await cs.endService(sid, {});
    const view = await cs.getService(sid, { completed_states: true, completed_tasks: true });
    const tasks = (view.completed_tasks ?? []) as { task_id: number; task_type: string }[];
    expect(tasks.map((t) => t.task_type).sort()).toEqual(
      ['kept', 'left-open', 'left-open', 'left-open', 'tt', 'tt', 'tt', 'tt', 'tt', 'tt'].sort(),
    );
    expect(tasks.some((t) => t.task_id === task_id)).toBe(true);
    expect(view.completed_states?.length).toBe(4);
    await cs.close();
  });

  it('is off with shared writers: every write reads the store', async () => {
    const store = new CountingStore({ sharedWriters: true });
    const cs = await createContextServices({ store });
    const { service_id: sid } = await cs.startService({ customer_id: 'C' });
    store.reads = 0;
    const { state_id } = await cs.startState(sid, { state_type: 'st' });
    await cs.startTask(sid, { task_type: 'tt', state_id });
    expect(store.reads).toBeGreaterThan(1);
    await cs.close();
  });
});
