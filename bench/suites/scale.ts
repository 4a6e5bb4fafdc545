/**
 * Scale suite (LevelDB, in process through the engine): latency of listing a customer's services
 * (beside LevelDB's own range read of the same index entries) and of starting a task on a random
 * stored service as the number of stored services grows, and of starting a task on services that
 * already hold 1, 100 and 10,000 tasks. At each size from 1e4 on, the stream export's memory is
 * measured in a child process on the same data (./maintenance.ts); the largest data set is then
 * purged under load (./maintenance.ts).
 */
import { type ContextServices, createContextServices } from '@cxs/core';
import { seededRandom } from '@cxs/core/testing';
import { LevelStore } from '@cxs/level';
import { serviceStartBody } from '../lib/conversation.js';
import {
  runConcurrent,
  secondsSince,
  summarize,
  summarizeRounds,
  timeInterleaved,
  timeSequential,
} from '../lib/stats.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';
import { exportMemory, purgeUnderLoad } from './maintenance.js';

/** The customers whose lists are measured, in turn: each has 10 services whatever the total. */
const CUSTOMERS = Array.from({ length: 16 }, (_, c) => `scale-customer-${c}`);
/** A customer's index entries (key layout of packages/core/src/keys.ts, single-tenant namespace, `-` escaped). */
const customerIndex = (customer: string) => `t/c/${customer.replaceAll('-', '%002d')}/`;
const POPULATE_CONCURRENCY = 64;

/** The classic-level methods used here, which the `level` package's types leave out. */
interface Compactable {
  compactRange(start: string, end: string): Promise<void>;
}

/**
 * Compact the whole key space (LevelDB writes the memtable to a table file, then merges every
 * level down): the list and the raw range read are measured on a store in the same state at every
 * size, read from table files, with no background compaction running.
 */
async function compactAll(store: LevelStore): Promise<number> {
  const t0 = performance.now();
  await (store.db as unknown as Compactable).compactRange('\u0000', '\u007f');
  return secondsSince(t0);
}

/** Deterministic pseudo-random integers below `n`, so every run picks the same services. */
export function prng(seed: number): (n: number) => number {
  const random = seededRandom(seed);
  return (n) => Math.floor(random() * n);
}

function openEngine(location: string, store = new LevelStore({ location })): Promise<ContextServices> {
  return createContextServices({
    store,
    // The tasks-per-service figures need more than the default 10,000 states + tasks per service.
    config: { limits: { entitiesPerService: 20_000 } },
  });
}

/** `1e4` for powers of ten from 1,000 on, the plain number below. */
export function label(n: number): string {
  return n >= 1000 ? `1e${Math.round(Math.log10(n))}` : String(n);
}

interface Figure {
  size: number;
  p50: number;
  p99: number;
  /** Mean CPU µs per call, where measured. */
  cpuUs?: number;
}

/** Records for one curve: every size beside the smallest; the target on the largest. */
function curve(
  rec: SuiteContext['rec'],
  name: string,
  unitOf: string,
  points: Figure[],
  targetOnLast = true,
): void {
  const first = points[0] as Figure;
  for (const p of points) {
    const last = targetOnLast && p === points[points.length - 1] && points.length > 1;
    rec.add({
      name: `${name}.p50@${label(p.size)}${unitOf}`,
      value: p.p50,
      unit: 'ms',
      baseline: { name: `p50 @${label(first.size)}${unitOf}`, value: first.p50 },
      ...(last ? { target: { on: 'ratio', op: '<=', value: 1.5 } } : {}),
    });
    rec.add({
      name: `${name}.p99@${label(p.size)}${unitOf}`,
      value: p.p99,
      unit: 'ms',
      baseline: { name: `p99 @${label(first.size)}${unitOf}`, value: first.p99 },
    });
  }
}

async function servicesCurve(ctx: SuiteContext): Promise<void> {
  const { quick, rec } = ctx;
  const sizes = quick ? [1e3, 1e4] : [1e3, 1e4, 1e5, 1e6];
  const purgeCount = quick ? 1e4 : 1e5;
  const samples = quick ? 300 : 1000;
  // The list beside the raw range read: rounds of interleaved pairs (./lib/stats.ts).
  const rounds = quick ? 10 : 20;
  const pairsPerRound = quick ? 200 : 500;
  const dir = await tempDir('scale');
  const location = `${dir}/data`;
  let level = new LevelStore({ location });
  let cs = await openEngine(location, level);
  const sids: string[] = [];
  const raws: Figure[] = [];
  const rawLists: Figure[] = [];
  const pick = prng(42);
  const lists: Figure[] = [];
  const starts: Figure[] = [];
  const exports: Awaited<ReturnType<typeof exportMemory>>[] = [];
  let purgeLimit: string | undefined;
  try {
    for (const customer of CUSTOMERS)
      for (let i = 0; i < 10; i++) await cs.startService({ ...serviceStartBody(i), customer_id: customer });
    let populateSeconds = 0;
    for (const size of sizes) {
      const from = sids.length;
      const t0 = performance.now();
      await runConcurrent(size - from, POPULATE_CONCURRENCY, async (i) => {
        const { service_id } = await cs.startService(serviceStartBody(from + i));
        sids.push(service_id);
      });
      const s = secondsSince(t0);
      populateSeconds += s;
      rec.fact('scale', `populate to ${label(size)} services`, {
        seconds: Math.round(s * 10) / 10,
        servicesPerSecond: Math.round((size - from) / s),
        concurrency: POPULATE_CONCURRENCY,
      });
      if (size === purgeCount) {
        await new Promise((r) => setTimeout(r, 2));
        purgeLimit = new Date().toISOString();
      }
      log(`scale: ${label(size)} services stored, measuring`);
      const start = summarize(
        await timeSequential(samples, 50, () =>
          cs.startTask(sids[pick(sids.length)] as string, { task_type: 'follow-up', media_type: 'voice' }),
        ),
      );
      starts.push({ size, p50: start.p50, p99: start.p99 });
      // The store's own cost at this size: a raw get of a random service record (key layout of
      // packages/core/src/keys.ts, single-tenant namespace).
      const store = level;
      const raw = summarize(
        await timeSequential(samples, 50, () => store.get(`t/s/${sids[pick(sids.length)] as string}/`)),
      );
      raws.push({ size, p50: raw.p50, p99: raw.p99 });
      // The list beside LevelDB's own cost of it, a raw range read of the same customer's index
      // entries (the engine reads that range, then the records from its cache), interleaved, on a
      // freshly compacted store.
      rec.fact('scale', `compact before the lists at ${label(size)} services`, {
        seconds: Math.round((await compactAll(store)) * 10) / 10,
      });
      const customer = (i: number) => CUSTOMERS[i % CUSTOMERS.length] as string;
      const pairs = await timeInterleaved(
        rounds,
        pairsPerRound,
        // Enough for the list's code to be optimized before the first size is measured.
        1000,
        async (i) => {
          const n = (await cs.listCustomerServices(customer(i))).length;
          if (n !== 10) throw new Error(`scale: the list holds ${n} services, not 10`);
        },
        async (i) => {
          const prefix = customerIndex(customer(i));
          let n = 0;
          for await (const _ of store.iterate({ gte: prefix, lt: `${prefix}\uffff` })) n++;
          if (n !== 10) throw new Error(`scale: the customer index holds ${n} entries, not 10`);
        },
      );
      for (const [into, samples, what] of [
        [lists, pairs.a, 'list'],
        [rawLists, pairs.b, 'raw range read'],
      ] as const) {
        const r = summarizeRounds(samples);
        into.push({ size, p50: r.p50, p99: r.p99, cpuUs: r.cpuUs });
        rec.fact('scale', `${what} at ${label(size)} services`, {
          calls: r.n,
          roundP50Ms: r.p50Range.map((v) => Math.round(v * 10_000) / 10_000),
        });
      }
      if (size >= (quick ? 1e3 : 1e4)) {
        await cs.close();
        exports.push(await exportMemory(rec, location, size));
        level = new LevelStore({ location });
        cs = await openEngine(location, level);
      }
    }
    rec.fact('scale', 'population total seconds', Math.round(populateSeconds));
    // The list's target is on its growth beside the raw range read's growth (below).
    curve(rec, 'scale.list-customer-services', ' services', lists, false);
    curve(rec, 'scale.raw-range-customer-index', ' services', rawLists, false);
    const firstList = lists[0] as Figure;
    const firstRaw = rawLists[0] as Figure;
    const lastList = lists[lists.length - 1] as Figure;
    const lastRaw = rawLists[rawLists.length - 1] as Figure;
    if (lists.length > 1) {
      rec.add({
        name: `scale.list-customer-services.growth@${label(lastList.size)} services`,
        value: lastList.p50 / firstList.p50,
        unit: '×',
        baseline: {
          name: `raw range read growth ${label(firstRaw.size)}→${label(lastRaw.size)}`,
          value: lastRaw.p50 / firstRaw.p50,
        },
        target: { on: 'ratio', op: '<=', value: 1.5 },
        note: 'p50 growth of the list from the smallest size, over the p50 growth of the raw LevelDB range read (interleaved, compacted store)',
      });
      for (const [name, points] of [
        ['scale.list-customer-services', lists],
        ['scale.raw-range-customer-index', rawLists],
      ] as const) {
        for (const p of points) {
          rec.add({
            name: `${name}.cpu-us@${label(p.size)} services`,
            value: p.cpuUs as number,
            unit: 'µs',
            baseline: { name: `CPU @${label(firstList.size)} services`, value: points[0]?.cpuUs as number },
            note: 'mean CPU time per call, whole process (LevelDB threads included)',
          });
        }
      }
      rec.add({
        name: `scale.list-customer-services.cpu-growth@${label(lastList.size)} services`,
        value: (lastList.cpuUs as number) / (firstList.cpuUs as number),
        unit: '×',
        baseline: {
          name: `raw range read CPU growth ${label(firstRaw.size)}→${label(lastRaw.size)}`,
          value: (lastRaw.cpuUs as number) / (firstRaw.cpuUs as number),
        },
        note: 'the same growth in CPU time per call',
      });
    }
    curve(rec, 'scale.start-task-random-service', ' services', starts);
    for (const r of raws) {
      rec.add({
        name: `scale.raw-get-random-service.p50@${label(r.size)} services`,
        value: r.p50,
        unit: 'ms',
        baseline: {
          name: `p50 @${label((raws[0] as Figure).size)} services`,
          value: (raws[0] as Figure).p50,
        },
        note: 'LevelDB get of a random service record, no engine: the store itself as data grows',
      });
    }
    await cs.close();
    const firstExport = exports[0];
    const lastExport = exports[exports.length - 1];
    if (firstExport !== undefined && lastExport !== undefined && exports.length > 1) {
      const span = `${label(firstExport.size)}→${label(lastExport.size)}`;
      rec.add({
        name: `maintenance.export.peak-rss-anon-growth ${span}`,
        value: lastExport.peakAnonMiB - firstExport.peakAnonMiB,
        unit: 'MiB',
        target: { on: 'value', op: '<', value: 64 },
        note: 'engine exportServices with export_content, in a child process; RSS without mapped files',
      });
      rec.add({
        name: `maintenance.export.peak-rss-growth ${span}`,
        value: lastExport.peakRssMiB - firstExport.peakRssMiB,
        unit: 'MiB',
        note: 'whole RSS, including the mapped LevelDB table files',
      });
      rec.add({
        name: `maintenance.export.peak-heap-growth ${span}`,
        value: lastExport.peakHeapMiB - firstExport.peakHeapMiB,
        unit: 'MiB',
      });
    }
    await purgeUnderLoad(ctx, dir, purgeLimit ?? new Date().toISOString(), lastExport);
  } finally {
    await cs.close();
    await removeDir(dir);
  }
}

async function tasksCurve({ quick, rec }: SuiteContext): Promise<void> {
  const samples = quick ? 300 : 1000;
  const dir = await tempDir('scale-tasks');
  const cs = await openEngine(`${dir}/data`);
  const points: Figure[] = [];
  try {
    for (const tasks of [1, 100, 10_000]) {
      // Enough services that the measured starts barely change each one's task count.
      const services = tasks === 1 ? samples : tasks === 100 ? Math.ceil(samples / 5) : quick ? 2 : 8;
      const t0 = performance.now();
      const sids: string[] = [];
      await runConcurrent(services, 64, async (i) => {
        const { service_id } = await cs.startService(serviceStartBody(i));
        for (let t = 0; t < tasks; t++) await cs.startTask(service_id, { task_type: 'prepared' });
        sids.push(service_id);
      });
      const s = secondsSince(t0);
      rec.fact('scale', `populate ${services} services × ${tasks} tasks`, {
        seconds: Math.round(s * 10) / 10,
        tasksPerSecond: Math.round((services * tasks) / s),
      });
      log(`scale: services with ${tasks} tasks, measuring`);
      let k = 0;
      const r = summarize(
        await timeSequential(samples, Math.min(50, services), () =>
          cs.startTask(sids[k++ % sids.length] as string, { task_type: 'follow-up', media_type: 'voice' }),
        ),
      );
      points.push({ size: tasks, p50: r.p50, p99: r.p99 });
    }
    curve(rec, 'scale.start-task-on-service', ' tasks', points);
  } finally {
    await cs.close();
    await removeDir(dir);
  }
}

/** The scale suite (with the maintenance figures that reuse its data). */
export async function scaleSuite(ctx: SuiteContext): Promise<void> {
  await tasksCurve(ctx);
  await servicesCurve(ctx);
}
