/** The readiness probe (docs/spec.md §13): a read and a write on a reserved key, each with a timeout. */
import { describe, expect, it } from 'vitest';
import type { BatchOp, Store } from '../src/index.js';
import { createContextServices, isContextServicesError, probeStore } from '../src/index.js';
import { MemoryStore } from '../src/memory/index.js';
import { verifyStoreIntegrity } from '../src/testing/index.js';

/** A memory store whose writes can be made to fail or hang, as a full disk or a lost database would. */
class FaultyStore extends MemoryStore {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  override batch(ops: readonly BatchOp[]): Promise<void> {
    if (this.mode === 'fail') return Promise.reject(new Error('ENOSPC: no space left on device'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    return super.batch(ops);
  }
}

async function reason(p: Promise<unknown>): Promise<{ code: string; message: string; step: unknown }> {
  try {
    await p;
  } catch (e) {
    if (!isContextServicesError(e)) throw e;
    return { code: e.code, message: e.message, step: e.details?.step };
  }
  throw new Error('expected a rejection');
}

describe('ready()', () => {
  it('resolves on a working store and leaves no data behind but its reserved key', async () => {
    const store = new FaultyStore();
    const cs = await createContextServices({ store });
    await cs.ready();
    const keys: string[] = [];
    for await (const [k] of (store as Store).iterate({})) keys.push(k);
    expect(keys).toEqual(['h/ready']);
    // The probe's key is no inconsistency for the full-store check.
    await cs.startService({ customer_id: 'C' });
    expect(await verifyStoreIntegrity(store)).toEqual([]);
    await cs.close();
  });

  it('names the reason when the write fails (a full disk), and when the store hangs', async () => {
    const store = new FaultyStore();
    const cs = await createContextServices({ store });
    store.mode = 'fail';
    const failed = await reason(cs.ready());
    expect(failed).toMatchObject({ code: 'STORE_UNAVAILABLE', step: 'write' });
    expect(failed.message).toContain('ENOSPC');
    store.mode = 'hang';
    const hung = await reason(probeStore(store, { timeoutMs: 20 }));
    expect(hung).toMatchObject({ code: 'STORE_UNAVAILABLE', step: 'write' });
    expect(hung.message).toContain('within 20 ms');
    store.mode = 'ok';
    await cs.ready();
    await cs.close();
    expect((await reason(cs.ready())).code).toBe('CLOSED');
  });
});
