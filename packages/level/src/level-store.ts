/**
 * The durable store: the core's {@link Store} on LevelDB (classic-level, through `level`).
 * Writes go through a group-commit queue (./write-queue.ts); iterators read the LevelDB snapshot
 * taken when `iterate()` is called (./entry-iterator.ts).
 */

import { statfs } from 'node:fs/promises';
import {
  type BatchOp,
  type BatchOptions,
  ContextServicesError,
  checkBatch,
  checkKey,
  checkRange,
  type Range,
  type Store,
  type StoreCapabilities,
} from '@cxs/core';
import { Level } from 'level';
import { EntryIterator } from './entry-iterator.js';
import { WriteQueue, type WriteStats } from './write-queue.js';

/** Options of {@link LevelStore}. */
export interface LevelStoreOptions {
  /** Directory of the database; created (with parents) if missing. */
  location: string;
  /** LevelDB block cache, in bytes (LevelDB default: 8 MiB). */
  cacheSize?: number;
  /** LevelDB memtable size before it is written to a table file, in bytes (default: 4 MiB). */
  writeBufferSize?: number;
  /**
   * fsync every write before acknowledging it (default false). Without it, an acknowledged write
   * survives a crash of the process but the last writes may be lost on power loss or an OS crash.
   * Concurrent batches share one fsync (group commit).
   */
  sync?: boolean;
  /**
   * Called when the store becomes degraded (a write failed: a full disk, an I/O error) and when
   * it recovers, with the new {@link LevelStoreHealth}. For logs and alerts; readiness can read
   * {@link LevelStore.health} at any time.
   */
  onHealthChange?: (health: LevelStoreHealth) => void;
}

/**
 * Whether the store accepts writes. `degraded` from a failed write until a write succeeds again;
 * `reason` is the LevelDB error (it may name paths: for logs, not for clients).
 */
export type LevelStoreHealth = { degraded: false } | { degraded: true; since: Date; reason: string };

/** Free bytes below which a degraded store does not try to reopen (it would fail again). */
const MIN_FREE_BYTES = 1024 * 1024;

type Status = 'closed' | 'open' | 'closing';

const codeOf = (e: unknown): unknown =>
  typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
const causeOf = (e: unknown): unknown =>
  typeof e === 'object' && e !== null ? (e as { cause?: unknown }).cause : undefined;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const NOT_OPEN_CODES = new Set(['LEVEL_DATABASE_NOT_OPEN', 'LEVEL_ITERATOR_NOT_OPEN']);

function positiveInteger(name: string, value: unknown): void {
  // LevelDB reads these as 32-bit unsigned integers.
  if (
    value !== undefined &&
    !(Number.isInteger(value) && (value as number) > 0 && (value as number) < 2 ** 32)
  ) {
    throw new TypeError(`LevelStore: ${name} must be a positive integer of bytes below 4 GiB`);
  }
}

/**
 * A {@link Store} on LevelDB: persistent, with snapshot iterators. One process at a time may
 * open a directory; a second one gets `STORE_LOCKED`.
 *
 * Durability: a batch is acknowledged only after LevelDB has appended it to its log (one atomic
 * write batch), so a crash of the process never loses an acknowledged batch nor shows half of
 * one. With `sync: true` the log is also fsynced first, which extends that to power loss.
 *
 * Group commit: batches are queued and written one LevelDB write at a time; every batch that
 * arrives while a write is in flight joins the next write (concatenated in arrival order), so
 * concurrent writers share fsyncs. The same queue is used without `sync`: classic-level runs each
 * write on the libuv thread pool, where two writes issued back to back may be applied in either
 * order; the queue applies batches in call order (as the memory store does) at no measurable cost,
 * since an unsynced LevelDB write is a memtable insert and a log append.
 *
 * Errors: `CLOSED` for any operation while not open; `STORE_LOCKED` from `open()` when another
 * process (or another open store of this process) holds the directory; `STORE_FAILED` (with the
 * LevelDB error as `cause`) for any other failure of LevelDB. Argument mistakes are `TypeError`s,
 * the same as the memory store's.
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { LevelStore } from '@cxs/level';
 * const cs = await createContextServices({ store: new LevelStore({ location: './data', sync: true }) });
 * ```
 */
export class LevelStore implements Store {
  /** Persistent (data survives close and a new instance on the same location), snapshot iterators. */
  readonly capabilities: StoreCapabilities = Object.freeze({
    persistent: true,
    snapshotIterators: true,
    sharedWriters: false,
    orderedAppend: true,
  });
  /** The directory given as `location`. */
  readonly location: string;
  readonly #options: Readonly<LevelStoreOptions>;
  readonly #queue: WriteQueue;
  #db: Level<string, string> | undefined;
  #status: Status = 'closed';
  /** open() and close() run one after the other, in call order. */
  #lifecycle: Promise<unknown> = Promise.resolve();
  #health: LevelStoreHealth = { degraded: false };
  /** While the database is being reopened after a failure: reads wait for it. */
  #reopening: Promise<void> | undefined;

  /** @throws TypeError when an option has the wrong type. Nothing touches the disk before `open()`. */
  constructor(options: LevelStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('LevelStore: options required');
    if (typeof options.location !== 'string' || options.location === '') {
      throw new TypeError('LevelStore: location must be a non-empty string');
    }
    positiveInteger('cacheSize', options.cacheSize);
    positiveInteger('writeBufferSize', options.writeBufferSize);
    if (options.sync !== undefined && typeof options.sync !== 'boolean') {
      throw new TypeError('LevelStore: sync must be a boolean');
    }
    this.location = options.location;
    this.#options = { ...options };
    const sync = options.sync === true;
    this.#queue = new WriteQueue(
      async (ops) => {
        // LevelDB keeps its first write error and fails every later write with it, even once the
        // cause is gone (a full disk freed): a degraded store reopens the database before writing.
        if (this.#health.degraded) await this.#recover();
        const db = this.#db;
        if (db === undefined) throw this.#closedError();
        try {
          await db.batch(ops as BatchOp[], { sync });
        } catch (error) {
          const failure = this.#failure('write', error);
          if (failure.code === 'STORE_FAILED') this.#setHealth(error);
          throw failure;
        }
        if (this.#health.degraded) this.#setHealth(undefined);
      },
      (keys) => this.#readNow(keys),
      (prefix) => this.#lastPosition(prefix),
    );
  }

  /** Values read by the write queue for preconditions, between two of its writes. */
  async #readNow(keys: readonly string[]): Promise<(string | undefined)[]> {
    const db = this.#db;
    if (db === undefined) throw this.#closedError();
    try {
      return await db.getMany([...keys]);
    } catch (error) {
      throw this.#failure('getMany', error);
    }
  }

  /** Write counters since construction: `batches` accepted, LevelDB `writes` issued, `largestGroup`. */
  get stats(): WriteStats {
    return this.#queue.stats;
  }

  /**
   * Whether the store accepts writes: degraded after a write failed (a full disk, an I/O error)
   * until a later write succeeds. Each write made while degraded first reopens the database
   * (LevelDB would otherwise repeat the first error forever), unless the volume still has less
   * than 1 MiB free; reads keep working meanwhile. For readiness checks.
   */
  get health(): LevelStoreHealth {
    return this.#health;
  }

  /**
   * The underlying classic-level database while the store is open (else undefined), for
   * diagnostics such as `approximateSize` or hooks. Writing through it bypasses the queue.
   */
  get db(): Level<string, string> | undefined {
    return this.#status === 'open' ? this.#db : undefined;
  }

  /**
   * Open the directory (idempotent).
   * @throws ContextServicesError `STORE_LOCKED` when another process holds the directory,
   *   `STORE_FAILED` for any other failure (unreadable, corrupt, not a directory…), with `cause`.
   */
  open(): Promise<void> {
    return this.#serially(() => this.#open());
  }

  /**
   * Close (idempotent): new operations are refused with `CLOSED`, queued batches are written,
   * open iterators are closed (their next read fails with `CLOSED`), then the directory is released.
   */
  close(): Promise<void> {
    // Refuse new work from this call on (as the memory store does); the queue still drains.
    if (this.#status === 'open') this.#status = 'closing';
    return this.#serially(() => this.#close());
  }

  /** @throws ContextServicesError `CLOSED`, `STORE_FAILED`. */
  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    if (this.#reopening !== undefined) await this.#reopening.catch(() => undefined);
    const db = this.#require();
    try {
      return await db.get(key);
    } catch (error) {
      throw this.#failure('get', error);
    }
  }

  /** @throws ContextServicesError `CLOSED`, `STORE_FAILED`. */
  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (!Array.isArray(keys)) throw new TypeError('getMany: keys must be an array');
    for (const k of keys) checkKey(k);
    if (this.#reopening !== undefined) await this.#reopening.catch(() => undefined);
    const db = this.#require();
    if (keys.length === 0) return [];
    try {
      return await db.getMany([...keys]);
    } catch (error) {
      throw this.#failure('getMany', error);
    }
  }

  /**
   * Apply every op or none, in order, after every batch called before it. Resolves once the
   * LevelDB write carrying it has completed (fsynced with `sync`). Preconditions are checked by
   * the write queue just before the write that would carry the batch, against the values left by
   * every batch before it, so no other batch of this process comes between check and write.
   * @throws ContextServicesError `PRECONDITION_FAILED` (details.key; nothing written, the other
   *   batches of the group unaffected), `CLOSED`, `STORE_FAILED` (then every batch of the same
   *   group fails too).
   */
  async batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
    checkBatch(ops, options);
    this.#require();
    // Copied now: the caller may reuse its array before the write happens.
    const copy = ops.map(
      (op): BatchOp =>
        op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'del', key: op.key },
    );
    const preconditions = options?.preconditions?.map((c) =>
      'absent' in c && c.absent === true
        ? { key: c.key, absent: true as const }
        : { key: c.key, value: (c as { value: string }).value },
    );
    const append = options?.append;
    // The queue numbers the entries when it admits the batch into a write (write-queue.ts).
    return this.#queue.push(
      copy,
      preconditions,
      append === undefined ? undefined : { prefix: append.prefix, values: [...append.values] },
    );
  }

  /** The highest position stored under an append prefix (0: none), read by the write queue. */
  async #lastPosition(prefix: string): Promise<number> {
    let last = 0;
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    for await (const [k] of this.iterate({ gte: prefix, lt: end, reverse: true, limit: 1 }))
      last = Number(k.slice(prefix.length));
    return last;
  }

  /**
   * Entries of the range from the LevelDB snapshot taken by this call (the LevelDB iterator is
   * created now, not at the first `next()`). The result can be iterated once; stopping early
   * closes the LevelDB iterator. An iterable never iterated keeps its iterator until `close()`.
   * @throws TypeError for a bad range; ContextServicesError `CLOSED` (synchronously) when not open.
   */
  iterate(range: Range): AsyncIterable<[string, string]> {
    checkRange(range);
    const db = this.#require();
    const options: {
      gt?: string;
      gte?: string;
      lt?: string;
      lte?: string;
      reverse: boolean;
      limit: number;
    } = { reverse: range.reverse === true, limit: levelLimit(range.limit) };
    if (range.gt !== undefined) options.gt = range.gt;
    if (range.gte !== undefined) options.gte = range.gte;
    if (range.lt !== undefined) options.lt = range.lt;
    if (range.lte !== undefined) options.lte = range.lte;
    const entries = new EntryIterator(
      db.iterator(options),
      () => {
        if (this.#status !== 'open' || this.#db !== db) throw this.#closedError();
      },
      (error) => this.#failure('iterate', error),
    );
    let taken = false;
    return {
      [Symbol.asyncIterator]: () => {
        if (taken) throw new TypeError('LevelStore: the result of iterate() can be iterated only once');
        taken = true;
        return entries;
      },
    };
  }

  /** Record a write failure (`error`) or a success (`undefined`); report changes of state only. */
  #setHealth(error: unknown): void {
    const was = this.#health;
    if (error === undefined) this.#health = { degraded: false };
    else {
      const reason = messageOf(causeOf(error) ?? error);
      this.#health = { degraded: true, since: was.degraded ? was.since : new Date(), reason };
    }
    if (was.degraded !== this.#health.degraded) this.#options.onHealthChange?.(this.#health);
  }

  /**
   * Reopen the database after a write failure, when the volume has room again (the write queue
   * calls it, one write at a time). A reopen that fails leaves the store closed to reads too until
   * the next write tries again.
   */
  async #recover(): Promise<void> {
    const free = await statfs(this.location).then(
      (s) => Number(s.bavail) * Number(s.bsize),
      () => Number.POSITIVE_INFINITY,
    );
    if (free < MIN_FREE_BYTES) return;
    const old = this.#db;
    const reopen = (async () => {
      if (old !== undefined) await old.close().catch(() => undefined);
      this.#db = undefined;
      const db = this.#level();
      try {
        await db.open();
      } catch (error) {
        throw new ContextServicesError(
          'STORE_FAILED',
          `Cannot reopen the LevelDB store at ${this.location}: ${messageOf(causeOf(error) ?? error)}`,
          { details: { location: this.location }, cause: error },
        );
      }
      this.#db = db;
    })();
    this.#reopening = reopen;
    try {
      await reopen;
    } finally {
      this.#reopening = undefined;
    }
  }

  #level(): Level<string, string> {
    const { cacheSize, writeBufferSize } = this.#options;
    return new Level<string, string>(this.location, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      createIfMissing: true,
      errorIfExists: false,
      ...(cacheSize === undefined ? {} : { cacheSize }),
      ...(writeBufferSize === undefined ? {} : { writeBufferSize }),
    });
  }

  #serially(step: () => Promise<void>): Promise<void> {
    const run = this.#lifecycle.then(step);
    this.#lifecycle = run.catch(() => undefined);
    return run;
  }

  async #open(): Promise<void> {
    if (this.#status === 'open') return;
    const db = this.#level();
    try {
      await db.open();
    } catch (error) {
      const cause = causeOf(error) ?? error;
      if (codeOf(error) === 'LEVEL_LOCKED' || codeOf(cause) === 'LEVEL_LOCKED') {
        throw new ContextServicesError(
          'STORE_LOCKED',
          `The LevelDB directory ${this.location} is in use by another process (or another open store); ` +
            'one process at a time may open it',
          { details: { location: this.location }, cause: error },
        );
      }
      throw new ContextServicesError(
        'STORE_FAILED',
        `Cannot open the LevelDB store at ${this.location}: ${messageOf(cause)}`,
        { details: { location: this.location }, cause: error },
      );
    }
    // Another instance may have appended while this one was closed.
    this.#queue.forgetPositions();
    this.#db = db;
    this.#status = 'open';
  }

  async #close(): Promise<void> {
    if (this.#status === 'closed') return;
    this.#status = 'closing';
    await this.#queue.drain();
    // A recovery may have replaced (or, failing, dropped) the database.
    const current = this.#db;
    this.#db = undefined;
    this.#status = 'closed';
    if (current === undefined) return;
    try {
      await current.close();
    } catch (error) {
      throw new ContextServicesError('STORE_FAILED', `Cannot close the LevelDB store at ${this.location}`, {
        details: { location: this.location },
        cause: error,
      });
    }
  }

  #require(): Level<string, string> {
    if (this.#status !== 'open' || this.#db === undefined) throw this.#closedError();
    return this.#db;
  }

  #closedError(): ContextServicesError {
    return new ContextServicesError('CLOSED', `The LevelDB store at ${this.location} is not open`, {
      details: { location: this.location },
    });
  }

  #failure(operation: string, error: unknown): ContextServicesError {
    if (NOT_OPEN_CODES.has(codeOf(error) as string)) {
      return new ContextServicesError('CLOSED', `The LevelDB store at ${this.location} is not open`, {
        details: { location: this.location, operation },
        cause: error,
      });
    }
    return new ContextServicesError(
      'STORE_FAILED',
      `LevelDB ${operation} failed at ${this.location}: ${messageOf(error)}`,
      { details: { location: this.location, operation }, cause: error },
    );
  }
}

/** The memory store's limit rule (absent, negative or NaN: none) in LevelDB's terms (-1: none). */
function levelLimit(limit: number | undefined): number {
  if (limit === undefined || !(limit >= 0) || limit === Number.POSITIVE_INFINITY) return -1;
  return Math.ceil(limit);
}
