/**
 * PostgreSQL for tests, with no set-up step: the URL comes from the globalSetup
 * (./global-setup.ts, `CXS_PG_URL` or an embedded server), or, when a test runs under a vitest
 * config without that globalSetup, from `CXS_PG_URL` or an embedded server started for this test
 * process. Every test file works in schemas of its own (`testSchemas()`), dropped at the end.
 * Other packages import this module to test against PostgreSQL.
 *
 * @example
 * ```ts
 * import { pgFactory } from '../../postgres/test/pg-harness.js';
 * storeConformanceSuite('PostgresStore', pgFactory());
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '@cxs/core';
import type { StoreFactory } from '@cxs/core/testing';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { PostgresStore, type PostgresStoreOptions } from '../src/index.js';
import { startEmbeddedPostgres, type TestServer } from './embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a PostgreSQL database the tests may create schemas in. */
    cxsPgUrl: string;
  }
}

let local: Promise<TestServer> | undefined;

/** The URL of the test database (see the module comment). */
export async function pgUrl(): Promise<string> {
  const provided = inject('cxsPgUrl');
  if (typeof provided === 'string' && provided !== '') return provided;
  const env = process.env.CXS_PG_URL;
  if (env !== undefined && env !== '') return env;
  // No globalSetup: one server for this test process, stopped by embedded-postgres at exit.
  local ??= startEmbeddedPostgres();
  return (await local).url;
}

/** Run one statement on the test database with a short-lived client. */
export async function adminQuery(sql: string, values?: unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: await pgUrl() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

/**
 * Fresh schema names unique to this test file (`cxs_t_<random>_<n>`); every schema so named is
 * dropped after the file's tests (registered with `afterAll`).
 */
export function testSchemas(): { next(): string; drop(schema: string): Promise<void> } {
  const prefix = `cxs_t_${randomBytes(4).toString('hex')}`;
  let n = 0;
  afterAll(async () => {
    const { rows } = await adminQuery('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [
      `${prefix}_`,
    ]);
    for (const { nspname } of rows as { nspname: string }[]) {
      await adminQuery(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
    }
  });
  return {
    next: () => `${prefix}_${++n}`,
    drop: async (schema) => {
      await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

/** Store factory options: everything but where the data lives. */
export type PgFactoryOptions = Omit<PostgresStoreOptions, 'connectionString' | 'pool' | 'schema'>;

/** A `StoreFactory` of {@link PostgresStore}s (see {@link pgFactory}). */
export interface PgFactory extends StoreFactory {
  create(): Promise<PostgresStore>;
  reopen(store: Store): Promise<PostgresStore>;
  destroy(store: Store): Promise<void>;
}

/**
 * A `StoreFactory` (`@cxs/core/testing`) of PostgresStores, each in a fresh schema of this test
 * file; `reopen` makes a new store on the same schema, `destroy` drops the schema.
 */
export function pgFactory(options: PgFactoryOptions = {}): PgFactory {
  const schemas = testSchemas();
  return {
    async create() {
      return new PostgresStore({
        poolSize: 4,
        ...options,
        connectionString: await pgUrl(),
        schema: schemas.next(),
      });
    },
    async reopen(store) {
      return new PostgresStore({
        poolSize: 4,
        ...options,
        connectionString: await pgUrl(),
        schema: (store as PostgresStore).schema,
      });
    },
    async destroy(store) {
      await schemas.drop((store as PostgresStore).schema);
    },
  };
}
