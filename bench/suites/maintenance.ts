/**
 * Maintenance figures, measured on the scale suite's data: the stream export's throughput and peak
 * memory (engine `exportServices`, in a child process), and purge under load over HTTP (the
 * standalone server on the same directory, autocannon sending ordinary requests at a fixed rate).
 */

import type { BatchOp } from '@cxs/core';
import { LevelStore } from '@cxs/level';
import { BASE } from '../lib/http-load.js';
import { pacedTraffic } from '../lib/paced.js';
import { runJsonChild } from '../lib/procs.js';
import type { Recorder } from '../lib/results.js';
import { secondsSince } from '../lib/stats.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';
import { startCxs } from './http.js';

/** What the export child reports (see bench/children/export-memory.ts). */
export interface ExportFigures {
  size: number;
  services: number;
  exportSeconds: number;
  exportBytes: number;
  rssBeforeMiB: number;
  anonBeforeMiB: number;
  heapBeforeMiB: number;
  peakRssMiB: number;
  peakAnonMiB: number;
  peakHeapMiB: number;
  keys: number;
  storeBytes: number;
  scanSeconds: number;
}

function label(n: number): string {
  return `1e${Math.round(Math.log10(n))}`;
}

/** Export every service of the (closed) LevelDB directory in a child process; record its figures. */
export async function exportMemory(rec: Recorder, location: string, size: number): Promise<ExportFigures> {
  log(`maintenance: export of ${label(size)} services in a child process`);
  const r = await runJsonChild<Omit<ExportFigures, 'size'>>(
    'bench/children/export-memory.ts',
    [location],
    ['--expose-gc'],
  );
  const f = { size, ...r };
  const at = `@${label(size)}`;
  rec.add({
    name: `maintenance.export.services-per-s${at}`,
    value: f.services / f.exportSeconds,
    unit: 'services/s',
    baseline: { name: 'raw scan of the whole store, services/s', value: f.services / f.scanSeconds },
    note: `${f.services} services, ${Math.round(f.exportBytes / 2 ** 20)} MiB of JSON; store ${f.keys} keys`,
  });
  rec.add({
    name: `maintenance.export.peak-rss${at}`,
    value: f.peakRssMiB,
    unit: 'MiB',
    baseline: { name: 'RSS before the export', value: f.rssBeforeMiB },
    note: 'includes the pages of the LevelDB table files mapped into memory (page cache)',
  });
  rec.add({
    name: `maintenance.export.peak-rss-anon${at}`,
    value: f.peakAnonMiB,
    unit: 'MiB',
    baseline: { name: 'RssAnon before the export', value: f.anonBeforeMiB },
    note: 'RSS without file-backed pages (the mapped LevelDB tables)',
  });
  rec.add({
    name: `maintenance.export.peak-heap${at}`,
    value: f.peakHeapMiB,
    unit: 'MiB',
    baseline: { name: 'heap used before the export', value: f.heapBeforeMiB },
  });
  return f;
}

/** Run the paced traffic for `seconds`. */
async function pace(url: string, rate: number, seconds: number) {
  const t = pacedTraffic(url, rate);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return t;
}

/**
 * Raw baseline of purge: the same number of keys (and bytes) on a fresh LevelDB, deleted the way
 * purge pages through them (100 services' keys per page: read the page, delete it in one batch).
 */
async function rawPurge(services: number, keysPerService: number, bytesPerKey: number): Promise<number> {
  const dir = await tempDir('raw-purge');
  const store = new LevelStore({ location: dir });
  await store.open();
  try {
    const total = Math.round(services * keysPerService);
    const value = 'v'.repeat(Math.max(0, Math.round(bytesPerKey) - 40));
    for (let i = 0; i < total; i += 1000) {
      const ops: BatchOp[] = [];
      for (let j = i; j < Math.min(total, i + 1000); j++) {
        ops.push({ type: 'put', key: `ts/${String(j).padStart(12, '0')}/abcdefghijklmnopqrstuv`, value });
      }
      await store.batch(ops);
    }
    const page = Math.round(100 * keysPerService);
    const t0 = performance.now();
    for (;;) {
      const ops: BatchOp[] = [];
      for await (const [key] of store.iterate({ limit: page })) ops.push({ type: 'del', key });
      if (ops.length === 0) break;
      await store.batch(ops);
    }
    return secondsSince(t0);
  } finally {
    await store.close();
    await removeDir(dir);
  }
}

/**
 * Purge the services started before `limit` through `POST /maintenance/purge` on the standalone
 * server (LevelDB, the scale suite's directory) while ordinary requests arrive at a fixed rate;
 * compare their p99 with the p99 of the same traffic without a purge.
 */
export async function purgeUnderLoad(
  { quick, rec }: SuiteContext,
  dir: string,
  limit: string,
  store: ExportFigures | undefined,
): Promise<void> {
  const rate = quick ? 150 : 300;
  const server = await startCxs('cxs-level-purge', 'level', dir);
  let purged = 0;
  let purgeSeconds = 0;
  try {
    log(`maintenance: ${rate} × (start + get service) per second, without purge`);
    await (await pace(server.url, rate, 1)).stop();
    const quiet = await (await pace(server.url, rate, quick ? 3 : 15)).stop();
    log(`maintenance: the same traffic during a purge of the services started before ${limit}`);
    const load = pacedTraffic(server.url, rate);
    const t0 = performance.now();
    const res = await fetch(`${server.url}${BASE}/maintenance/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ limit, operation: 'purge.service.all' }),
    });
    purgeSeconds = secondsSince(t0);
    const busy = await load.stop();
    if (res.status !== 200) throw new Error(`purge answered ${res.status}: ${await res.text()}`);
    purged = ((await res.json()) as { purged: number }).purged;
    // How much the purge paced itself for the requests (packages/core/src/pacer.ts).
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const counter = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
    if (quiet.failures + busy.failures > 0) {
      throw new Error(`maintenance: failed ordinary requests (${JSON.stringify({ quiet, busy })})`);
    }
    rec.fact('maintenance', 'purge', {
      purged,
      seconds: Math.round(purgeSeconds * 10) / 10,
      pairsPerSecond: rate,
      requestsDuringPurge: busy.requests,
      pauses: counter('cxs_maintenance_pauses_total'),
      pausedSeconds: Math.round(counter('cxs_maintenance_paused_seconds_total') * 10) / 10,
    });
    rec.add({
      name: 'maintenance.purge.p99-of-ordinary-requests',
      value: busy.p99,
      unit: 'ms',
      baseline: { name: 'p99 without purge', value: quiet.p99 },
      target: { on: 'ratio', op: '<=', value: 2 },
      note: `open loop: ${rate} × (start service, get service) per second over HTTP, LevelDB`,
    });
    rec.add({
      name: 'maintenance.purge.p50-of-ordinary-requests',
      value: busy.p50,
      unit: 'ms',
      baseline: { name: 'p50 without purge', value: quiet.p50 },
    });
  } finally {
    await server.stop();
  }
  if (store !== undefined && purged > 0) {
    const keysPerService = store.keys / store.services;
    const raw = await rawPurge(purged, keysPerService, store.storeBytes / store.keys);
    rec.add({
      name: 'maintenance.purge.services-per-s',
      value: purged / purgeSeconds,
      unit: 'services/s',
      baseline: { name: 'raw LevelDB page-and-delete of as many keys', value: purged / raw },
      note: `${purged} services purged over HTTP under the traffic above`,
    });
  }
}
