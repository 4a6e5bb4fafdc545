/**
 * The `cxs` command line as a real child process: graceful shutdown of `serve` with a request in
 * flight, export / import / purge on LevelDB directories, the lock message, flags and env vars.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContextServices, createContextServices } from '@cxs/core';
import { verifyPassword } from '@cxs/koa';
import { LevelStore } from '@cxs/level';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BASE, finished, send } from '../../koa/test/helpers.js';
import { CLI, ROOT, run, serve, start } from './cli-helpers.js';

// Each test starts several `cxs` processes, each compiling the sources with tsx on start: seconds
// apiece on a loaded machine. The waits inside are on events; only the budget is generous.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cxs-cli-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function openEngine(dir: string): Promise<ContextServices> {
  return createContextServices({ store: new LevelStore({ location: dir }) });
}

describe('cxs serve', () => {
  it('SIGTERM: stops accepting, finishes a request whose body is still uploading, closes the store, exits 0', async () => {
    const data = join(tmp, 'graceful');
    const server = await serve(['--data', data]);
    const { port, hostname } = new URL(server.url);
    const body = JSON.stringify({ customer_id: 'in-flight', Note: 'x'.repeat(2000) });
    const half = Math.floor(body.length / 2);
    let reading: () => void = () => undefined;
    const serverReads = new Promise<void>((resolve) => {
      reading = resolve;
    });
    const reply = new Promise<{ status: number; connection: string | undefined; text: string }>(
      (resolve, reject) => {
        const req = request(
          {
            host: hostname,
            port,
            method: 'POST',
            path: `${BASE}/services/start`,
            headers: {
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(body)),
              // The server answers 100 Continue once the route reads the body: the signal that the
              // request is in flight, whatever the machine's load.
              expect: '100-continue',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => {
              text += c;
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }),
            );
          },
        );
        req.on('error', reject);
        req.on('continue', () => {
          req.write(body.slice(0, half));
          reading();
        });
        req.flushHeaders();
        // The rest is sent after SIGTERM, once the server has stopped accepting connections.
        (globalThis as { finishUpload?: () => void }).finishUpload = () => req.end(body.slice(half));
      },
    );
    await serverReads;
    server.child.kill('SIGTERM');
    // New connections are refused while the upload is still in flight.
    let refused = false;
    while (!refused) {
      await new Promise((r) => setTimeout(r, 50));
      refused = await send(`${server.url}${BASE}/openapi.json`, 'GET').then(
        () => false,
        () => true,
      );
    }
    expect(refused).toBe(true);
    (globalThis as { finishUpload?: () => void }).finishUpload?.();
    const r = await reply;
    expect(r.status).toBe(201);
    expect(r.connection).toBe('close');
    const sid = JSON.parse(r.text).service_id as string;
    expect(await server.exited).toBe(0);
    // The store was closed cleanly: the directory opens again and holds the service.
    const engine = await openEngine(data);
    try {
      expect((await engine.getService(sid, { extensions: ['Note'] })).customer_id).toBe('in-flight');
    } finally {
      await engine.close();
    }
  });

  it('flags win over env vars; memory store, tenants, body limit and auto-complete are wired', async () => {
    const data = join(tmp, 'never-created');
    const tenants = join(tmp, 'tenants.json');
    await writeFile(tenants, JSON.stringify([{ id: '7', name: 'Seven' }]));
    const server = await serve(
      ['--port', '0', '--tenants', tenants, '--auto-complete-after', '1', '--sweep-interval', '1'],
      { CXS_PORT: 'not-a-port', CXS_STORE: 'memory', CXS_DATA: data, CXS_BODY_LIMIT: '1kb' },
    );
    try {
      const url = `${server.url}${BASE}/services/start`;
      expect((await send(url, 'POST', { contact_key: 'env' })).json.code).toBe('TENANT_REQUIRED');
      const r = await send(url, 'POST', { contact_key: 'env' }, { ContactCenterId: 'Seven' });
      expect(r.status).toBe(201);
      const big = await send(
        url,
        'POST',
        { contact_key: 'env', Pad: 'x'.repeat(2000) },
        { ContactCenterId: '7' },
      );
      expect(big.status).toBe(413);
      await expect(stat(data)).rejects.toThrow();
      // Auto-complete after 1 s of inactivity, found by the 1 s sweeper (however late a loaded
      // machine runs it: the test timeout bounds the wait).
      let completed: unknown;
      while (completed === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const g = await send(`${server.url}${BASE}/services/${r.json.service_id}`, 'GET', undefined, {
          ContactCenterId: '7',
        });
        completed = g.json.completed;
      }
      expect(completed).toBeDefined();
    } finally {
      server.child.kill('SIGINT');
      expect(await server.exited).toBe(0);
    }
  });

  it('a tenants file with an empty list is bad usage (exit 2), not a silent single-tenant server', async () => {
    const empty = join(tmp, 'no-tenants.json');
    await writeFile(empty, '[]');
    for (const [args, env] of [
      [['--tenants', empty], {}],
      [[], { CXS_TENANTS: empty }],
    ] as [string[], Record<string, string>][]) {
      const child = start(['serve', '--store', 'memory', '--port', '0', ...args], env);
      let output = '';
      child.stdout?.on('data', (c) => {
        output += c;
        // Had it started, stop it: the assertion below then fails instead of the test hanging.
        if (output.includes('listening on')) child.kill('SIGTERM');
      });
      child.stderr?.on('data', (c) => {
        output += c;
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(output).not.toContain('listening on');
      expect(code).toBe(2);
      expect(output).toMatch(/tenants file .*no-tenants\.json: names no tenant/);
    }
  });

  it('bad usage exits 2 with a message; --help exits 0', async () => {
    const [bad, help, unknown] = await Promise.all([
      run(['serve', '--port', 'abc', '--store', 'memory']),
      run(['serve', '--help']),
      run(['frobnicate']),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--port must be an integer/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--auto-complete-after/);
    expect(help.stdout).toMatch(/CXS_PORT/);
    expect(unknown.code).toBe(2);
  });
});

describe('cxs export / import / purge on LevelDB', () => {
  let source: string;
  let expected: unknown[];
  beforeAll(async () => {
    source = join(tmp, 'source');
    const engine = await openEngine(source);
    try {
      for (let i = 0; i < 30; i++) {
        const { service_id } = await engine.startService({
          ...(i % 2 === 0 ? { customer_id: `c${i}` } : { contact_key: `k${i}` }),
          timestamp: new Date(Date.UTC(2020, 0, 1 + i)).toISOString(),
          Ext: { i, text: 'é,"\n' },
        });
        await engine.startState(service_id, {
          state_type: 's',
          timestamp: new Date(Date.UTC(2020, 0, 1 + i, 1)).toISOString(),
        });
        if (i % 3 === 0)
          await engine.endService(service_id, {
            timestamp: new Date(Date.UTC(2020, 0, 2 + i)).toISOString(),
          });
      }
      expected = [];
      const all = await engine.exportServices({
        time_from: '1970-01-01T00:00:00.000Z',
        time_to: '9999-12-31T23:59:59.999Z',
        export_content: true,
      });
      for await (const s of all) expected.push(s);
    } finally {
      await engine.close();
    }
  });

  it('export writes JSON lines; import into another directory reproduces every service with its id', async () => {
    const file = join(tmp, 'dump.jsonl');
    const exp = await run(['export', '--data', source, '--out', file]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stderr).toContain('exported 30 services');
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(expected);

    const target = join(tmp, 'target');
    const [again, imp] = await Promise.all([
      run(['export', '--data', source, '--out', file]),
      run(['import', '--data', target, '--in', file]),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/EEXIST/);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).toContain('imported 30 services');
    const toStdout = await run(['export', '--data', target]);
    expect(toStdout.code).toBe(0);
    const reimported = toStdout.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(reimported).toEqual(expected);

    const dup = await run(['import', '--data', target, '--in', file]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);

    const purge = await run([
      'purge',
      '--data',
      target,
      '--before',
      '2020-01-16T00:00:00Z',
      '--operation',
      'purge.service.completed',
    ]);
    expect(purge.code, purge.stderr).toBe(0);
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 5 });
    const after = await run(['export', '--data', target]);
    expect(after.stdout.trim().split('\n')).toHaveLength(25);
  });

  it('export --out that fails to start leaves no file (bad --from, missing directory, directory held by a server); a re-run then works', async () => {
    const file = join(tmp, 'not-started.jsonl');
    const absent = async () => {
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    };
    const badFrom = await run(['export', '--data', source, '--out', file, '--from', 'yesterday']);
    expect(badFrom.code).toBe(1);
    expect(badFrom.stderr).toMatch(/time_from/);
    await absent();
    const missing = await run(['export', '--data', join(tmp, 'no-such-data'), '--out', file]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no data directory at/);
    await absent();
    const server = await serve(['--data', source]);
    try {
      const held = await run(['export', '--data', source, '--out', file]);
      expect(held.code).toBe(1);
      expect(held.stderr).toMatch(/in use by another process: stop the server/);
      await absent();
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
    // The cause fixed (server stopped, --from valid), the same command succeeds: no EEXIST.
    const again = await run(['export', '--data', source, '--out', file, '--from', '2000-01-01T00:00:00Z']);
    expect(again.code, again.stderr).toBe(0);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(expected);
  });

  it.skipIf(process.platform === 'win32')(
    'export --out that fails half-way (a write error: EFBIG past the file size limit) exits 1 and removes its half-written file',
    async () => {
      const big = join(tmp, 'big-source');
      const engine = await openEngine(big);
      try {
        // ~8 MB of JSON lines from a store a few hundred KB large (LevelDB compresses the padding).
        for (let i = 0; i < 80; i++)
          await engine.startService({ customer_id: `b${i}`, Pad: 'x'.repeat(100_000) });
      } finally {
        await engine.close();
      }
      const file = join(tmp, 'too-big.jsonl');
      // 2048 blocks: 1 MiB or 2 MiB depending on the shell's block size; either way far below 8 MB.
      const child = spawn(
        '/bin/sh',
        [
          '-c',
          'ulimit -f 2048 && exec "$0" "$@"',
          process.execPath,
          '--conditions=source',
          '--import',
          'tsx',
          CLI,
        ].concat(['export', '--data', big, '--out', file]),
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const { code, stderr } = await finished(child);
      expect(stderr).toMatch(/EFBIG/);
      expect(code).toBe(1);
      await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    },
  );

  it('import reads standard input and names a bad line', async () => {
    const target = join(tmp, 'stdin-target');
    const input = `${JSON.stringify(expected[0])}\n\n{not json\n`;
    const r = await run(['import', '--data', target], { input });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 3 is not JSON/);
  });

  it('a directory held by another process, or missing: a clear message and exit 1', async () => {
    const engine = await openEngine(source);
    try {
      const r = await run([
        'purge',
        '--data',
        source,
        '--before',
        '2100-01-01T00:00:00Z',
        '--operation',
        'purge.service.all',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/in use by another process: stop the server/);
    } finally {
      await engine.close();
    }
    const [bad, missing] = await Promise.all([
      run(['purge', '--data', source, '--before', '2100-01-01T00:00:00Z']),
      run(['export', '--data', join(tmp, 'no-such-dir')]),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--operation is required/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no data directory at/);
    await expect(stat(join(tmp, 'no-such-dir'))).rejects.toThrow();
  });
});

describe('cxs hash-password', () => {
  it('prints a hash of the password read from stdin, usable in a users file', async () => {
    const r = await run(['hash-password'], { input: 'correct horse\n' });
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    const users = join(tmp, 'users.json');
    await writeFile(
      users,
      JSON.stringify({ users: [{ username: 'admin', password: hash, roles: ['Administrator'] }] }),
    );
    const server = await serve(['--store', 'memory', '--users', users]);
    try {
      const auth = `Basic ${Buffer.from('admin:correct horse').toString('base64')}`;
      expect((await send(`${server.url}${BASE}/services/start`, 'POST', { contact_key: 'u' })).status).toBe(
        401,
      );
      expect(
        (
          await send(
            `${server.url}${BASE}/services/start`,
            'POST',
            { contact_key: 'u' },
            { Authorization: auth },
          )
        ).status,
      ).toBe(201);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
