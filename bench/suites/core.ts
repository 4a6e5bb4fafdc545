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
import { Bench } from 'tinybench';
import { engineConversation } from '../lib/conversation.js';
import { BatchTemplate, CountingStore } from '../lib/counting-store.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';

/** Conversations in flight at once in each iteration (many callers, as a server has). */
export const CONCURRENT = 32;

/** One benchmark iteration: `fn` run {@link CONCURRENT} times at once. */
export function many(fn: () => Promise<void>): () => Promise<void> {
  return () => Promise.all(Array.from({ length: CONCURRENT }, fn)).then(() => undefined);
}

/** The tinybench of the conversation figures (the core suite's and the postgres suite's). */
export function conversationBench(quick: boolean, iterations: number): Bench {
  return new Bench({ time: quick ? 1500 : 8000, warmupTime: quick ? 300 : 2000, iterations, throws: true });
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
    const bench = conversationBench(quick, 5);
    bench
      .add(
        'raw memory',
        many(() => replay(rawMemory, template)),
      )
      .add(
        'engine memory',
        many(() => engineConversation(csMemory, n++)),
      )
      .add(
        'raw level',
        many(() => replay(rawLevel, template)),
      )
      .add(
        'engine level',
        many(() => engineConversation(csLevel, n++)),
      );
    log(`core: ${CONCURRENT} concurrent conversations per iteration, ${quick ? 1.5 : 8}s per task`);
    await bench.run();
    const perSecond = (name: string): number => {
      const task = bench.getTask(name);
      const r = task?.result;
      if (r === undefined || !('period' in r)) throw new Error(`core: no result for ${name}`);
      return (CONCURRENT * 1000) / r.period;
    };
    for (const store of ['memory', 'level']) {
      rec.add({
        name: `core.conversation.${store}`,
        value: perSecond(`engine ${store}`),
        unit: 'conversations/s',
        baseline: { name: `raw ${store} store, same batches`, value: perSecond(`raw ${store}`) },
        ...(store === 'level' ? { target: { on: 'ratio', op: '>=', value: 0.5 } } : {}),
        note: `${CONCURRENT} conversations in flight; each ${batches} batches, ${ops} keys, ${bytes} bytes`,
      });
    }
  } finally {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(raws.map((s) => s.close()));
    await Promise.all(dirs.map(removeDir));
  }
}
