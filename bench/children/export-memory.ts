/**
 * Child process of the scale suite: open a LevelDB directory written by the engine, stream a full
 * export through the engine's `exportServices` (every service with its states, tasks and
 * extensions, serialized to JSON and dropped, as the stream route does before the socket), and
 * sample this process's memory throughout. Then scan the whole store raw, as the baseline.
 * Prints one JSON line. Run alone: nothing else may have the directory open.
 * `node --expose-gc --conditions=source --import tsx bench/children/export-memory.ts <dir>`
 */
import { createContextServices } from '@cxs/core';
import { LevelStore } from '@cxs/level';

const MiB = 2 ** 20;
const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: export-memory.ts <leveldb dir>');

const store = new LevelStore({ location: dir });
const cs = await createContextServices({ store });
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
let peakRss = before.rss;
let peakHeap = before.heapUsed;
const sample = () => {
  const m = process.memoryUsage();
  if (m.rss > peakRss) peakRss = m.rss;
  if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
};
const timer = setInterval(sample, 5);

let services = 0;
let bytes = 0;
const t0 = performance.now();
const items = await cs.exportServices({ time_from: '1970-01-01T00:00:00.000Z', export_content: true });
for await (const item of items) {
  bytes += JSON.stringify(item).length + 1;
  if (++services % 500 === 0) sample();
}
const exportSeconds = (performance.now() - t0) / 1000;
clearInterval(timer);
sample();

// Baseline: read every key and value of the store once, in order, with no engine.
const t1 = performance.now();
let keys = 0;
let storeBytes = 0;
for await (const [k, v] of store.iterate({})) {
  keys++;
  storeBytes += k.length + v.length;
}
const scanSeconds = (performance.now() - t1) / 1000;
await cs.close();

process.stdout.write(
  `${JSON.stringify({
    services,
    exportSeconds,
    exportBytes: bytes,
    rssBeforeMiB: before.rss / MiB,
    heapBeforeMiB: before.heapUsed / MiB,
    peakRssMiB: peakRss / MiB,
    peakHeapMiB: peakHeap / MiB,
    keys,
    storeBytes,
    scanSeconds,
  })}\n`,
);
