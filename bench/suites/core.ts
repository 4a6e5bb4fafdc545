/**
 * Core suite: conversations per second through the engine (`createContextServices`) on the memory
 * and LevelDB stores, beside the raw store writing the same batches. A counting wrapper records
 * the batches of one conversation; the baseline replays them with a fresh service id on a fresh
 * raw store (same number of batches, keys and bytes; no reads, no validation, no engine).
 */

import { randomBytes } from 'node:crypto';
import { type ContextServices, createContextServices, type Store } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { LevelStore } from '@cxs/level';
import { engineConversation } from '../lib/conversation.js';
import { BatchTemplate, CountingStore } from '../lib/counting-store.js';
import { summarizeRounds, timeInterleaved } from '../lib/stats.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';

/** Conversations in flight at once in each iteration (many callers, as a server has). */
export const CONCURRENT = 32;

/** One benchmark iteration: `fn` run {@link CONCURRENT} times at once. */
export function many(fn: () => Promise<void>): () => Promise<void> {
  return () => Promise.all(Array.from({ length: CONCURRENT }, fn)).then(() => undefined);
}

/** Record one conversation's batches on a memory store. */
async function recordTemplate(): Promise<{
  template: BatchTemplate;
  batches: number;
  ops: number;
  bytes: number;
}> {
  const store = new CountingStore(new MemoryStore());
  const cs = await createContextServices({ store });
  await engineConversation(cs, 1);
  const sid = store.recorded[0]?.find((op) => op.key.includes('/s/'))?.key.split('/')[2];
  if (sid === undefined) throw new Error('no service key in the first batch');
  await cs.close();
  return { template: new BatchTemplate(store.recorded, sid), ...store.totals };
}

async function replay(store: Store, template: BatchTemplate): Promise<void> {
  for (const ops of template.batches(randomBytes(16).toString('base64url'))) await store.batch(ops);
}

/** The core suite. */
export async function coreSuite({ quick, rec }: SuiteContext): Promise<void> {
  const { template, batches, ops, bytes } = await recordTemplate();
  rec.fact('core', 'one conversation writes', { batches, keys: ops, bytes, concurrent: CONCURRENT });
  const dirs = await Promise.all([tempDir('core-engine'), tempDir('core-raw')]);
  const engines: ContextServices[] = [];
  const raws: Store[] = [];
  try {
    const csMemory = await createContextServices({ store: new MemoryStore() });
    const csLevel = await createContextServices({ store: new LevelStore({ location: dirs[0] as string }) });
    engines.push(csMemory, csLevel);
    const rawMemory = new MemoryStore();
    const rawLevel = new LevelStore({ location: dirs[1] as string });
    await rawMemory.open();
    await rawLevel.open();
    raws.push(rawMemory, rawLevel);
    let n = 0;
    log(`core: ${CONCURRENT} concurrent conversations per iteration, engine and raw store interleaved`);
    for (const [store, engine, raw] of [
      ['memory', csMemory, rawMemory],
      ['level', csLevel, rawLevel],
    ] as const) {
      // Iterations of the engine and of the raw store alternate (in both orders), so that neither
      // runs while the other's leftovers (LevelDB's background compactions, garbage) are worked off.
      const pairs = await timeInterleaved(
        quick ? 4 : 15,
        quick ? 4 : 8,
        quick ? 3 : 10,
        many(() => engineConversation(engine, n++)),
        many(() => replay(raw, template)),
      );
      const [e, r] = [summarizeRounds(pairs.a), summarizeRounds(pairs.b)];
      const cpu = (x: { cpuUs: number }) => Math.round(x.cpuUs / CONCURRENT);
      rec.fact('core', `conversation on ${store}: CPU µs per conversation`, { engine: cpu(e), raw: cpu(r) });
      rec.add({
        name: `core.conversation.${store}`,
        value: (CONCURRENT * 1000) / e.p50,
        unit: 'conversations/s',
        baseline: { name: `raw ${store} store, same batches`, value: (CONCURRENT * 1000) / r.p50 },
        ...(store === 'level' ? { target: { on: 'ratio', op: '>=', value: 0.5 } } : {}),
        note: `${CONCURRENT} conversations in flight; each ${batches} batches, ${ops} keys, ${bytes} bytes; median of ${pairs.a.length} rounds, interleaved`,
      });
    }
  } finally {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(raws.map((s) => s.close()));
    await Promise.all(dirs.map(removeDir));
  }
}
