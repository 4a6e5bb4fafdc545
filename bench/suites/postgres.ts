/**
 * PostgreSQL suite (docs/spec.md §11): the conversation over HTTP on one and on two `cxs serve --store
 * postgres` processes (beside one LevelDB process), the engine on PostgreSQL beside raw `pg`
 * transactions of the same keys and bytes, the conflict-retry rate when every write goes to one
 * service through two processes, and the memory of an export of 10⁵ services. The database is
 * `CXS_PG_URL` when set (schemas `cxs_bench_*`, dropped afterwards), else an embedded PostgreSQL
 * started for the suite, as the tests do.
 */
import { randomBytes } from 'node:crypto';
import { createContextServices } from '@cxs/core';
import { MemoryStore } from '@cxs/core/memory';
import { PostgresStore } from '@cxs/postgres';
import pg from 'pg';
import { Bench } from 'tinybench';
import { startEmbeddedPostgres } from '../../packages/postgres/test/embedded-postgres.js';
import { engineConversation, REQUESTS_PER_CONVERSATION, serviceStartBody } from '../lib/conversation.js';
import { BatchTemplate, CountingStore } from '../lib/counting-store.js';
import { BASE, conversationRequests, loadRound, type Round } from '../lib/http-load.js';
import { runJsonChild, type ServerProcess, startServer } from '../lib/procs.js';
import type { Recorder } from '../lib/results.js';
import { runConcurrent } from '../lib/stats.js';
import { log, type SuiteContext } from '../lib/suite.js';
import { removeDir, tempDir } from '../lib/temp.js';
import { CONCURRENT, many } from './core.js';

const CLI = 'packages/server/src/cli/main.ts';

/** The tinybench of the core conversation figure on PostgreSQL. */
function conversationBench(quick: boolean, iterations: number): Bench {
  return new Bench({ time: quick ? 1500 : 8000, warmupTime: quick ? 300 : 2000, iterations, throws: true });
}

/** HTTP connections in total (split evenly between the processes of a target). */
const CONNECTIONS = 32;

/** A PostgreSQL database to work in, and fresh schema names in it (all dropped by `close`). */
async function database(): Promise<{ url: string; schema(): string; close(): Promise<void>; where: string }> {
  const external = process.env.CXS_PG_URL;
  const server = external === undefined || external === '' ? await startEmbeddedPostgres() : undefined;
  const url = server?.url ?? (external as string);
  const prefix = `cxs_bench_${randomBytes(3).toString('hex')}`;
  let n = 0;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  // pool.end() resolves before its client's connection has closed: the server stopping right
  // after must not crash the run with an unhandled 'error' event.
  admin.on('error', () => undefined);
  const version = (await admin.query('SHOW server_version')).rows[0]?.server_version as string;
  return {
    url,
    where: `${server === undefined ? 'CXS_PG_URL' : 'embedded'} PostgreSQL ${version}`,
    schema: () => `${prefix}_${++n}`,
    async close() {
      const { rows } = await admin.query('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [
        prefix,
      ]);
      for (const { nspname } of rows as { nspname: string }[]) {
        await admin.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
      }
      await admin.end();
      await server?.stop();
    },
  };
}

function startPg(
  name: string,
  url: string,
  schema: string,
  extra: readonly string[] = [],
): Promise<ServerProcess> {
  return startServer(name, CLI, [
    'serve',
    '--port',
    '0',
    '--store',
    'postgres',
    '--pg-url',
    url,
    '--pg-schema',
    schema,
    '--log-level',
    'warn',
    ...extra,
  ]);
}

/** One round of conversations spread over `urls`: each process gets its share of the callers. */
async function spreadRound(urls: readonly string[], seconds: number): Promise<Round> {
  const rounds = await Promise.all(
    urls.map((url) =>
      loadRound({ url, seconds, connections: CONNECTIONS / urls.length, requests: conversationRequests() }),
    ),
  );
  return {
    rps: rounds.reduce((a, r) => a + r.rps, 0),
    p50: Math.max(...rounds.map((r) => r.p50)),
    p99: Math.max(...rounds.map((r) => r.p99)),
    non2xx: rounds.reduce((a, r) => a + r.non2xx, 0),
    errors: rounds.reduce((a, r) => a + r.errors, 0),
    responses: rounds.reduce((a, r) => a + r.responses, 0),
  };
}

async function httpConversation(
  rec: Recorder,
  quick: boolean,
  url: string,
  schema: () => string,
): Promise<void> {
  const dir = await tempDir('pg-http');
  const servers: ServerProcess[] = [];
  try {
    const level = await startServer('level', CLI, [
      'serve',
      '--port',
      '0',
      '--store',
      'level',
      '--data',
      `${dir}/data`,
      '--log-level',
      'warn',
    ]);
    servers.push(level);
    const one = await startPg('pg-1', url, schema());
    servers.push(one);
    const twoSchema = schema();
    const two = [await startPg('pg-2a', url, twoSchema), await startPg('pg-2b', url, twoSchema)];
    servers.push(...two);
    const targets: Record<string, string[]> = {
      level: [level.url],
      'postgres-1-process': [one.url],
      'postgres-2-processes': two.map((s) => s.url),
    };
    const seconds = quick ? 1.5 : 8;
    const rounds = quick ? 2 : 3;
    for (const urls of Object.values(targets)) await spreadRound(urls, quick ? 1 : 3);
    const got: Record<string, Round[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, urls] of Object.entries(targets)) {
        log(`postgres: conversation round ${r + 1}/${rounds} on ${name}`);
        const round = await spreadRound(urls, seconds);
        if (round.non2xx > 0 || round.errors > 0)
          throw new Error(`${name}: ${round.non2xx} non-2xx answers, ${round.errors} errors`);
        got[name] = [...(got[name] ?? []), round];
      }
    }
    const mean = (name: string, k: 'rps' | 'p50' | 'p99') =>
      (got[name] as Round[]).reduce((a, r) => a + r[k], 0) / (got[name] as Round[]).length;
    const note = `${CONNECTIONS} connections (split evenly over the processes), 33-request conversations`;
    rec.add({
      name: 'postgres.http.conversation.1-process.rps',
      value: mean('postgres-1-process', 'rps'),
      unit: 'requests/s',
      baseline: { name: 'cxs serve --store level, same load', value: mean('level', 'rps') },
      note,
    });
    rec.add({
      name: 'postgres.http.conversation.1-process.conversations',
      value: mean('postgres-1-process', 'rps') / REQUESTS_PER_CONVERSATION,
      unit: 'conversations/s',
      note,
    });
    rec.add({
      name: 'postgres.http.conversation.1-process.p99',
      value: mean('postgres-1-process', 'p99'),
      unit: 'ms',
      baseline: { name: 'level p99', value: mean('level', 'p99') },
    });
    rec.add({
      name: 'postgres.http.conversation.2-processes.rps',
      value: mean('postgres-2-processes', 'rps'),
      unit: 'requests/s',
      baseline: { name: 'postgres, 1 process', value: mean('postgres-1-process', 'rps') },
      note: 'two processes on one schema, callers split between them; 2 cores shared with PostgreSQL and the client',
    });
    rec.add({
      name: 'postgres.http.conversation.2-processes.p99',
      value: mean('postgres-2-processes', 'p99'),
      unit: 'ms',
      baseline: { name: 'postgres 1 process p99', value: mean('postgres-1-process', 'p99') },
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await removeDir(dir);
  }
}

/** The batches of one conversation on a store without shared writers (as core.ts records them). */
async function recordTemplate() {
  const store = new CountingStore(new MemoryStore());
  const cs = await createContextServices({ store });
  await engineConversation(cs, 1);
  const sid = store.recorded[0]?.find((op) => op.key.includes('/s/'))?.key.split('/')[2];
  if (sid === undefined) throw new Error('no service key in the first batch');
  await cs.close();
  return { template: new BatchTemplate(store.recorded, sid), ...store.totals };
}

/** Write one batch as the least any client must do: one transaction, one upsert, one delete. */
async function rawBatch(pool: pg.Pool, table: string, ops: ReturnType<BatchTemplate['batches']>[number]) {
  const puts = new Map<string, string>();
  const dels: string[] = [];
  for (const op of ops) {
    if (op.type === 'put') puts.set(op.key, op.value);
    else {
      puts.delete(op.key);
      dels.push(op.key);
    }
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (dels.length > 0) await client.query(`DELETE FROM ${table} WHERE key = ANY($1::text[])`, [dels]);
    if (puts.size > 0)
      await client.query(
        `INSERT INTO ${table} (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [[...puts.keys()], [...puts.values()]],
      );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function coreOnPostgres(
  rec: Recorder,
  quick: boolean,
  url: string,
  schema: () => string,
): Promise<void> {
  const { template, batches, ops, bytes } = await recordTemplate();
  const engineStore = new PostgresStore({ connectionString: url, schema: schema() });
  const cs = await createContextServices({ store: engineStore });
  // The raw side: the same table (created by a store), written with plain pg transactions.
  const rawSchema = schema();
  const tableMaker = new PostgresStore({ connectionString: url, schema: rawSchema, poolSize: 1 });
  await tableMaker.open();
  await tableMaker.close();
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const table = `"${rawSchema}".cxs_entries`;
  try {
    let n = 0;
    const bench = conversationBench(quick, 3);
    bench
      .add(
        'raw pg',
        many(async () => {
          for (const b of template.batches(randomBytes(16).toString('base64url')))
            await rawBatch(pool, table, b);
        }),
      )
      .add(
        'engine pg',
        many(() => engineConversation(cs, n++)),
      );
    log(`postgres: core, ${CONCURRENT} concurrent conversations per iteration`);
    const before = engineStore.stats;
    await bench.run();
    const after = engineStore.stats;
    const perSecond = (name: string) => {
      const r = bench.getTask(name)?.result;
      if (r === undefined || !('period' in r)) throw new Error(`postgres: no result for ${name}`);
      return (CONCURRENT * 1000) / r.period;
    };
    rec.add({
      name: 'postgres.core.conversation',
      value: perSecond('engine pg'),
      unit: 'conversations/s',
      baseline: { name: 'raw pg transactions, same batches', value: perSecond('raw pg') },
      target: { on: 'ratio', op: '>=', value: 0.5 },
      note: `${CONCURRENT} conversations in flight, pool of 10 each; each ${batches} batches, ${ops} keys, ${bytes} bytes`,
    });
    rec.fact('postgres', 'engine statements per conversation (core)', {
      statements: after.statements - before.statements,
      batches: after.batches - before.batches,
    });
  } finally {
    await cs.close();
    await pool.end();
  }
}

function metric(text: string, re: RegExp): number {
  return Number(re.exec(text)?.[1] ?? 0);
}

async function hotService(rec: Recorder, quick: boolean, url: string, schema: () => string): Promise<void> {
  const name = schema();
  const servers = [await startPg('hot-a', url, name), await startPg('hot-b', url, name)];
  try {
    const total = quick ? 400 : 3000;
    const width = 32;
    const run = async (urls: string[]) => {
      const start = await fetch(`${urls[0]}${BASE}/services/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(serviceStartBody(1)),
      });
      const sid = ((await start.json()) as { service_id: string }).service_id;
      let conflicts = 0;
      let i = 0;
      const t0 = performance.now();
      await runConcurrent(total, width, async () => {
        for (;;) {
          const target = urls[i++ % urls.length] as string;
          const r = await fetch(`${target}${BASE}/services/${sid}/states/start`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"state_type":"hot"}',
          });
          await r.arrayBuffer();
          if (r.status === 201) return;
          if (r.status !== 503) throw new Error(`hot service: ${r.status}`);
          conflicts++;
        }
      });
      return { seconds: (performance.now() - t0) / 1000, conflicts };
    };
    const scrape = async () => {
      let retries = 0;
      let pgRetries = 0;
      for (const s of servers) {
        const text = await (await fetch(`${s.url}/metrics`)).text();
        retries += metric(text, /^cxs_conflict_retries_total (\d+)$/m);
        pgRetries += metric(text, /^cxs_store_stats_total\{stat="retries"\} (\d+)$/m);
      }
      return { retries, pgRetries };
    };
    log(`postgres: hot service, ${total} state starts on one service, ${width} in flight`);
    const s0 = await scrape();
    const single = await run([servers[0]?.url as string]);
    const s1 = await scrape();
    const spread = await run(servers.map((s) => s.url));
    const s2 = await scrape();
    rec.add({
      name: 'postgres.hot-service.2-processes.retries-per-write',
      value: (s2.retries - s1.retries) / total,
      unit: 'retries/write',
      baseline: { name: 'same load on 1 process', value: (s1.retries - s0.retries) / total },
      note: `${total} state starts on one service, ${width} in flight, round-robin over 2 processes; engine re-reads after a precondition failed`,
    });
    rec.add({
      name: 'postgres.hot-service.2-processes.rps',
      value: total / spread.seconds,
      unit: 'writes/s',
      baseline: { name: 'same load on 1 process', value: total / single.seconds },
    });
    rec.fact('postgres', 'hot service (1 process, 2 processes)', {
      conflict503: [single.conflicts, spread.conflicts],
      serializationRetries: [s1.pgRetries - s0.pgRetries, s2.pgRetries - s1.pgRetries],
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function exportMemory(rec: Recorder, quick: boolean, url: string, schema: () => string): Promise<void> {
  const size = quick ? 10_000 : 100_000;
  const name = schema();
  const store = new PostgresStore({ connectionString: url, schema: name });
  const cs = await createContextServices({ store });
  log(`postgres: populating ${size} services`);
  const t0 = performance.now();
  await runConcurrent(size, 64, async (i) => {
    const { service_id } = await cs.startService(serviceStartBody(i));
    if (i % 10 === 0) await cs.startState(service_id, { state_type: 'collect-info' });
  });
  rec.fact(
    'postgres',
    `populated ${size} services (64 in flight), seconds`,
    Math.round((performance.now() - t0) / 100) / 10,
  );
  await cs.close();
  log(`postgres: export of ${size} services in a child process`);
  const f = await runJsonChild<{
    services: number;
    exportSeconds: number;
    exportBytes: number;
    rssBeforeMiB: number;
    peakRssMiB: number;
    heapBeforeMiB: number;
    peakHeapMiB: number;
    keys: number;
    scanSeconds: number;
  }>('bench/children/export-memory-pg.ts', [url, name], ['--expose-gc']);
  const at = `@1e${Math.round(Math.log10(size))}`;
  rec.add({
    name: `postgres.export.services-per-s${at}`,
    value: f.services / f.exportSeconds,
    unit: 'services/s',
    baseline: { name: 'raw scan of the whole table, services/s', value: f.services / f.scanSeconds },
    note: `${f.services} services, ${Math.round(f.exportBytes / 2 ** 20)} MiB of JSON; ${f.keys} rows`,
  });
  rec.add({
    name: `postgres.export.rss-growth${at}`,
    value: f.peakRssMiB - f.rssBeforeMiB,
    unit: 'MiB',
    target: { on: 'value', op: '<', value: 64 },
    note: `peak RSS ${Math.round(f.peakRssMiB)} MiB, before ${Math.round(f.rssBeforeMiB)} MiB; peak heap ${Math.round(f.peakHeapMiB)} MiB`,
  });
}

/** The postgres suite. */
export async function postgresSuite({ quick, rec }: SuiteContext): Promise<void> {
  const db = await database();
  rec.fact('postgres', 'database', db.where);
  try {
    await coreOnPostgres(rec, quick, db.url, db.schema);
    await hotService(rec, quick, db.url, db.schema);
    await httpConversation(rec, quick, db.url, db.schema);
    await exportMemory(rec, quick, db.url, db.schema);
  } finally {
    await db.close();
  }
}
