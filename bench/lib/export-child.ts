/**
 * The measurement both export-memory children make (LevelDB and PostgreSQL): scan the whole store
 * raw twice (the first pass warms the store's own caches; the second, timed, is the throughput
 * baseline), then stream a full export through the engine's `exportServices` (every service with
 * its states, tasks and extensions, serialized to JSON and dropped, as the stream route does
 * before the socket), sampling this process's memory throughout. Returns the figures in MiB and
 * seconds, ready to print as the child's one JSON line.
 */
import { readFileSync } from 'node:fs';
import type { ContextServices, Store } from '@cxs/core';

const MiB = 2 ** 20;

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

async function rawScan(store: Store): Promise<{ keys: number; bytes: number; seconds: number }> {
  const t0 = performance.now();
  let keys = 0;
  let bytes = 0;
  for await (const [k, v] of store.iterate({})) {
    keys++;
    bytes += k.length + v.length;
  }
  return { keys, bytes, seconds: (performance.now() - t0) / 1000 };
}

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, anon: rssAnon(), heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

/** Scan, then export everything while sampling memory; closes the engine at the end. */
export async function measureExport(store: Store, cs: ContextServices) {
  await rawScan(store);
  const scan = await rawScan(store);

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = memory();
  const peak = { ...before };
  const sample = () => {
    const m = memory();
    for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
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

  return {
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
  };
}
