/**
 * `cxs … --store postgres` as real child processes on a real PostgreSQL (the test harness's):
 * serve with its metrics, export / import / purge while the server runs, and the database
 * becoming unreachable (generic 503 STORE_UNAVAILABLE, /readyz failing, recovery by itself).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, send } from '../../koa/test/helpers.js';
import { pgUrl, testSchemas } from '../../postgres/test/pg-harness.js';
import { type TcpProxy, tcpProxy } from '../../postgres/test/tcp-proxy.js';
import { runCli, type ServeProcess, serveCli, stopServe, waitFor } from './cli-process.js';

const schemas = testSchemas();
let url: string;
let tmp: string;
const servers: ServeProcess[] = [];

beforeAll(async () => {
  url = await pgUrl();
  tmp = await mkdtemp(join(tmpdir(), 'cxs-server-pg-'));
});
afterAll(async () => {
  await Promise.all(servers.map(stopServe));
  await rm(tmp, { recursive: true, force: true });
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const server = await serveCli(['--store', 'postgres', ...args], env);
  servers.push(server);
  return server;
}

const start = (origin: string, customer: string) =>
  send(`${origin}${BASE}/services/start`, 'POST', { customer_id: customer, service_type: 'booking' });

// Each command is a Node.js process loading TypeScript: seconds apiece on a loaded machine.
describe('cxs serve --store postgres', { timeout: 180_000 }, () => {
  it('serves from the schema given, takes CXS_PG_URL, and reports store and conflict counters in /metrics', async () => {
    const schema = schemas.next();
    const a = await serve(['--pg-url', url, '--pg-schema', schema]);
    const b = await serve(['--pg-schema', schema], { CXS_PG_URL: url });
    const made = await start(a.url, 'C1');
    expect(made.status).toBe(201);
    // Written through one process, read through the other: one database.
    const seen = await send(`${b.url}${BASE}/services/${made.json.service_id}`, 'GET');
    expect(seen.status).toBe(200);
    expect(seen.json.customer_id).toBe('C1');
    expect((await send(`${b.url}/readyz`, 'GET')).status).toBe(200);
    const metrics = (await send(`${a.url}/metrics`, 'GET')).text;
    expect(metrics).toMatch(/^cxs_store_stats_total\{stat="batches"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^cxs_store_stats_total\{stat="statements"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^cxs_store_stats_total\{stat="retries"\} \d+$/m);
    expect(metrics).toMatch(/^cxs_conflict_retries_total \d+$/m);
    expect(metrics).toMatch(/^cxs_conflicts_total 0$/m);
    await Promise.all([stopServe(a), stopServe(b)]);
    expect(await a.exited).toBe(0);
  });

  it('refuses a missing connection string and --sync, with usage errors', async () => {
    const env = { CXS_PG_URL: '' };
    const missing = await runCli(['serve', '--store', 'postgres', '--port', '0'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--store postgres needs --pg-url');
    const sync = await runCli(['export', '--store', 'postgres', '--pg-url', url, '--sync'], { env });
    expect(sync.code).toBe(2);
    const level = await runCli(['export', '--pg-url', url, '--data', tmp], { env });
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('--pg-url applies to the postgres store only');
  });

  it('an unreachable database: generic 503 STORE_UNAVAILABLE, /readyz 503, then recovery without a restart', async () => {
    const schema = schemas.next();
    const target = new URL(url);
    const proxy: TcpProxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    const through = new URL(url);
    through.port = String(proxy.port);
    // A password in the URL, to prove it never reaches a client.
    if (through.password === '') through.password = 'not-a-secret-at-all';
    try {
      const server = await serve(['--pg-url', through.href, '--pg-schema', schema, '--pg-pool-size', '2']);
      expect((await start(server.url, 'before')).status).toBe(201);
      await proxy.stop();
      const down = await start(server.url, 'during');
      expect(down.status).toBe(503);
      expect(down.json.code).toBe('STORE_UNAVAILABLE');
      for (const secret of [through.password, through.username, String(proxy.port), through.href]) {
        expect(down.text).not.toContain(secret);
      }
      const ready = await send(`${server.url}/readyz`, 'GET');
      expect(ready.status).toBe(503);
      expect(ready.text).not.toContain(through.password);
      expect((await send(`${server.url}/healthz`, 'GET')).status).toBe(200);
      await proxy.resume();
      await waitFor(
        '/readyz to pass again',
        async () => (await send(`${server.url}/readyz`, 'GET')).status === 200,
      );
      const after = await start(server.url, 'after');
      expect(after.status).toBe(201);
      const list = await send(`${server.url}${BASE}/customers/before/services`, 'GET');
      expect(list.json).toHaveLength(1);
      const metrics = (await send(`${server.url}/metrics`, 'GET')).text;
      expect(metrics).toMatch(/^cxs_store_stats_total\{stat="unavailable"\} [1-9]\d*$/m);
      expect(server.output()).not.toContain(through.password);
    } finally {
      await proxy.stop();
    }
  });

  it('export, import and purge run while servers are up, on the same schema', async () => {
    const schema = schemas.next();
    const pg = ['--store', 'postgres', '--pg-url', url, '--pg-schema', schema];
    const server = await serve(['--pg-url', url, '--pg-schema', schema]);
    for (const c of ['E1', 'E2', 'E3']) expect((await start(server.url, c)).status).toBe(201);
    const out = join(tmp, 'export.jsonl');
    const exported = await runCli(['export', ...pg, '--out', out]);
    expect(exported.stderr).toContain('exported 3 services');
    expect(exported.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(3);

    // Import into a second schema, served by a second server, while both run.
    const other = schemas.next();
    const second = await serve(['--pg-url', url, '--pg-schema', other]);
    const imported = await runCli([
      'import',
      '--store',
      'postgres',
      '--pg-url',
      url,
      '--pg-schema',
      other,
      '--in',
      out,
    ]);
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain('imported 3 services');
    const copy = await send(`${second.url}${BASE}/customers/E2/services`, 'GET');
    expect(copy.json).toHaveLength(1);
    const again = join(tmp, 'again.jsonl');
    await writeFile(again, `${lines[0]}\n`);
    const skipped = await runCli(['import', ...pg, '--in', again, '--skip-existing']);
    expect(skipped.stderr).toContain('skipped 1 already stored');

    const purged = await runCli([
      'purge',
      ...pg,
      '--before',
      '9999-01-01T00:00:00.000Z',
      '--operation',
      'purge.service.all',
    ]);
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual({ purged: 3 });
    expect((await send(`${server.url}${BASE}/customers/E1/services`, 'GET')).json).toEqual([]);
    expect((await send(`${second.url}${BASE}/customers/E1/services`, 'GET')).json).toHaveLength(1);
  });

  it('a command on an unreachable database fails with a generic message (exit 1), never the connection string', async () => {
    const bad = 'postgres://someone:hunter2-secret@127.0.0.1:9/nowhere';
    const r = await runCli(['export', '--store', 'postgres', '--pg-url', bad, '--pg-schema', schemas.next()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unavailable');
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toContain('someone');
  });
});
