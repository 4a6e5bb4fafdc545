import { expect, it } from 'vitest';
import { FillGuard } from '../src/fill-guard.js';
import type { BatchOp, BatchOptions } from '../src/index.js';
import { createContextServices } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';

/** A promise with its resolve, to hold a store call until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

/**
 * A memory store that counts the service records read through `getMany` and can hold its next
 * batch (before applying it) or its next `getMany` (after reading, before returning).
 */
class HeldStore extends MemoryStore {
  records = 0;
  holdBatch: { reached: () => void; until: Promise<void> } | undefined;
  holdRead: { reached: () => void; until: Promise<void> } | undefined;
  override async getMany(keys: readonly string[]) {
    this.records += keys.filter((k) => /^t\/s\/[^/]+\/$/.test(k)).length;
    const values = await super.getMany(keys);
    const hold = this.holdRead;
    this.holdRead = undefined;
    if (hold !== undefined) {
      hold.reached();
      await hold.until;
    }
    return values;
  }
  override async batch(ops: readonly BatchOp[], options?: BatchOptions) {
    const hold = this.holdBatch;
    this.holdBatch = undefined;
    if (hold !== undefined) {
      hold.reached();
      await hold.until;
    }
    return super.batch(ops, options);
  }
}

/** Customer C's 3 services, then enough others that C's records are no longer in the 4-record cache. */
async function setUp() {
  const store = new HeldStore();
  const cs = await createContextServices({ store, config: { cacheSize: 4 } });
  const mine: string[] = [];
  for (let i = 0; i < 3; i++) mine.push((await cs.startService({ customer_id: 'C' })).service_id);
  const others: string[] = [];
  for (let i = 0; i < 4; i++) others.push((await cs.startService({ customer_id: `other-${i}` })).service_id);
  return { store, cs, mine, others: others as [string, ...string[]] };
}

it('a list fills the record cache while another service is being written', async () => {
  const { store, cs, others } = await setUp();
  const reached = gate();
  const release = gate();
  store.holdBatch = { reached: reached.open, until: release.opened };
  const write = cs.startTask(others[0], { task_type: 't' });
  await reached.opened;
  store.records = 0;
  expect(await cs.listCustomerServices('C')).toHaveLength(3);
  expect(store.records).toBe(3);
  release.open();
  await write;
  store.records = 0;
  expect(await cs.listCustomerServices('C')).toHaveLength(3);
  expect(store.records).toBe(0);
  await cs.close();
});

it('a read that overlaps a write of the same service does not put the older record in the cache', async () => {
  const { store, cs, mine } = await setUp();
  const target = mine[0] as string;
  const reached = gate();
  const release = gate();
  store.holdRead = { reached: reached.open, until: release.opened };
  // The list reads the records, then waits while one of the services is ended.
  const list = cs.listCustomerServices('C');
  await reached.opened;
  await cs.endService(target, { disposition: 'done' });
  release.open();
  expect((await list).find((s) => s.service_id === target)?.completed).toBeUndefined();
  expect((await cs.getService(target)).completed).toBeDefined();
  const again = await cs.listCustomerServices('C');
  expect(again.find((s) => s.service_id === target)?.completed).toBeDefined();
  await cs.close();
});

it('the fill guard forgets old keys conservatively: a read older than what it forgot does not fill', () => {
  const guard = new FillGuard(2);
  const old = guard.epoch;
  guard.begin('a');
  expect(guard.mayFill('a', guard.epoch)).toBe(false); // in flight
  guard.end('a');
  const afterA = guard.epoch;
  expect(guard.mayFill('a', old)).toBe(false);
  expect(guard.mayFill('a', afterA)).toBe(true);
  expect(guard.mayFill('b', old)).toBe(true);
  for (const k of ['b', 'c']) {
    guard.begin(k);
    guard.end(k);
  }
  // 'a' was forgotten: a read from before its write may not fill it, nor any other key it never saw.
  expect(guard.mayFill('a', old)).toBe(false);
  expect(guard.mayFill('z', old)).toBe(false);
  expect(guard.mayFill('a', afterA)).toBe(true);
  expect(guard.mayFill('z', guard.epoch)).toBe(true);
});
