/**
 * Child process of the postgres suite: open a PostgreSQL schema written by the engine, scan the
 * whole table raw through the store (the throughput baseline), then stream a full export through
 * the engine's `exportServices` (every service with its states, tasks and extensions, serialized
 * to JSON and dropped, as the stream route does before the socket), sampling this process's
 * memory throughout. Unlike LevelDB, nothing is mapped from files here: the RSS is the process's
 * own memory (heap, buffers, the page of rows the store holds). Prints one JSON line.
 * `node --expose-gc --conditions=source --import tsx bench/children/export-memory-pg.ts <url> <schema>`
 */
import { createContextServices } from '@cxs/core';
import { PostgresStore } from '@cxs/postgres';

const MiB = 2 ** 20;
const [url, schema] = process.argv.slice(2);
if (url === undefined || schema === undefined) throw new Error('usage: export-memory-pg.ts <url> <schema>');

const store = new PostgresStore({ connectionString: url, schema, poolSize: 2 });
const cs = await createContextServices({ store });

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

// Twice: the first warms PostgreSQL's buffers, so that the timed scan and the export read alike.
await rawScan();
const scan = await rawScan();

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const m0 = process.memoryUsage();
const before = { rss: m0.rss, heap: m0.heapUsed };
const peak = { ...before };
const sample = () => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heap = Math.max(peak.heap, m.heapUsed);
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
    heapBeforeMiB: before.heap / MiB,
    peakRssMiB: peak.rss / MiB,
    peakHeapMiB: peak.heap / MiB,
    keys: scan.keys,
    storeBytes: scan.bytes,
    scanSeconds: scan.seconds,
  })}\n`,
);
