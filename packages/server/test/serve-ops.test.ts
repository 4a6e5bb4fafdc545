/**
 * Operating `cxs serve` (docs/spec.md §13) as a real child process: health endpoints without credentials,
 * Prometheus metrics (requests, store calls, sweeps, purges), request ids, JSON or pretty logs
 * with the `listening on` line among them; `--sync`; `cxs import --skip-existing`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '@cxs/koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, finished, send } from '../../koa/test/helpers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLI = join(ROOT, 'packages/server/src/cli/main.ts');
// Every test spawns several CLI processes, each compiling the sources: slow on a loaded machine.
const SLOW = 180_000;
const ADMIN = { Authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}` };

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-ops-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(args);
  const done = finished(child);
  child.stdin?.end('');
  return done;
}

/** Start `serve`; resolve once its `listening on` line is out. */
async function serve(args: string[]) {
  const child = start(['serve', '--port', '0', ...args]);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c) => {
      stdout += c;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(stdout);
      if (m) resolve(m[1] as string);
    });
    child.stderr?.on('data', (c) => {
      stderr += c;
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stdout}${stderr}`)));
  });
  return {
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    },
  };
}

/** The value of one sample of a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Poll `/metrics` until `ready` holds for it (the sweep runs on the server's own timer). */
async function metricsUntil(url: string, ready: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = (await send(`${url}/metrics`, 'GET')).text;
    if (ready(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`metrics never matched:\n${text}`);
}

describe('cxs serve: health, metrics, request ids, logs', { timeout: SLOW }, () => {
  it('serves /healthz, /readyz and /metrics at the root without credentials, and counts what it does', async () => {
    const users = join(tmp, 'users.json');
    const password = await hashPassword('pw', { N: 1024, r: 8, p: 1 });
    await writeFile(
      users,
      JSON.stringify({ users: [{ username: 'ann', password, roles: ['Administrator'] }] }),
    );
    const server = await serve([
      '--store',
      'memory',
      '--users',
      users,
      '--expiration',
      '1s',
      '--sweep-interval',
      '1',
      '--log-level',
      'debug',
    ]);
    try {
      for (const p of ['/healthz', '/readyz', '/metrics']) {
        expect((await send(`${server.url}${p}`, 'GET')).status, p).toBe(200);
      }
      const index = await send(`${server.url}${BASE}/`, 'GET');
      expect(index.json.links).toMatchObject({ healthz: '/healthz', readyz: '/readyz', metrics: '/metrics' });
      expect(index.json.version).toBe(
        JSON.parse(await readFile(join(ROOT, 'packages/server/package.json'), 'utf8')).version,
      );
      expect((await send(`${server.url}${BASE}/services/start`, 'POST', { customer_id: 'C' })).status).toBe(
        401,
      );
      const started = await send(
        `${server.url}${BASE}/services/start`,
        'POST',
        { customer_id: 'C' },
        {
          ...ADMIN,
          'X-Request-Id': 'trace-42',
        },
      );
      expect(started.status).toBe(201);
      expect(started.headers.get('x-request-id')).toBe('trace-42');
      const purgeable = await send(
        `${server.url}${BASE}/services/start`,
        'POST',
        { customer_id: 'P' },
        ADMIN,
      );
      const purge = await send(
        `${server.url}${BASE}/maintenance/purge`,
        'POST',
        { limit: '2100-01-01T00:00:00Z', operation: 'purge.service.all' },
        ADMIN,
      );
      expect(purge.json.purged, purge.text).toBeGreaterThanOrEqual(1);
      expect(purgeable.status).toBe(201);

      // The expiry sweep on the server's 1 s timer removes what the purge left: counted as it goes.
      await send(`${server.url}${BASE}/services/start`, 'POST', { customer_id: 'E' }, ADMIN);
      const text = await metricsUntil(
        server.url,
        (t) => (sample(t, 'cxs_swept_services_total', { action: 'expired' }) ?? 0) >= 1,
      );
      expect(
        sample(text, 'cxs_http_requests_total', { operation: 'startService', method: 'POST', status: '201' }),
      ).toBe(3);
      expect(
        sample(text, 'cxs_http_requests_total', { operation: 'startService', method: 'POST', status: '401' }),
      ).toBe(1);
      expect(
        sample(text, 'cxs_http_request_duration_seconds_count', { operation: 'startService', status: '201' }),
      ).toBe(3);
      expect(
        sample(text, 'cxs_store_call_duration_seconds_count', { call: 'batch', outcome: 'ok' }),
      ).toBeGreaterThan(3);
      expect(
        sample(text, 'cxs_store_call_duration_seconds_count', { call: 'iterate', outcome: 'ok' }),
      ).toBeGreaterThan(0);
      expect(sample(text, 'cxs_purged_services_total')).toBe(purge.json.purged);
      expect(sample(text, 'cxs_events_total', { type: 'service.started' })).toBe(3);
      expect(sample(text, 'cxs_sweeps_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'cxs_sweep_last_success_timestamp_seconds')).toBeGreaterThan(0);
      expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      // An open change stream (GET /events) counts as a subscriber until it ends.
      expect(sample(text, 'cxs_change_subscribers')).toBe(0);
      const ac = new AbortController();
      const stream = await fetch(`${server.url}${BASE}/events`, { headers: ADMIN, signal: ac.signal });
      expect(stream.status).toBe(200);
      await stream.body?.getReader().read(); // its first bytes: the stream is open
      await metricsUntil(server.url, (t) => sample(t, 'cxs_change_subscribers') === 1);
      ac.abort();
      await metricsUntil(server.url, (t) => sample(t, 'cxs_change_subscribers') === 0);
    } finally {
      await server.stop();
    }
    // stdout is one JSON object a line, the listening line included; each request is logged once.
    const lines = server
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 30, msg: `listening on ${server.url}`, url: server.url });
    const traced = lines.filter((l) => l.reqId === 'trace-42');
    expect(traced).toHaveLength(1);
    expect(traced[0]).toMatchObject({ operation: 'startService', status: 201, user: 'ann', msg: 'request' });
    expect(lines.find((l) => l.operation === 'readyz')).toMatchObject({ level: 20 });
  });

  it('--log-level warn still prints the listening line; --log-format pretty writes readable lines', async () => {
    const quiet = await serve(['--store', 'memory', '--log-level', 'warn']);
    await send(`${quiet.url}${BASE}/services/start`, 'POST', { customer_id: 'C' });
    await quiet.stop();
    const quietLines = quiet.stdout().trim().split('\n');
    // Only the listening line: the request (info) is below the level.
    expect(quietLines).toHaveLength(1);
    expect(JSON.parse(quietLines[0] as string).msg).toBe(`listening on ${quiet.url}`);

    const pretty = await serve(['--store', 'memory', '--log-format', 'pretty']);
    await send(
      `${pretty.url}${BASE}/services/start`,
      'POST',
      { customer_id: 'C' },
      { 'X-Request-Id': 'pretty-1' },
    );
    await pretty.stop();
    const out = pretty.stdout();
    expect(out).toMatch(/INFO.*listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/INFO.*request.*"reqId":"pretty-1".*"operation":"startService"/);
    expect(() => JSON.parse(out.split('\n')[0] as string)).toThrow();

    const bad = await run(['serve', '--store', 'memory', '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--log-format must be json or pretty/);
  });

  it('--sync runs LevelDB with fsynced writes; it is bad usage with the memory store', async () => {
    const data = join(tmp, 'synced');
    const server = await serve(['--data', data, '--sync', '--log-level', 'warn']);
    const r = await send(`${server.url}${BASE}/services/start`, 'POST', { customer_id: 'S' });
    expect(r.status).toBe(201);
    expect((await send(`${server.url}/readyz`, 'GET')).status).toBe(200);
    await server.stop();
    expect(JSON.parse(server.stdout().split('\n')[0] as string)).toMatchObject({
      sync: true,
      store: 'level',
    });
    const exported = await run(['export', '--data', data]);
    expect(JSON.parse(exported.stdout.trim()).service_id).toBe(r.json.service_id);
    const memory = await run(['serve', '--store', 'memory', '--sync']);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/--sync applies to the level store only/);
  });
});

describe('cxs import --skip-existing', { timeout: SLOW }, () => {
  it('completes an interrupted import: ids already stored are skipped and counted', async () => {
    const source = join(tmp, 'import-source');
    const server = await serve(['--data', source, '--log-level', 'warn']);
    for (let i = 0; i < 6; i++) {
      await send(`${server.url}${BASE}/services/start`, 'POST', { customer_id: `C${i}` });
    }
    await server.stop();
    const file = join(tmp, 'all.jsonl');
    expect((await run(['export', '--data', source, '--out', file])).code).toBe(0);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const half = join(tmp, 'half.jsonl');
    await writeFile(half, `${lines.slice(0, 4).join('\n')}\n`);

    const target = join(tmp, 'import-target');
    const first = await run(['import', '--data', target, '--in', half]);
    expect(first.stderr).toContain('imported 4 services');
    const again = await run(['import', '--data', target, '--in', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    const rest = await run(['import', '--data', target, '--in', file, '--skip-existing']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toContain('imported 2 services, skipped 4 already stored');
    const all = await run(['export', '--data', target]);
    expect(all.stdout.trim().split('\n').sort()).toEqual([...lines].sort());

    // Purge still prints its JSON result on stdout (its count goes to the terminal's progress line).
    const purge = await run([
      'purge',
      '--data',
      target,
      '--before',
      '2100-01-01T00:00:00Z',
      '--operation',
      'purge.service.all',
    ]);
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 6 });
  });
});
