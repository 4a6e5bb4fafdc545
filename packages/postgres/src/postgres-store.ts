/**
 * The shared store: the core's {@link Store} on PostgreSQL ≥ 14 through node-postgres, for
 * several engine processes over one database (docs/spec.md §11). Entries live in one table keyed by
 * `text COLLATE "C"` (byte order); a batch is one READ COMMITTED statement (./batch-sql.ts) that
 * locks the rows its preconditions name (or claims the absent ones) before writing, retried on
 * deadlocks; iterators read one snapshot page by page (./range-iterator.ts); the schema is
 * versioned (./schema.ts). Ordered appends (the change log) take their positions from a counter
 * row per prefix, updated by the last part of the batch's statement, whose row lock orders the
 * commits of appending batches.
 */
import {
  type AppendOp,
  type BatchOp,
  type BatchOptions,
  ContextServicesError,
  checkBatch,
  checkKey,
  checkRange,
  isContextServicesError,
  type Range,
  type Store,
  type StoreCapabilities,
} from '@cxs/core';
import { Pool, type PoolClient } from 'pg';
import { type BatchAnswer, type BatchStatement, batchStatement, failedKey, type Work } from './batch-sql.js';
import { isRetriable, isUnavailable, storeError } from './errors.js';
import type { OperationEvent, PostgresStats, PostgresStoreOptions } from './options.js';
import { PointReads } from './point-reads.js';
import { type IteratorHost, RangeIterator } from './range-iterator.js';
import { checkSchemaName, type MigrationResult, migrate, type Tables, tablesOf } from './schema.js';

type Status = 'closed' | 'opening' | 'open' | 'closing';

/** `Date.now()`-free timing (the core's rule is about domain time; this is a latency metric). */
const now = () => performance.now();

function positiveInteger(name: string, value: unknown): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0)) {
    throw new TypeError(`PostgresStore: ${name} must be a positive integer`);
  }
}

/** PostgreSQL text cannot hold NUL, and UTF-8 cannot hold a lone surrogate: refuse, never mangle. */
function checkText(what: string, s: string): void {
  const wellFormed = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  if (s.includes('\0') || (wellFormed !== undefined && !wellFormed.call(s))) {
    throw new TypeError(`PostgresStore: ${what} must not contain NUL or lone surrogates`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A {@link Store} on PostgreSQL: persistent, shared by any number of processes, with snapshot
 * iterators.
 *
 * - `batch` is one statement, its own READ COMMITTED transaction (see ./batch-sql.ts): the rows
 *   named by value preconditions are locked (`FOR UPDATE`) and compared, keys required absent
 *   are claimed by inserting them (`ON CONFLICT DO NOTHING`), then, only if every precondition
 *   held, the deletes, upserts and append run. A racing writer of the same key waits for the lock
 *   and then judges its precondition against what was committed: of N processes racing
 *   conditional batches on one key, one commits and the others get `PRECONDITION_FAILED`.
 *   Batches that claim several keys, or a key they do not write, run the statement in a
 *   transaction (rolled back when it refuses; the placeholder of an unwritten key is deleted
 *   before COMMIT). A deadlock or serialization failure (40P01, 40001) runs the batch again (up
 *   to `maxRetries` times, jittered back-off).
 * - `append` (ordered appends, the change log): last in the statement, one row per prefix in
 *   `cxs_appends` is incremented and the entries are inserted under the positions it gives. The
 *   row stays locked until the commit, so a batch cannot take a position until every one holding
 *   a lower one has committed (or failed, and given it back): positions become visible in their
 *   order, across processes. A concurrent appender waits for that lock and then, READ COMMITTED,
 *   counts on from the value just committed (`ON CONFLICT DO UPDATE` re-reads the newest row
 *   version), so appenders queue rather than fail; appenders of one process queue on the row the
 *   same way (only the ends of their statements run one at a time), and positions follow commit
 *   order, not call order.
 * - `getMany` is one statement (one snapshot); the `get`s and `getMany`s called in one turn of
 *   the event loop share one statement; `iterate` is one snapshot, streamed by pages.
 * - Writes called after `iterate()` wait until that iterator has taken its snapshot, so an
 *   iterator never sees this process's later writes.
 *
 * Errors: `CLOSED` while not open; `PRECONDITION_FAILED` (details.key); `STORE_UNAVAILABLE` when
 * the database cannot be reached (refused, reset, shut down, pool timeout; message generic, the
 * driver error is the `cause`); `CONFLICT` when serialization retries ran out; `STORE_FAILED`
 * otherwise. Arguments are checked as by every store (`TypeError`).
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { PostgresStore } from '@cxs/postgres';
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
 * const cs = await createContextServices({ store });
 * ```
 */
export class PostgresStore implements Store {
  /** Persistent, snapshot iterators, shared by several writer processes. */
  readonly capabilities: StoreCapabilities = Object.freeze({
    persistent: true,
    snapshotIterators: true,
    sharedWriters: true,
    orderedAppend: true,
  });
  /** The schema holding the tables. */
  readonly schema: string;
  readonly #options: Readonly<PostgresStoreOptions>;
  readonly #tables: Tables;
  readonly #maxRetries: number;
  readonly #pageSize: number;
  readonly #stats: PostgresStats = {
    statements: 0,
    batches: 0,
    retries: 0,
    preconditionFailures: 0,
    unavailable: 0,
    failures: 0,
    poolErrors: 0,
  };
  #pool: Pool | undefined;
  #status: Status = 'closed';
  #lifecycle: Promise<unknown> = Promise.resolve();
  #migration: MigrationResult | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #iterators = new Set<RangeIterator>();
  /** Snapshots of iterators not yet taken; later writes wait for them. */
  readonly #snapshots = new Set<Promise<boolean>>();
  /** The last batch called on each key that has a batch in flight (call order per key). */
  readonly #keyTails = new Map<string, Promise<void>>();
  /** The reads called in this turn of the event loop, sent together at its end. */
  readonly #reads = new PointReads(async (pool, keys) => {
    this.#stats.statements++;
    const { entries } = this.#tables;
    const { rows } =
      keys.length === 1
        ? await pool.query<{ key: string; value: string }>({
            name: `cxs.${entries}.get`,
            text: `SELECT key, value FROM ${entries} WHERE key = $1`,
            values: keys,
          })
        : await pool.query<{ key: string; value: string }>({
            name: `cxs.${entries}.getMany`,
            text: `SELECT key, value FROM ${entries} WHERE key = ANY($1::text[])`,
            values: [keys],
          });
    return rows;
  });

  /** @throws TypeError for a wrong option. Nothing connects before `open()`. */
  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('PostgresStore: options required');
    const { connectionString, pool } = options;
    if ((connectionString === undefined) === (pool === undefined)) {
      throw new TypeError('PostgresStore: give either connectionString or pool');
    }
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw new TypeError('PostgresStore: connectionString must be a non-empty string');
    }
    if (pool !== undefined && (typeof pool !== 'object' || typeof pool.connect !== 'function')) {
      throw new TypeError('PostgresStore: pool must be a pg Pool');
    }
    const schema = options.schema ?? 'cxs';
    checkSchemaName(schema);
    positiveInteger('poolSize', options.poolSize);
    positiveInteger('connectionTimeoutMillis', options.connectionTimeoutMillis);
    positiveInteger('pageSize', options.pageSize);
    if (
      options.maxRetries !== undefined &&
      !(Number.isSafeInteger(options.maxRetries) && options.maxRetries >= 0)
    ) {
      throw new TypeError('PostgresStore: maxRetries must be a non-negative integer');
    }
    this.schema = schema;
    this.#options = { ...options };
    this.#tables = tablesOf(schema);
    this.#maxRetries = options.maxRetries ?? 10;
    this.#pageSize = options.pageSize ?? 1000;
  }

  /** Counters since construction (a copy), for metrics. */
  get stats(): PostgresStats {
    return { ...this.#stats };
  }

  /** The schema version after the last `open()`, and the versions that open applied. */
  get migration(): MigrationResult | undefined {
    return this.#migration;
  }

  /**
   * Connect, create or upgrade the schema (idempotent; safe when several processes open at once).
   * @throws ContextServicesError `STORE_UNAVAILABLE` when the database cannot be reached,
   *   `STORE_FAILED` otherwise (no permission, a newer schema version…), with `cause`.
   */
  open(): Promise<void> {
    return this.#serially(() => this.#open());
  }

  /**
   * Close (idempotent): new operations fail with `CLOSED`, operations in flight complete, open
   * iterators release their connections (their next read fails with `CLOSED`), then the store's
   * own pool ends (a pool given in the options stays open).
   */
  close(): Promise<void> {
    if (this.#status === 'open') this.#status = 'closing';
    return this.#serially(() => this.#close());
  }

  /** @throws ContextServicesError `CLOSED`, `STORE_UNAVAILABLE`, `STORE_FAILED`. */
  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    checkText('keys', key);
    const pool = this.#require();
    return this.#track('get', async () => (await this.#reads.read(pool, [key])).get(key));
  }

  /** One snapshot for all its keys. @throws ContextServicesError `CLOSED`, `STORE_UNAVAILABLE`, `STORE_FAILED`. */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (!Array.isArray(keys)) throw new TypeError('getMany: keys must be an array');
    for (const k of keys) {
      checkKey(k);
      checkText('keys', k);
    }
    const pool = this.#require();
    if (keys.length === 0) return [];
    return this.#track('getMany', async () => {
      const found = await this.#reads.read(pool, keys);
      return keys.map((k) => found.get(k));
    });
  }

  /**
   * Apply every op or none, in order (the last op on a key wins), if every precondition holds
   * when the transaction commits, with `append`'s entries at the next positions of its prefix
   * (see the class comment). Resolves once committed.
   * @throws ContextServicesError `CLOSED`; `PRECONDITION_FAILED` (details.key: the first
   *   precondition that failed) with nothing written; `CONFLICT` when serialization failures
   *   outlasted `maxRetries` (nothing written; retriable); `STORE_UNAVAILABLE` (nothing written,
   *   except when the connection broke during COMMIT: then the outcome is unknown);
   *   `STORE_FAILED`.
   */
  async batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
    checkBatch(ops, options);
    const preconditions = options?.preconditions ?? [];
    const append: AppendOp | undefined =
      options?.append === undefined || options.append.values.length === 0
        ? undefined
        : { prefix: options.append.prefix, values: [...options.append.values] };
    if (append !== undefined) {
      checkText('keys', append.prefix);
      for (const v of append.values) checkText('values', v);
    }
    for (const p of preconditions) {
      checkText('keys', p.key);
      if ('value' in p) checkText('values', p.value);
    }
    const final = new Map<string, string | null>();
    for (const op of ops) {
      checkText('keys', op.key);
      if (op.type === 'put') {
        checkText('values', op.value);
        final.set(op.key, op.value);
      } else final.set(op.key, null);
    }
    const pool = this.#require();
    if (final.size === 0 && preconditions.length === 0 && append === undefined) return;
    const earlier: Promise<unknown>[] = [...this.#snapshots];
    // Batches of this store that touch a key apply in call order (as with the in-process stores):
    // wait for the earlier ones on the same keys; disjoint batches run concurrently.
    let finished: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const touched = new Set([...final.keys(), ...preconditions.map((p) => p.key)]);
    // Appends on one prefix are not queued here: they wait for each other on the counter row, as
    // across processes, only from the counter's update to their commit (the end of the statement).
    for (const key of touched) {
      const before = this.#keyTails.get(key);
      if (before !== undefined) earlier.push(before);
      this.#keyTails.set(key, mine);
    }
    const done = () => {
      for (const key of touched) if (this.#keyTails.get(key) === mine) this.#keyTails.delete(key);
      finished();
    };
    return this.#track('batch', async (tries) => {
      if (earlier.length > 0) await Promise.all(earlier);
      const puts: string[] = [];
      const values: string[] = [];
      const dels: string[] = [];
      for (const [key, value] of final) {
        if (value === null) dels.push(key);
        else {
          puts.push(key);
          values.push(value);
        }
      }
      try {
        await this.#retrying(pool, tries, { preconditions, dels, puts, values, append });
      } finally {
        done();
      }
    });
  }

  /** Run the batch's transaction, again after serialization failures, up to `maxRetries` times. */
  async #retrying(pool: Pool, tries: { attempts: number }, work: Work): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      tries.attempts = attempt;
      try {
        await this.#transaction(pool, work);
        this.#stats.batches++;
        return;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        if (attempt > this.#maxRetries) {
          throw new ContextServicesError(
            'CONFLICT',
            'The batch kept conflicting with concurrent transactions; retry it',
            { details: { attempts: attempt }, cause: error },
          );
        }
        this.#stats.retries++;
        // Jittered exponential back-off, so that the racers do not collide again in step.
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
  }

  /**
   * Entries of the range, in key order (or reverse), from one snapshot taken now: the first page
   * is requested by this call. The result can be iterated once; stopping early releases the
   * connection. An iterable never iterated holds its page (and, for ranges over one page, a
   * connection) until `close()`.
   * @throws TypeError for a bad range; ContextServicesError `CLOSED` (synchronously) when not
   *   open; `STORE_UNAVAILABLE` / `STORE_FAILED` from the iterator's reads.
   */
  iterate(range: Range): AsyncIterable<[string, string]> {
    checkRange(range);
    for (const b of ['gt', 'gte', 'lt', 'lte'] as const) {
      const bound = range[b];
      if (bound !== undefined) checkText('range bounds', bound);
    }
    const pool = this.#require();
    const started = now();
    const host: IteratorHost = {
      pool,
      entries: this.#tables.entries,
      pageSize: this.#pageSize,
      check: () => {
        if (this.#status !== 'open' || this.#pool !== pool) throw this.#closedError();
      },
      fail: (error) => this.#fail('iterate', error, 1, started),
      counted: () => {
        this.#stats.statements++;
      },
      done: (it) => {
        this.#iterators.delete(it);
      },
    };
    const entries = new RangeIterator(host, range);
    this.#iterators.add(entries);
    const ready = entries.ready;
    this.#snapshots.add(ready);
    void ready.then((ok) => {
      this.#snapshots.delete(ready);
      // A failure is reported when the consumer reads it.
      if (ok)
        this.#options.onOperation?.({
          operation: 'iterate',
          ms: now() - started,
          attempts: 1,
          outcome: 'ok',
        });
    });
    let taken = false;
    return {
      [Symbol.asyncIterator]: () => {
        if (taken) throw new TypeError('PostgresStore: the result of iterate() can be iterated only once');
        taken = true;
        return entries;
      },
    };
  }

  async #transaction(pool: Pool, work: Work): Promise<void> {
    const statement = batchStatement(this.#tables, work);
    const client = await pool.connect();
    let broken: unknown;
    try {
      if (!statement.transaction) {
        // One statement is its own transaction: nothing to roll back when it fails.
        const answer = await this.#run(client, statement);
        if (!answer.ok) this.#refuse(work, answer);
        return;
      }
      // Several claims, or placeholders to delete again: a transaction around the statement.
      // BEGIN is queued with the statement rather than awaited first.
      const begin = this.#query(client, 'BEGIN ISOLATION LEVEL READ COMMITTED');
      try {
        const [, answer] = await Promise.all([begin, this.#run(client, statement)]);
        if (!answer.ok) {
          await this.#query(client, 'ROLLBACK');
          this.#refuse(work, answer);
        }
        if (statement.placeholders.length > 0) {
          await this.#query(client, `DELETE FROM ${this.#tables.entries} WHERE key = ANY($1::text[])`, [
            statement.placeholders,
          ]);
        }
        await this.#query(client, 'COMMIT');
      } catch (error) {
        if (isUnavailable(error)) broken = error;
        else if (!isContextServicesError(error)) {
          await this.#query(client, 'ROLLBACK').catch((e: unknown) => {
            broken = e;
          });
        }
        throw error;
      }
    } catch (error) {
      broken ??= isUnavailable(error) ? error : undefined;
      throw error;
    } finally {
      // A broken connection is destroyed rather than returned to the pool.
      client.release(broken === undefined ? undefined : broken instanceof Error ? broken : true);
    }
  }

  /** Send a batch's statement (prepared once per connection and shape) and read its answer. */
  async #run(client: PoolClient, statement: BatchStatement): Promise<BatchAnswer> {
    this.#stats.statements++;
    const { rows } = await client.query<BatchAnswer>({
      name: statement.name,
      text: statement.text,
      values: statement.values,
    });
    return rows[0] as BatchAnswer;
  }

  /** @throws ContextServicesError `PRECONDITION_FAILED` naming the first precondition that failed. */
  #refuse(work: Work, answer: BatchAnswer): never {
    this.#stats.preconditionFailures++;
    throw new ContextServicesError('PRECONDITION_FAILED', 'A precondition of the batch does not hold', {
      details: { key: failedKey(work.preconditions, answer) },
    });
  }

  #query<R extends object = Record<string, unknown>>(
    on: Pool | PoolClient,
    text: string,
    values?: unknown[],
  ) {
    this.#stats.statements++;
    return on.query<R>(text, values);
  }

  /** Run one operation: counted as in flight (close waits for it), timed, errors mapped. */
  #track<T>(
    operation: OperationEvent['operation'],
    run: (tries: { attempts: number }) => Promise<T>,
  ): Promise<T> {
    const started = now();
    const tries = { attempts: 1 };
    const p = run(tries).then(
      (result) => {
        this.#options.onOperation?.({
          operation,
          ms: now() - started,
          attempts: tries.attempts,
          outcome: 'ok',
        });
        return result;
      },
      (error: unknown) => {
        throw this.#fail(operation, error, tries.attempts, started);
      },
    );
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.#inflight.add(settled);
    void settled.then(() => this.#inflight.delete(settled));
    return p;
  }

  #fail(
    operation: OperationEvent['operation'],
    error: unknown,
    attempts: number,
    started: number,
  ): ContextServicesError {
    // Our own errors (PRECONDITION_FAILED, CONFLICT, CLOSED) pass; driver errors are mapped.
    const out = isContextServicesError(error) ? error : storeError(operation, error);
    const outCode = out.code;
    if (outCode === 'STORE_UNAVAILABLE') this.#stats.unavailable++;
    else if (outCode === 'STORE_FAILED' || outCode === 'CONFLICT') this.#stats.failures++;
    if (outCode !== 'CLOSED') {
      this.#options.onOperation?.({
        operation,
        ms: now() - started,
        attempts,
        outcome: outCode as OperationEvent['outcome'],
      });
    }
    return out;
  }

  #serially(step: () => Promise<void>): Promise<void> {
    const run = this.#lifecycle.then(step);
    this.#lifecycle = run.catch(() => undefined);
    return run;
  }

  async #open(): Promise<void> {
    if (this.#status === 'open') return;
    const own = this.#options.pool === undefined;
    const pool =
      this.#options.pool ??
      new Pool({
        connectionString: this.#options.connectionString as string,
        max: this.#options.poolSize ?? 10,
        connectionTimeoutMillis: this.#options.connectionTimeoutMillis ?? 5000,
        idleTimeoutMillis: 30_000,
        // Detect connections that died silently (a host gone, a dropped route) while idle.
        keepAlive: true,
        application_name: 'cxs',
        // A batch's statement runs on its own (autocommit): make sure that is READ COMMITTED,
        // whatever the database's default (a startup parameter: no extra round trip).
        options: '-c default_transaction_isolation=read\\ committed -c plan_cache_mode=force_generic_plan',
      });
    // Idle connections that die (server restart) must not crash the process: the pool drops
    // them and connects anew on demand. Checked-out clients get a listener too (pg-pool removes
    // its own while a client is lent): their error reaches the query in progress, or the next.
    const onPoolError = (error: Error) => {
      this.#stats.poolErrors++;
      this.#options.onPoolError?.(error);
    };
    const onConnect = (client: PoolClient) => {
      client.on('error', () => undefined);
    };
    if (own) {
      pool.on('error', onPoolError);
      pool.on('connect', onConnect);
    }
    this.#status = 'opening';
    let client: PoolClient | undefined;
    try {
      client = await pool.connect();
      if (!own) client.on('error', () => undefined);
      this.#migration = await migrate(client, this.#tables, this.schema);
      client.release();
    } catch (error) {
      client?.release(error instanceof Error ? error : true);
      this.#status = 'closed';
      if (own) await pool.end().catch(() => undefined);
      if (isContextServicesError(error)) throw error;
      throw storeError('open', error);
    }
    this.#pool = pool;
    this.#status = 'open';
  }

  async #close(): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined) {
      this.#status = 'closed';
      return;
    }
    this.#status = 'closing';
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
    await Promise.all([...this.#iterators].map((it) => it.abort()));
    this.#pool = undefined;
    this.#status = 'closed';
    if (this.#options.pool === undefined) await pool.end();
  }

  #require(): Pool {
    if (this.#status !== 'open' || this.#pool === undefined) throw this.#closedError();
    return this.#pool;
  }

  #closedError(): ContextServicesError {
    return new ContextServicesError('CLOSED', 'The PostgreSQL store is not open', {
      details: { schema: this.schema },
    });
  }
}
