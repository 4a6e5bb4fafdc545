/**
 * `cxs` hardening: bad configuration is bad usage (exit 2, a clear message); the slow-client
 * limits and `--strict-query` are wired; a `kill -9` during a file export (HTTP or `cxs export
 * --out`) never leaves a partial file under a final name (docs/spec.md §8.2).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContextServices } from '@cxs/core';
import { hashPassword } from '@cxs/koa';
import { LevelStore } from '@cxs/level';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BASE, finished, send } from '../../koa/test/helpers.js';
import { run, serve, start } from './cli-helpers.js';

// Each test starts several `cxs` processes, each compiling the sources with tsx on start: seconds
// apiece on a loaded machine. The waits inside are on events; only the budget is generous.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-cli-hardening-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Run a command that should refuse to start; a server that starts anyway is stopped at once. */
async function refused(args: string[]) {
  const child = start(args);
  child.stdin?.end();
  child.stdout?.on('data', (c: Buffer) => {
    if (String(c).includes('listening on')) child.kill('SIGTERM');
  });
  return finished(child);
}

describe('configuration errors are bad usage (exit 2)', () => {
  it('a users file with an unknown role is refused, naming the user and the role', async () => {
    const users = join(tmp, 'users.json');
    const password = await hashPassword('pw', { N: 2 ** 10, r: 8, p: 1 });
    await writeFile(
      users,
      JSON.stringify({ users: [{ username: 'ops', password, roles: ['Supervisor', 'administrator'] }] }),
    );
    const r = await refused(['serve', '--store', 'memory', '--port', '0', '--users', users]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /users\[0\] \('ops'\) has the unknown role 'administrator' \(known: Administrator, Supervisor\)/,
    );
    expect(r.stdout).not.toContain('listening on');
  });

  it('a missing tenants file: one clear message, the error code not repeated', async () => {
    const missing = join(tmp, 'no-such-tenants.json');
    const r = await refused(['serve', '--store', 'memory', '--port', '0', '--tenants', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tenants file ${missing}: no such file`);
    expect(r.stderr).not.toMatch(/ENOENT ENOENT/);
  });

  it('a bad --expiration, or a bad timeout, exits 2 like other bad options', async () => {
    const [expiration, timeout, connections, budget] = await Promise.all([
      refused(['serve', '--store', 'memory', '--port', '0', '--expiration', '5 years']),
      refused(['serve', '--store', 'memory', '--port', '0', '--body-timeout', 'soon']),
      refused(['serve', '--store', 'memory', '--port', '0', '--max-connections', '0']),
      refused(['serve', '--store', 'memory', '--port', '0', '--maintenance-latency-budget', 'low']),
    ]);
    expect(expiration.code).toBe(2);
    expect(expiration.stderr).toMatch(/--expiration must be/);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/--body-timeout must be a duration/);
    expect(connections.code).toBe(2);
    expect(budget.code).toBe(2);
    expect(budget.stderr).toMatch(/--maintenance-latency-budget must be a duration/);
  });
});

describe('cxs serve limits and query leniency', () => {
  it('--body-timeout answers a trickling body 408 in the JSON shape; --strict-query refuses unknown parameters', async () => {
    const server = await serve(['--store', 'memory', '--body-timeout', '300ms', '--strict-query']);
    try {
      const { port } = new URL(server.url);
      const socket = connect(Number(port), '127.0.0.1');
      let reply = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => {
        reply += c;
      });
      await once(socket, 'connect');
      socket.write(
        `POST ${BASE}/services/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
      );
      await once(socket, 'close');
      expect(reply).toMatch(/^HTTP\/1\.1 408 /);
      expect(reply).toContain('"code":"REQUEST_TIMEOUT"');
      const strict = await send(`${server.url}${BASE}/services/anonymous/k?_=1`, 'GET');
      expect(strict.status).toBe(400);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    const lenient = await serve(['--store', 'memory']);
    try {
      expect((await send(`${lenient.url}${BASE}/services/anonymous/k?_=1`, 'GET')).status).toBe(200);
    } finally {
      lenient.child.kill('SIGTERM');
      await lenient.exited;
    }
  });
});

const FINAL = /^export\d{8}_\d{6}_\d{3}_(services|states|tasks)\.(json|csv)$/;

/** Resolves once a file in `dir` whose name passes `match` reaches `bytes`, or rejects when `child` exits first. */
async function fileGrows(dir: string, match: (name: string) => boolean, bytes: number, child: ChildProcess) {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error('the process ended before the file grew');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!match(name)) continue;
      const size = await stat(join(dir, name)).then(
        (s) => s.size,
        () => 0,
      );
      if (size >= bytes) return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('kill -9 during a file export (docs/spec.md §8.2)', () => {
  const count = 300;
  let source: string;
  beforeAll(async () => {
    source = join(tmp, 'source');
    const engine = await createContextServices({ store: new LevelStore({ location: source }) });
    try {
      // ~30 MB of export from a store that LevelDB compresses to little.
      for (let i = 0; i < count; i++) {
        await engine.startService({
          contact_key: `k${i}`,
          timestamp: '2021-01-01T00:00:00Z',
          Pad: 'x'.repeat(100_000),
        });
      }
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('POST /maintenance/services/files: no file under a final name is partial; the next start removes the leftovers', async () => {
    const exportDir = join(tmp, 'exports');
    const server = await serve(['--data', source, '--export-dir', exportDir]);
    const answered = send(
      `${server.url}${BASE}/maintenance/services/files?time_from=2020-01-01T00:00:00Z`,
      'POST',
    ).then(
      () => true,
      () => false,
    );
    await fileGrows(exportDir, (n) => n.includes('_services.json'), 512 * 1024, server.child);
    server.child.kill('SIGKILL');
    await server.exited;
    // Killed mid-export: no answer came.
    expect(await answered).toBe(false);
    const names = await readdir(exportDir);
    for (const name of names.filter((n) => FINAL.test(n))) {
      // Whatever has a final name must be whole.
      expect(() => JSON.parse(readFileSync(join(exportDir, name), 'utf8')), name).not.toThrow();
    }
    expect(names.some((n) => n.endsWith('.partial'))).toBe(true);
    // The next start removes what the killed export left.
    const again = await serve(['--data', source, '--export-dir', exportDir]);
    try {
      expect((await readdir(exportDir)).filter((n) => n.endsWith('.partial'))).toEqual([]);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  }, 120_000);

  it('cxs export --out: the output file appears only when complete; a re-run removes the leftover', async () => {
    const out = join(tmp, 'backup.jsonl');
    const child = start(['export', '--data', source, '--out', out]);
    child.stdin?.end();
    child.stdout?.resume();
    child.stderr?.resume();
    await fileGrows(tmp, (n) => n.startsWith('backup.jsonl'), 512 * 1024, child);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await run(['export', '--data', source, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(count);
    expect((await readdir(tmp)).filter((n) => n.startsWith('backup.jsonl'))).toEqual(['backup.jsonl']);
  }, 120_000);
});
