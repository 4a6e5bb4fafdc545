/**
 * Child process of the scale suite: open a LevelDB directory written by the engine, scan the whole
 * store raw twice (the first pass opens every table file, so that LevelDB's own table cache is
 * already full when the export starts; the second, timed, is the throughput baseline), then
 * stream a full export through the engine's `exportServices` (every service with its states,
 * tasks and extensions, serialized to JSON and dropped, as the stream route does before the
 * socket), sampling this process's memory throughout. RSS counts the pages of the table files
 * LevelDB maps into memory (page cache, shared and reclaimable), so the anonymous part of the RSS
 * (`RssAnon`: the JavaScript heap, buffers, LevelDB's caches) is reported beside it.
 * Prints one JSON line. Run alone: nothing else may have the directory open.
 * `node --expose-gc --conditions=source --import tsx bench/children/export-memory.ts <dir>`
 */
import { readFileSync } from 'node:fs';
import { createContextServices } from '@cxs/core';
import { LevelStore } from '@cxs/level';

const MiB = 2 ** 20;
const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: export-memory.ts <leveldb dir>');

const store = new LevelStore({ location: dir });
const cs = await createContextServices({ store });

/** `RssAnon` of this process in bytes (Linux), else the whole RSS. */
function rssAnon(): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1] !== undefined) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall back on the RSS.
  }
  return process.memoryUsage.rss();
}

async function rawScan(): Promise<{ keys: number; bytes: number; seconds: number }> {
  const t0 = performance.now();
  let keys = 0;
  let bytes = 0;
  for await (const [k, v] of store.iterate({})) {
    keys++;
    bytes += k.length + v.length;
  }
  return { keys, bytes, seconds: (performance.now() - t0) / 1000 };
}

await rawScan();
const scan = await rawScan();

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const m0 = process.memoryUsage();
const before = {
  rss: m0.rss,
  anon: rssAnon(),
  heap: m0.heapUsed,
  heapTotal: m0.heapTotal,
  external: m0.external,
};
const peak = { ...before };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heap = Math.max(peak.heap, m.heapUsed);
  peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
  peak.external = Math.max(peak.external, m.external);
  peak.anon = Math.max(peak.anon, rssAnon());
};
const timer = setInterval(sample, 20);

let services = 0;
let bytes = 0;
const t0 = performance.now();
const items = await cs.exportServices({ time_from: '1970-01-01T00:00:00.000Z', export_content: true });
for await (const item of items) {
  bytes += JSON.stringify(item).length + 1;
  if (++services % 2000 === 0) sample();
}
const exportSeconds = (performance.now() - t0) / 1000;
clearInterval(timer);
sample();
await cs.close();

process.stdout.write(
  `${JSON.stringify({
    services,
    exportSeconds,
    exportBytes: bytes,
    rssBeforeMiB: before.rss / MiB,
    anonBeforeMiB: before.anon / MiB,
    heapBeforeMiB: before.heap / MiB,
    peakRssMiB: peak.rss / MiB,
    peakAnonMiB: peak.anon / MiB,
    peakHeapMiB: peak.heap / MiB,
    heapTotalBeforeMiB: before.heapTotal / MiB,
    peakHeapTotalMiB: peak.heapTotal / MiB,
    externalBeforeMiB: before.external / MiB,
    peakExternalMiB: peak.external / MiB,
    keys: scan.keys,
    storeBytes: scan.bytes,
    scanSeconds: scan.seconds,
  })}\n`,
);
