/**
 * The tables of the store and their versioned migrations. Every process runs `migrate()` on open;
 * concurrent opens are safe without advisory locks: each migration claims its version by
 * inserting it into `cxs_migrations` in the same transaction as its DDL, so a second process
 * blocks on that row until the first commits, then finds the version applied and skips it.
 */
import { ContextServicesError } from '@cxs/core';
import type { PoolClient } from 'pg';
import { isRetriable } from './errors.js';

/** A schema name we accept: a plain lower-case identifier (quoted anyway). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** @throws TypeError when `schema` is not a plain lower-case SQL identifier. */
export function checkSchemaName(schema: unknown): asserts schema is string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      'PostgresStore: schema must be a lower-case identifier (letters, digits, _; at most 63 characters)',
    );
  }
}

/** One step of the schema, applied once per database schema, in version order. */
interface Migration {
  readonly version: number;
  readonly description: string;
  /** DDL statements; `S` is the quoted schema name. */
  sql(S: string): string[];
}

/**
 * The migrations, oldest first. Never edit one that has shipped: add the next version.
 * Keys are `text COLLATE "C"` so that the primary key orders them by byte, like LevelDB.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'entries: ordered keys and their values',
    sql: (S) => [
      `CREATE TABLE ${S}.cxs_entries (
        key text COLLATE "C" NOT NULL PRIMARY KEY,
        value text NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    description: 'appends: the last position given per ordered-append prefix',
    sql: (S) => [
      `CREATE TABLE ${S}.cxs_appends (
        prefix text COLLATE "C" NOT NULL PRIMARY KEY,
        last bigint NOT NULL
      )`,
    ],
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The fully qualified, quoted names used in SQL. */
export interface Tables {
  readonly schema: string;
  readonly entries: string;
  /** Last position per ordered-append prefix (`BatchOptions.append`). */
  readonly appends: string;
  readonly migrations: string;
}

export function tablesOf(schema: string): Tables {
  const S = `"${schema}"`;
  return {
    schema: S,
    entries: `${S}.cxs_entries`,
    appends: `${S}.cxs_appends`,
    migrations: `${S}.cxs_migrations`,
  };
}

/** SQLSTATEs of a concurrent CREATE … IF NOT EXISTS that lost a race on the catalog. */
const CATALOG_RACE = new Set(['23505', '42P06', '42P07', '42710']);
const codeOf = (e: unknown) => (e as { code?: unknown } | null)?.code;

/** Run `step`, again when a concurrent process made the same catalog change at the same time. */
async function racing<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      const race = CATALOG_RACE.has(codeOf(error) as string) || isRetriable(error);
      if (!race || attempt >= 5) throw error;
    }
  }
}

/** Outcome of the migrations a store runs on open (`PostgresStore.migration`). */
export interface MigrationResult {
  /** Versions this call applied (empty when another process or an earlier open did). */
  readonly applied: number[];
  /** The schema version found after migrating. */
  readonly version: number;
}

/**
 * Create the schema and bring it to {@link SCHEMA_VERSION}; idempotent and safe when several
 * processes open the same database at once.
 * @throws ContextServicesError `STORE_FAILED` when the database has a newer schema version than this code knows.
 */
export async function migrate(client: PoolClient, tables: Tables, schema: string): Promise<MigrationResult> {
  // Look before creating: CREATE … IF NOT EXISTS needs the CREATE privilege even when the object
  // exists, and a role that only reads and writes entries must still be able to open the store.
  const exists = await client.query(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'cxs_migrations'`,
    [schema],
  );
  if (exists.rows.length === 0) {
    await racing(() => client.query(`CREATE SCHEMA IF NOT EXISTS ${tables.schema}`));
    await racing(() =>
      client.query(
        `CREATE TABLE IF NOT EXISTS ${tables.migrations} (
          version integer NOT NULL PRIMARY KEY,
          description text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      ),
    );
  }
  const done = new Set(
    (await client.query<{ version: number }>(`SELECT version FROM ${tables.migrations}`)).rows.map(
      (r) => r.version,
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    const claimed = await racing(async () => {
      await client.query('BEGIN');
      try {
        // Blocks while another process holds an uncommitted claim on the same version.
        const claim = await client.query(
          `INSERT INTO ${tables.migrations} (version, description) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`,
          [m.version, m.description],
        );
        if (claim.rowCount === 1) {
          for (const statement of m.sql(tables.schema)) await client.query(statement);
        }
        await client.query('COMMIT');
        return claim.rowCount === 1;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
    if (claimed) applied.push(m.version);
  }
  const { rows } = await client.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${tables.migrations}`,
  );
  const version = rows[0]?.version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new ContextServicesError(
      'STORE_FAILED',
      `The database schema is at version ${version}, newer than this store supports (${SCHEMA_VERSION}); upgrade @cxs/postgres`,
      { details: { version, supported: SCHEMA_VERSION } },
    );
  }
  return { applied, version };
}
