/**
 * Durability suite (in process, through the engine): LevelDB with `sync: true` (every write
 * fsynced before it is acknowledged; concurrent writes share one fsync by group commit) beside
 * `sync: false`, with 64 concurrent callers each running conversations back to back.
 */
import { type ContextServices, createContextServices } from '@cxs/core';
import { LevelStore } from '@cxs/level';
import { engineConversation } from '../lib/conversation.js';
import { CountingStore } from '../lib/counting-store.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';

const CLIENTS = 64;

interface Outcome {
  writesPerSecond: number;
  batchesPerWrite: number;
}

/** 64 callers for `seconds`, each running conversations until the time is up. */
async function drive(sync: boolean, seconds: number): Promise<Outcome> {
  const dir = await tempDir(sync ? 'durable-sync' : 'durable-nosync');
  const level = new LevelStore({ location: dir, sync });
  const store = new CountingStore(level);
  store.recording = false;
  let cs: ContextServices | undefined;
  try {
    cs = await createContextServices({ store });
    const engine = cs;
    let n = 0;
    const deadline = performance.now() + seconds * 1000;
    const t0 = performance.now();
    const writesBefore = level.stats.writes;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < deadline) await engineConversation(engine, n++);
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const writes = level.stats.writes - writesBefore;
    return {
      writesPerSecond: store.totals.batches / elapsed,
      batchesPerWrite: store.totals.batches / Math.max(1, writes),
    };
  } finally {
    await cs?.close();
    await removeDir(dir);
  }
}

/** The durability suite. */
export async function durabilitySuite({ quick, rec }: SuiteContext): Promise<void> {
  const seconds = quick ? 3 : 15;
  const rounds = quick ? 1 : 2;
  const nosync: Outcome[] = [];
  const synced: Outcome[] = [];
  for (let r = 0; r < rounds; r++) {
    log(
      `durability: round ${r + 1}/${rounds}, ${CLIENTS} callers, ${seconds}s without sync, then ${seconds}s with sync`,
    );
    nosync.push(await drive(false, seconds));
    synced.push(await drive(true, seconds));
  }
  const mean = (xs: Outcome[], f: (o: Outcome) => number) => xs.reduce((a, o) => a + f(o), 0) / xs.length;
  rec.fact('durability', 'engine writes per LevelDB write (group commit)', {
    sync: Math.round(mean(synced, (o) => o.batchesPerWrite) * 10) / 10,
    nosync: Math.round(mean(nosync, (o) => o.batchesPerWrite) * 10) / 10,
  });
  rec.add({
    name: 'durability.level-sync.writes-per-s',
    value: mean(synced, (o) => o.writesPerSecond),
    unit: 'writes/s',
    baseline: { name: 'sync: false writes/s', value: mean(nosync, (o) => o.writesPerSecond) },
    target: { on: 'ratio', op: '>=', value: 0.25 },
    note: `${CLIENTS} concurrent callers running conversations in process; a write = one engine operation`,
  });
}
