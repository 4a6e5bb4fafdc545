/** Maintenance over HTTP (docs/spec.md §8): the export stream (selection, streaming, flat memory), files, purge. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../src/export/csv.js';
import { BASE, send, startServer, type TestServer } from './helpers.js';

let t: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cxs-export-'));
  t = await startServer({ exportDir: dir });
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

const W = 'time_from=2020-01-01T00:00:00.000Z&time_to=2020-02-01T00:00:00.000Z';

describe('export stream selection (docs/spec.md §8.1 reference scenario)', () => {
  let s1: string;
  let s2: string;
  let s3: string;
  beforeAll(async () => {
    const start = async (ts: string) =>
      (await t.req('POST', '/services/start', { customer_id: 'sel', timestamp: ts })).json
        .service_id as string;
    s3 = await start('2019-12-01T00:00:00Z');
    s1 = await start('2020-01-10T00:00:00Z');
    s2 = await start('2020-01-15T00:00:00Z');
    await t.req('POST', `/services/${s1}/end`, { timestamp: '2020-03-01T00:00:00Z' });
    await t.req('POST', `/services/${s3}/end`, { timestamp: '2020-01-20T00:00:00Z' });
  });

  it('the nine cells of the table, ordered by start time', async () => {
    const table: [string, string, string[]][] = [
      ['any', 'any', [s3, s1, s2]],
      ['any', 'active', [s2]],
      ['any', 'inactive', [s3, s1]],
      ['started', 'any', [s1, s2]],
      ['started', 'active', [s2]],
      ['started', 'inactive', [s1]],
      ['completed', 'any', [s3]],
      ['completed', 'active', []],
      ['completed', 'inactive', [s3]],
    ];
    for (const [events, state, expected] of table) {
      const r = await t.req(
        'GET',
        `/maintenance/services/stream?${W}&filter_events=${events}&filter_state=${state}`,
      );
      expect(r.status).toBe(200);
      expect(r.json, `${events}/${state}`).toEqual(expected);
    }
    const dflt = await t.req('GET', `/maintenance/services/stream?${W}`);
    expect(dflt.json).toEqual([s3, s1, s2]);
  });

  it('export_content=true streams full services with states, tasks and extensions; chunked', async () => {
    await t.req('POST', `/services/${s2}/states/start`, { timestamp: '2020-01-16T00:00:00Z', Note: 'n' });
    await t.req('POST', `/services/${s2}/tasks/start`, { timestamp: '2020-01-16T00:00:00Z', state_id: 1 });
    const res = await fetch(
      `${t.origin}${BASE}/maintenance/services/stream?${W}&filter_state=active&export_content=true`,
    );
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const [svc] = (await res.json()) as Record<string, unknown>[];
    expect(svc).toMatchObject({ service_id: s2, customer_id: 'sel' });
    expect(svc?.active_states).toEqual([
      { state_id: 1, started: { timestamp: '2020-01-16T00:00:00.000Z' }, Note: 'n' },
    ]);
    expect(svc?.active_tasks).toHaveLength(1);
  });

  it('an empty selection is an empty array', async () => {
    const r = await t.req(
      'GET',
      '/maintenance/services/stream?time_from=1999-01-01T00:00:00Z&time_to=1999-01-02T00:00:00Z',
    );
    expect(r.text).toBe('[]');
  });
});

describe('export stream memory (docs/spec.md §8.1: flat whatever the count)', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  /** Fill a fresh server with `n` services of ~1 KiB each, stream them, measure live heap and RSS. */
  async function measure(n: number) {
    const s = await startServer();
    try {
      const pad = 'p'.repeat(900);
      for (let i = 0; i < n; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, n - i) }, (_, j) =>
            s.engine.startService({
              customer_id: `m${(i + j) % 97}`,
              timestamp: '2020-01-10T00:00:00Z',
              Pad: { pad, i: i + j },
            }),
          ),
        );
      }
      // Live memory = heap + external (Buffers queued on a socket live outside the JS heap),
      // measured after a full GC: garbage does not count, anything held by the server does.
      const live = () => {
        gc();
        const m = process.memoryUsage();
        return { mem: m.heapUsed + m.external, rss: m.rss };
      };
      const base = live();
      let peakHeap = 0;
      let peakRss = 0;
      let samples = 0;
      const sample = () => {
        const m = live();
        samples++;
        peakHeap = Math.max(peakHeap, m.mem - base.mem);
        peakRss = Math.max(peakRss, m.rss - base.rss);
      };
      const timer = setInterval(sample, 100);
      const res = await fetch(`${s.origin}${BASE}/maintenance/services/stream?${W}&export_content=true`);
      let bytes = 0;
      let chunks = 0;
      let nextSample = 0;
      let tail = '';
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        chunks++;
        tail = Buffer.from(value.subarray(-2)).toString();
        // Also sample from the reading side, so samples are spread over the whole transfer.
        if (bytes >= nextSample) {
          sample();
          nextSample = bytes + 1024 * 1024;
        }
      }
      clearInterval(timer);
      sample();
      return { n, bytes, chunks, tail, peakHeap, peakRss, samples };
    } finally {
      await s.close();
    }
  }

  // 22,200 services are written and exported: allow a loaded machine far more than the default.
  it('2,000 vs 20,000 services: live heap growth stays far below the output size and does not scale with it', {
    timeout: 300_000,
  }, async () => {
    await measure(200); // warm-up: first-use allocations of fetch, sockets and JIT are not the export's
    const small = await measure(2_000);
    const large = await measure(20_000);
    const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `export stream memory: ${small.n} services → ${mb(small.bytes)} in ${small.chunks} chunks, live memory +${mb(small.peakHeap)}, rss +${mb(small.peakRss)} (${small.samples} samples); ` +
        `${large.n} services → ${mb(large.bytes)} in ${large.chunks} chunks, live memory +${mb(large.peakHeap)}, rss +${mb(large.peakRss)} (${large.samples} samples)`,
    );
    expect(large.tail).toBe('}]');
    expect(large.bytes).toBeGreaterThan(9 * small.bytes);
    expect(large.chunks).toBeGreaterThan(100);
    expect(large.samples).toBeGreaterThan(15);
    // Buffering the body would hold at least the output (~20 MiB) on the heap.
    expect(large.peakHeap).toBeLessThan(large.bytes / 8);
    expect(large.peakHeap - small.peakHeap).toBeLessThan((large.bytes - small.bytes) / 8);
  });
});

/** A minimal RFC 4180 parser for checking the CSV files. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('export to files (docs/spec.md §8.2)', () => {
  let sid: string;
  beforeAll(async () => {
    sid = (
      await t.req('POST', '/services/start', {
        contact_key: 'a,b "quoted"\nnew line',
        service_type: 'files',
        timestamp: '2021-05-01T00:00:00Z',
        Extra: { nested: [1, 'x,y'] },
      })
    ).json.service_id;
    await t.req('POST', `/services/${sid}/states/start`, {
      state_type: 's1',
      timestamp: '2021-05-01T00:00:01Z',
    });
    await t.req('POST', `/services/${sid}/tasks/start`, {
      task_type: 't1',
      state_id: 1,
      timestamp: '2021-05-01T00:00:02Z',
    });
    await t.req('POST', `/services/${sid}/tasks/start`, {
      task_type: 't2',
      timestamp: '2021-05-01T00:00:03Z',
    });
  });
  const Q = 'time_from=2021-05-01T00:00:00Z&time_to=2021-05-02T00:00:00Z';

  it('json: three files named export<yyyyMMdd>_<HHmmss>_<SSS>_{services,states,tasks}.json, rows carry service_id', async () => {
    const r = await t.req('POST', `/maintenance/services/files?${Q}`);
    expect(r.status).toBe(200);
    const created = r.json.created as string[];
    expect(created).toHaveLength(3);
    const names = created.map((p) => basename(p));
    const stem = /^(export\d{8}_\d{6}_\d{3})_(services|states|tasks)\.json$/;
    expect(names.map((n) => stem.exec(n)?.[2])).toEqual(['services', 'states', 'tasks']);
    expect(new Set(names.map((n) => stem.exec(n)?.[1])).size).toBe(1);
    for (const p of created) expect(p.startsWith(dir)).toBe(true);
    const [services, states, tasks] = await Promise.all(
      created.map(async (p) => JSON.parse(await readFile(p, 'utf8'))),
    );
    expect(services).toEqual([
      expect.objectContaining({ service_id: sid, service_type: 'files', Extra: { nested: [1, 'x,y'] } }),
    ]);
    expect(services[0].active_states).toBeUndefined();
    expect(states).toEqual([expect.objectContaining({ service_id: sid, state_id: 1, state_type: 's1' })]);
    expect(tasks.map((x: { service_id: string; task_id: number }) => [x.service_id, x.task_id])).toEqual([
      [sid, 1],
      [sid, 2],
    ]);
  });

  it('csv: header, proper quoting, nested objects and extensions as JSON text', async () => {
    const r = await t.req('POST', `/maintenance/services/files?${Q}&format=csv`);
    const created = r.json.created as string[];
    expect(created.map((p) => basename(p).replace(/^export\d{8}_\d{6}_\d{3}_/, ''))).toEqual([
      'services.csv',
      'states.csv',
      'tasks.csv',
    ]);
    const [services, states, tasks] = await Promise.all(
      created.map(async (p) => parseCsv(await readFile(p, 'utf8'))),
    );
    const header = services?.[0] as string[];
    expect(header).toEqual([
      'service_id',
      'service_type',
      'customer_id',
      'contact_key',
      'est_duration',
      'started',
      'completed',
      'disposition',
      'disposition_desc',
      'duration',
      'extensions',
    ]);
    const row = Object.fromEntries(header.map((h, i) => [h, services?.[1]?.[i]]));
    expect(row.service_id).toBe(sid);
    expect(row.contact_key).toBe('a,b "quoted"\nnew line');
    expect(JSON.parse(row.started as string)).toEqual({ timestamp: '2021-05-01T00:00:00.000Z' });
    expect(JSON.parse(row.extensions as string)).toEqual({ Extra: { nested: [1, 'x,y'] } });
    expect(states?.slice(1).map((x) => [x[0], x[1]])).toEqual([[sid, '1']]);
    expect(tasks?.[0]?.slice(0, 4)).toEqual(['service_id', 'task_id', 'task_type', 'state_id']);
    expect(tasks?.slice(1).map((x) => [x[0], x[1], x[3]])).toEqual([
      [sid, '1', '1'],
      [sid, '2', ''],
    ]);
  });

  it('csv: a user extension named extensions is kept in the extensions column with the others', async () => {
    const id = (
      await t.req('POST', '/services/start', {
        customer_id: 'x',
        extensions: { secret: 1 },
        other: 2,
        timestamp: '2021-06-01T00:00:00Z',
      })
    ).json.service_id;
    await t.req('POST', `/services/${id}/tasks/start`, {
      task_type: 't',
      extensions: [1, 2],
      timestamp: '2021-06-01T00:00:01Z',
    });
    const r = await t.req(
      'POST',
      '/maintenance/services/files?time_from=2021-06-01T00:00:00Z&time_to=2021-06-02T00:00:00Z&format=csv',
    );
    const [services, , tasks] = await Promise.all(
      (r.json.created as string[]).map(async (p) => parseCsv(await readFile(p, 'utf8'))),
    );
    const cell = (rows: string[][] | undefined) => {
      const header = rows?.[0] as string[];
      return JSON.parse(rows?.[1]?.[header.indexOf('extensions')] as string);
    };
    expect(services).toHaveLength(2);
    expect(cell(services)).toEqual({ extensions: { secret: 1 }, other: 2 });
    expect(cell(tasks)).toEqual({ extensions: [1, 2] });
  });

  it('csvCell quotes commas, quotes, line breaks and edge spaces only', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('x\ry')).toBe('"x\ry"');
    expect(csvCell(' lead')).toBe('" lead"');
    expect(csvCell(12)).toBe('12');
    expect(csvCell({ a: 'b' })).toBe('"{""a"":""b""}"');
    expect(csvCell(undefined)).toBe('');
  });
});

describe('purge (docs/spec.md §8.3)', () => {
  it('answers {"purged": n} and removes only matching services', async () => {
    const s = await startServer();
    try {
      const start = async (body: Record<string, unknown>) =>
        (await s.req('POST', '/services/start', body)).json.service_id;
      const anonOld = await start({ contact_key: 'p', timestamp: '2010-01-01T00:00:00Z' });
      const custOld = await start({ customer_id: 'p', timestamp: '2010-01-01T00:00:00Z' });
      const recent = await start({ contact_key: 'p', timestamp: '2030-01-01T00:00:00Z' });
      await s.req('POST', `/services/${custOld}/end`, { timestamp: '2010-01-02T00:00:00Z' });
      const r1 = await s.req('POST', '/maintenance/purge', {
        limit: '2020-01-01T00:00:00Z',
        operation: 'purge.service.completed.anonymous',
      });
      expect(r1).toMatchObject({ status: 200, json: { purged: 0 } });
      const r2 = await s.req('POST', '/maintenance/purge', {
        limit: '2020-01-01T00:00:00Z',
        operation: 'purge.service.started.anonymous',
      });
      expect(r2.json).toEqual({ purged: 1 });
      expect((await s.req('GET', `/services/${anonOld}`)).status).toBe(400);
      const r3 = await s.req('POST', '/maintenance/purge', {
        limit: '2020-01-01T00:00:00Z',
        operation: 'purge.service.all',
      });
      expect(r3.json).toEqual({ purged: 1 });
      expect((await s.req('GET', `/services/${custOld}`)).status).toBe(400);
      expect((await s.req('GET', `/services/${recent}`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('a client that goes away mid-stream does not disturb the server', async () => {
    const s = await startServer();
    try {
      for (let i = 0; i < 3000; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, () =>
            s.engine.startService({ customer_id: 'gone', Pad: 'x'.repeat(500) }),
          ),
        );
      }
      const ac = new AbortController();
      const res = await fetch(
        `${s.origin}${BASE}/maintenance/services/stream?time_from=2000-01-01T00:00:00Z&export_content=true`,
        {
          signal: ac.signal,
        },
      );
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      ac.abort();
      await reader.read().catch(() => undefined);
      const after = await send(`${s.origin}${BASE}/customers/gone/services?limit=1`, 'GET');
      expect(after.status).toBe(200);
      expect(s.logs.filter((l) => l.level === 50)).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
