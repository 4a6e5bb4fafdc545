/**
 * The standalone server as a real child process (`cxs serve` from the sources, memory store, this
 * example's tenants and users files), driven by this example's script as a second child process;
 * then the results are checked from outside with fetch, and the server is stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyPassword } from '@cxs/koa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call } from '../src/client.js';
import { ADMIN, SUPERVISOR } from '../src/drive.js';

const EXAMPLE = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(EXAMPLE, '../..');
const CLI = join(ROOT, 'packages/server/src/cli/main.ts');

let server: ChildProcess;
let exited: Promise<number | null>;
let origin: string;

/** Start `cxs serve` and resolve with its URL once it prints its `listening on` line. */
beforeAll(async () => {
  server = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      CLI,
      'serve',
      '--port',
      '0',
      '--store',
      'memory',
      '--tenants',
      join(EXAMPLE, 'config/tenants.json'),
      '--users',
      join(EXAMPLE, 'config/users.json'),
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  exited = new Promise((resolve) => server.once('exit', resolve));
  let output = '';
  origin = await new Promise<string>((resolve, reject) => {
    server.stdout?.on('data', (chunk) => {
      output += chunk;
      const m = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (m) resolve(m[1] as string);
    });
    server.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    server.once('exit', (code) => reject(new Error(`cxs serve exited ${code}: ${output}`)));
  });
});

afterAll(async () => {
  if (server.exitCode === null) server.kill('SIGKILL');
  await exited;
});

/** Run the example's script (`pnpm drive <url>`) to completion. */
async function runScript(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', url], {
    cwd: EXAMPLE,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

it('the users file holds hashes of the passwords the README and the script use', async () => {
  const { users } = JSON.parse(await readFile(join(EXAMPLE, 'config/users.json'), 'utf8')) as {
    users: { username: string; password: string; roles: string[] }[];
  };
  expect(users.map((u) => [u.username, u.roles])).toEqual([
    ['admin', ['Administrator']],
    ['supervisor', ['Supervisor']],
  ]);
  expect(await verifyPassword(ADMIN.password, users[0]?.password ?? '')).toBe(true);
  expect(await verifyPassword(SUPERVISOR.password, users[1]?.password ?? '')).toBe(true);
});

it('the script drives the server: a journey in one tenant, invisible in the other, 401, 403, 400', async () => {
  const { code, stdout, stderr } = await runScript(origin);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.split('\n');
  const sid = /^201 POST \/services\/start \(Paris, admin\) \{"service_id":"([A-Za-z0-9_-]+)"\}$/.exec(
    lines[1] ?? '',
  )?.[1];
  expect(sid).toBeDefined();
  const s = `/services/${sid}`;
  // One line per request: status, method, path, tenant and user, and a short body.
  expect(lines.filter((l) => /^\d{3} /.test(l))).toEqual([
    `201 POST /services/start (Paris, admin) {"service_id":"${sid}"}`,
    `201 POST ${s}/states/start (Paris, admin) {"state_id":1}`,
    `201 POST ${s}/tasks/start (Paris, admin) {"task_id":1}`,
    `204 POST ${s}/tasks/1/end (Paris, admin)`,
    `201 POST ${s}/states/transition (Paris, admin) {"state_id":2}`,
    `201 POST ${s}/tasks/start (Paris, admin) {"task_id":2}`,
    `204 POST ${s}/end (Paris, admin)`,
    '200 GET /customers/customer-7/services?completed_states=true&completed_tasks=true (101, supervisor) [1 service]',
    '200 GET /customers/customer-7/services (Lyon, supervisor) [0 services]',
    `400 GET ${s} (Lyon, supervisor) SERVICE_NOT_FOUND: There are no service found for : ${sid}`,
    `401 GET ${s} (Paris, no credentials) UNAUTHORIZED: Authentication required`,
    `401 GET ${s} (Paris, admin, wrong password) UNAUTHORIZED: Authentication required`,
    '403 POST /services/start (Paris, supervisor) FORBIDDEN: This operation needs the Administrator role',
    `400 GET ${s} (no tenant, supervisor) TENANT_REQUIRED: Invalid tenant specified : no tenant specified in multi-tenant environment. Verify configuration and 'ContactCenterId' HTTP header.`,
    `400 GET ${s} (Nice, supervisor) TENANT_INVALID: Invalid tenant specified : specified tenant in HTTP header 'ContactCenterId'='Nice' not configured. Verify configuration.`,
  ]);
  expect(stdout).toContain(`  Location: /genesys/1/cs/services/${sid}\n`);
  expect(stdout).toContain('  WWW-Authenticate: Basic realm="cxs", charset="UTF-8"\n');
  expect(stdout).toContain(`service ${sid}: 1 service(s) for customer-7 in Paris, 0 in Lyon`);

  // From outside: the journey is in Paris (by name or id), completed with everything in it (L2) …
  const paris = await call(origin, 'GET', `${s}?completed_states=true&completed_tasks=true`, {
    tenant: 'Paris',
    as: SUPERVISOR,
  });
  expect(paris.status).toBe(200);
  expect(paris.json).toMatchObject({
    service_id: sid,
    customer_id: 'customer-7',
    service_type: 'booking',
    disposition: 'booked',
    completed_states: [
      { state_id: 1, state_type: 'collect-info', disposition: 'collected' },
      { state_id: 2, state_type: 'get-proposals' },
    ],
    completed_tasks: [
      { task_id: 1, task_type: 'dates', state_id: 1 },
      { task_id: 2, task_type: 'search', state_id: 2 },
    ],
  });
  const journey = paris.json as {
    completed: { timestamp: string };
    completed_tasks: { completed: unknown }[];
  };
  expect(journey.completed_tasks[1]?.completed).toEqual(journey.completed);
  // … and the printed journey is that same service.
  const printed = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as unknown[];
  expect(printed).toEqual([paris.json]);
  // … and not in Lyon.
  const lyon = await call(origin, 'GET', '/customers/customer-7/services', { tenant: '102', as: ADMIN });
  expect(lyon).toMatchObject({ status: 200, json: [] });
});

it('the script reports an unexpected answer and exits 1', async () => {
  // Pointed at a path where no Context Services routes are served, the first step gets a 404.
  const { code, stderr } = await runScript(`${origin}/not-the-server`);
  expect(code).toBe(1);
  expect(stderr).toMatch(/^drive failed: expected 201, got 404 for POST \/services\/start/);
});

it('SIGTERM stops the server cleanly (exit 0)', async () => {
  server.kill('SIGTERM');
  expect(await exited).toBe(0);
});
