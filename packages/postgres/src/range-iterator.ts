/**
 * `iterate()` over PostgreSQL with bounded memory and one snapshot (./postgres-store.ts creates
 * it). The first page is read with one statement as soon as the iterator is created: when it holds
 * the whole range (the common case: a service and its children) that statement was the snapshot
 * and the connection goes back to the pool at once. Otherwise the iterator opens a
 * `REPEATABLE READ READ ONLY` transaction on its own connection, reads the range again from its
 * start within it, and continues page by page (keyset pagination on the primary key) in that
 * same snapshot, so an export of millions of keys holds one page in memory. The connection is
 * released at the end, on error, when the consumer stops early (`return()`), or when the store
 * closes.
 */
import type { Range } from '@cxs/core';
import type { Pool, PoolClient } from 'pg';

/** What the iterator needs from its store. */
export interface IteratorHost {
  readonly pool: Pool;
  readonly entries: string;
  readonly pageSize: number;
  /** Throws (CLOSED) when the store no longer accepts reads. */
  check(): void;
  /** Maps a driver error to the error to throw. */
  fail(error: unknown): unknown;
  /** Counts one statement sent. */
  counted(): void;
  /** Forget this iterator (it holds nothing any more). */
  done(it: RangeIterator): void;
}

type Row = { key: string; value: string };

/** One page query of the range, starting after `after` (exclusive) when given. */
function pageQuery(entries: string, range: Range, after: string | undefined, limit: number) {
  const where: string[] = [];
  const params: unknown[] = [];
  let shape = '';
  const add = (op: string, value: string) => {
    params.push(value);
    where.push(`key ${op} $${params.length}`);
    shape += op;
  };
  const reverse = range.reverse === true;
  if (after !== undefined) add(reverse ? '<' : '>', after);
  if (after === undefined || reverse) {
    if (range.gt !== undefined) add('>', range.gt);
    if (range.gte !== undefined) add('>=', range.gte);
  }
  if (after === undefined || !reverse) {
    if (range.lt !== undefined) add('<', range.lt);
    if (range.lte !== undefined) add('<=', range.lte);
  }
  params.push(limit);
  const text =
    `SELECT key, value FROM ${entries}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT $${params.length}`;
  // Prepared once per connection and shape (the bounds used, the direction).
  return { name: `cxs.${entries}.page.${shape}.${reverse ? 'desc' : 'asc'}`, text, values: params };
}

/** The number of entries a range may yield (Infinity without a usable limit). */
function budgetOf(range: Range): number {
  const limit = range.limit;
  if (limit === undefined || !(limit >= 0)) return Number.POSITIVE_INFINITY;
  return Math.ceil(limit);
}

/** An async iterator over one range; see the module comment. */
export class RangeIterator implements AsyncIterator<[string, string], undefined> {
  /**
   * Settles once the snapshot is taken (true) or could not be (false; the first read throws);
   * never rejects. Writes called later wait for it.
   */
  readonly ready: Promise<boolean>;
  readonly #host: IteratorHost;
  readonly #range: Range;
  #client: PoolClient | undefined;
  #buffer: Row[] = [];
  #pos = 0;
  /** Entries still allowed by the range's limit, after the buffer. */
  #budget: number;
  /** Last key read from the database (the keyset position). */
  #last: string | undefined;
  /** The database has no more rows for us after the buffer. */
  #exhausted = false;
  #finished = false;
  /** Ended by the store's close(): later reads fail with the host's check (CLOSED). */
  #aborted = false;
  #error: unknown;
  #tail: Promise<unknown>;

  constructor(host: IteratorHost, range: Range) {
    this.#host = host;
    this.#range = { ...range };
    this.#budget = budgetOf(range);
    const start = this.#start().then(
      () => true,
      (error: unknown) => {
        this.#error = error;
        return false;
      },
    );
    this.ready = start;
    this.#tail = start;
  }

  next(): Promise<IteratorResult<[string, string], undefined>> {
    const run = this.#tail.then(() => this.#next());
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async return(): Promise<IteratorResult<[string, string], undefined>> {
    const run = this.#tail.then(() => this.#finish());
    this.#tail = run.catch(() => undefined);
    await run;
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<[string, string], undefined>> {
    await this.return();
    throw error;
  }

  /** Release the connection (the store is closing); later reads fail with the host's check. */
  async abort(): Promise<void> {
    this.#aborted = true;
    await this.return();
  }

  async #start(): Promise<void> {
    const { pool, entries, pageSize } = this.#host;
    const client = await pool.connect();
    try {
      const first = Math.min(this.#budget, pageSize + 1);
      const q = pageQuery(entries, this.#range, undefined, first);
      this.#host.counted();
      const { rows } = await client.query<Row>(q);
      if (rows.length < first || first === this.#budget) {
        // The whole range in one statement: that statement was the snapshot.
        client.release();
        this.#take(rows);
        this.#exhausted = true;
        return;
      }
      // More than a page: read it again inside one snapshot that the following pages share.
      this.#host.counted();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      this.#client = client;
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    await this.#fetch();
  }

  /** Read the next page inside the transaction; end the transaction after the last one. */
  async #fetch(): Promise<void> {
    const client = this.#client as PoolClient;
    const want = Math.min(this.#budget, this.#host.pageSize);
    const q = pageQuery(this.#host.entries, this.#range, this.#last, want);
    this.#host.counted();
    const { rows } = await client.query<Row>(q);
    this.#take(rows);
    if (rows.length < want || this.#budget === 0) {
      this.#exhausted = true;
      await this.#release();
    }
  }

  #take(rows: Row[]): void {
    this.#buffer = rows;
    this.#pos = 0;
    this.#budget -= rows.length;
    const last = rows[rows.length - 1];
    if (last !== undefined) this.#last = last.key;
  }

  async #next(): Promise<IteratorResult<[string, string], undefined>> {
    if (this.#finished) {
      if (this.#aborted) this.#host.check();
      return { done: true, value: undefined };
    }
    try {
      this.#host.check();
      if (this.#error !== undefined) throw this.#host.fail(this.#error);
      if (this.#pos >= this.#buffer.length) {
        if (this.#exhausted) {
          await this.#finish();
          return { done: true, value: undefined };
        }
        try {
          await this.#fetch();
        } catch (error) {
          throw this.#host.fail(error);
        }
        if (this.#buffer.length === 0) {
          await this.#finish();
          return { done: true, value: undefined };
        }
      }
    } catch (error) {
      await this.#finish(error);
      throw error;
    }
    const row = this.#buffer[this.#pos++] as Row;
    return { done: false, value: [row.key, row.value] };
  }

  async #release(error?: unknown): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    this.#client = undefined;
    if (error !== undefined) {
      client.release(true);
      return;
    }
    try {
      this.#host.counted();
      await client.query('ROLLBACK');
      client.release();
    } catch (e) {
      client.release(e instanceof Error ? e : true);
    }
  }

  async #finish(error?: unknown): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#buffer = [];
    await this.#release(error);
    this.#host.done(this);
  }
}
