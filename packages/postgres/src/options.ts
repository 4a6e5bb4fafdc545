/** The options, operation events and counters of {@link PostgresStore}. */
import type { Pool } from 'pg';
import type { PostgresStore } from './postgres-store.js';

/** Options of {@link PostgresStore}. Give `connectionString` or `pool`. */
export interface PostgresStoreOptions {
  /** A libpq-style URL, e.g. `postgres://cxs@db.internal:5432/cxs`. The store owns its pool. */
  connectionString?: string;
  /** A pool you own instead (not ended by `close()`); `poolSize` and the timeouts are then yours. */
  pool?: Pool;
  /** Schema holding the tables (created if missing). Default `cxs`. */
  schema?: string;
  /** Connections of the store's own pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing with `STORE_UNAVAILABLE` (default 5000 ms). */
  connectionTimeoutMillis?: number;
  /** Times a batch is run again after a serialization failure or deadlock (default 10). */
  maxRetries?: number;
  /** Entries read per statement by `iterate()` (default 1000). */
  pageSize?: number;
  /** Called after every operation, for metrics. Must not throw. */
  onOperation?: (event: OperationEvent) => void;
  /**
   * Called with errors of idle pooled connections (the server restarted, the network dropped).
   * The pool drops such connections and makes new ones when needed; default: counted only.
   */
  onPoolError?: (error: Error) => void;
}

/** One finished operation, for {@link PostgresStoreOptions.onOperation}. */
export interface OperationEvent {
  readonly operation: 'get' | 'getMany' | 'batch' | 'iterate';
  /** Wall-clock duration in milliseconds (for `iterate`: until the snapshot was taken). */
  readonly ms: number;
  /** Transactions run (1 + retries) for `batch`, else 1. */
  readonly attempts: number;
  /** `ok`, or the error code thrown. */
  readonly outcome: 'ok' | 'PRECONDITION_FAILED' | 'CONFLICT' | 'STORE_UNAVAILABLE' | 'STORE_FAILED';
}

/** Counters since construction, see {@link PostgresStore.stats}. */
export interface PostgresStats {
  /** SQL statements sent (BEGIN and COMMIT included). */
  statements: number;
  /** Batches committed. */
  batches: number;
  /** Transactions run again after a serialization failure or deadlock. */
  retries: number;
  /** Batches refused because a precondition did not hold. */
  preconditionFailures: number;
  /** Operations that failed with `STORE_UNAVAILABLE`. */
  unavailable: number;
  /** Operations that failed with `STORE_FAILED` or `CONFLICT`. */
  failures: number;
  /** Errors of idle pooled connections. */
  poolErrors: number;
}
