/**
 * The stores the application can run on, picked by `--store`. Each store package is imported
 * only when selected, so a server on memory never loads LevelDB's native binding, nor `pg`.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Store } from '@cxs/core';
import { integer, type OptionSpec, UsageError } from './cli/options.js';

/** Store kinds accepted by `--store`. */
export const STORE_KINDS = ['level', 'memory', 'postgres'] as const;

/** The PostgreSQL options every command that opens a store takes. */
export const PG_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'pg-url',
    env: 'CXS_PG_URL',
    help: 'PostgreSQL connection string, postgres://user:password@host:5432/db (store postgres)',
  },
  {
    flag: 'pg-schema',
    env: 'CXS_PG_SCHEMA',
    default: 'cxs',
    help: 'PostgreSQL schema of the tables, created if missing (store postgres)',
  },
  {
    flag: 'pg-pool-size',
    env: 'CXS_PG_POOL_SIZE',
    default: '10',
    help: 'PostgreSQL connections this process may hold (store postgres)',
  },
];

/** Where a store keeps its data. */
export interface StoreLocation {
  /** The LevelDB directory. */
  readonly data: string;
  /** LevelDB: fsync each write before acknowledging it (concurrent writes share one fsync). */
  readonly sync?: boolean;
  /** PostgreSQL: the connection string (required for `postgres`). */
  readonly pgUrl?: string;
  /** PostgreSQL: the schema of the tables (default `cxs`). */
  readonly pgSchema?: string;
  /** PostgreSQL: the size of the connection pool (default 10). */
  readonly pgPoolSize?: number;
  /** PostgreSQL: errors of idle pooled connections (a restart, a network drop), for the log. */
  readonly onPoolError?: (error: Error) => void;
  /** Told when a durable store starts failing writes (a full disk) and when it recovers. */
  readonly onHealthChange?: (health: { degraded: boolean; reason?: string }) => void;
}

/** Open the store a command asked for (not yet `open()`ed: the engine opens it). */
export async function openStore(kind: string, where: StoreLocation): Promise<Store> {
  if (kind !== 'postgres' && where.pgUrl !== undefined)
    throw new UsageError('--pg-url applies to the postgres store only');
  switch (kind) {
    case 'memory': {
      if (where.sync === true) throw new UsageError('--sync applies to the level store only');
      const { MemoryStore } = await import('@cxs/core/memory');
      return new MemoryStore();
    }
    case 'level': {
      const { LevelStore } = await import('@cxs/level');
      await mkdir(resolve(where.data), { recursive: true });
      return new LevelStore({
        location: resolve(where.data),
        sync: where.sync === true,
        ...(where.onHealthChange === undefined ? {} : { onHealthChange: where.onHealthChange }),
      });
    }
    case 'postgres': {
      if (where.sync === true) throw new UsageError('--sync applies to the level store only');
      if (where.pgUrl === undefined || where.pgUrl === '')
        throw new UsageError('--store postgres needs --pg-url (or CXS_PG_URL)');
      const { PostgresStore } = await import('@cxs/postgres');
      try {
        return new PostgresStore({
          connectionString: where.pgUrl,
          ...(where.pgSchema === undefined ? {} : { schema: where.pgSchema }),
          ...(where.pgPoolSize === undefined ? {} : { poolSize: where.pgPoolSize }),
          ...(where.onPoolError === undefined ? {} : { onPoolError: where.onPoolError }),
        });
      } catch (error) {
        // A bad schema name or pool size; the message never contains the connection string.
        throw new UsageError((error as Error).message);
      }
    }
    default:
      throw new UsageError(`--store must be one of ${STORE_KINDS.join(', ')} (got '${kind}')`);
  }
}

/** The store location from parsed options (`--data`, `--sync`, `--pg-*`). */
export function storeLocation(o: Record<string, string | boolean | undefined>): StoreLocation {
  return {
    data: String(o.data),
    sync: o.sync === true,
    ...(typeof o['pg-url'] === 'string' ? { pgUrl: o['pg-url'] } : {}),
    ...(typeof o['pg-schema'] === 'string' ? { pgSchema: o['pg-schema'] } : {}),
    ...(o['pg-pool-size'] === undefined
      ? {}
      : { pgPoolSize: integer(o['pg-pool-size'], 'pg-pool-size', 1, 1000) }),
  };
}
