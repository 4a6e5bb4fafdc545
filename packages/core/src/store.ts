/** One write of an atomic batch. */
export type BatchOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** A key range; bounds are compared by byte (code unit) order, like LevelDB. */
export interface Range {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  /** Maximum number of entries; absent or negative means no limit. */
  limit?: number;
}

/**
 * A condition a batch carries (docs/spec.md §11): checked atomically with the batch's writes; when one
 * does not hold, nothing is written and the batch rejects with `PRECONDITION_FAILED`.
 * `{ key, value }`: the key still holds exactly this value. `{ key, absent: true }`: no value.
 */
export type Precondition =
  | { readonly key: string; readonly value: string }
  | { readonly key: string; readonly absent: true };

/**
 * Entries a batch appends to an ordered log (docs/spec.md §12: the change log), for stores that declare
 * {@link StoreCapabilities.orderedAppend}. The store chooses the positions when the batch commits
 * and writes `values[i]` under the key `prefix + position`, the position written as 16 decimal
 * digits, zero-padded (`encodePosition`). The contract, which readers rely on to see every entry
 * once and in order while following the log with plain `iterate({ gt: lastKeySeen })` calls:
 *
 * 1. **Atomic.** The entries are written if and only if the batch's other ops are, in the same
 *    commit; a batch that fails (or fails a precondition) appends nothing.
 * 2. **Growing.** Positions are safe integers ≥ 1, increasing within a batch in the order of
 *    `values`, and greater than every position assigned before under `prefix`, by any process,
 *    even when that entry has since been deleted. Gaps are allowed (a failed batch may consume
 *    positions). The core never puts keys under `prefix` itself; it deletes old entries
 *    (retention) but always keeps the newest one, so a store may recover its counter from the last
 *    key under `prefix`.
 * 3. **Visible in position order.** Once any reader (of any process) can see the entry at
 *    position p, every entry that will ever exist under `prefix` at a position below p is already
 *    visible. Transactions that commit out of the order in which they were given positions would
 *    break this: with PostgreSQL a bare sequence is not enough (values are handed out before
 *    commit); take the positions as the transaction's last statement from a counter row per
 *    prefix (`UPDATE … SET last = last + n RETURNING last`), whose row lock orders the commits of
 *    appending transactions, or hold back readers below the oldest appending transaction still in
 *    flight.
 *
 * Shared stores (`sharedWriters: true`) must support this for the change log to be written;
 * single-writer stores may, and the shared conformance suite tests it where declared.
 */
export interface AppendOp {
  /** An ASCII key prefix ending in `/`. */
  readonly prefix: string;
  /** One value per entry; an empty list appends nothing. */
  readonly values: readonly string[];
}

/** Options of one {@link Store.batch} call. */
export interface BatchOptions {
  /** All must hold when the batch commits, else nothing is written (`PRECONDITION_FAILED`). */
  readonly preconditions?: readonly Precondition[];
  /** Entries to append atomically with the batch; only for stores that declare `orderedAppend`. */
  readonly append?: AppendOp;
}

/** What a store can do, so that shared suites and the engine can adapt. */
export interface StoreCapabilities {
  /** Data survives close() and a new instance on the same location. */
  readonly persistent: boolean;
  /** Iterators see the store as of their creation, unaffected by later writes. */
  readonly snapshotIterators: boolean;
  /**
   * Other processes may write the same data (PostgreSQL). The engine then keeps L7 with
   * preconditions and retries instead of its in-process queue alone, and never answers a read
   * from its cache.
   */
  readonly sharedWriters: boolean;
  /**
   * The store implements {@link BatchOptions.append} (see {@link AppendOp} for the contract).
   * The engine uses it for the change log of a shared store; without it, a shared store has no
   * change log. Single-writer stores need not: the engine numbers their log itself.
   */
  readonly orderedAppend?: boolean;
}

/**
 * The storage boundary. Stores move opaque ordered ASCII keys and string values; every meaning
 * lives in the core. Implementations: `@cxs/core/memory`, `@cxs/level`.
 * Every store must pass `storeConformanceSuite` from `@cxs/core/testing`.
 */
export interface Store {
  readonly capabilities: StoreCapabilities;
  /** Open (idempotent). Stores throw `ContextServicesError('STORE_LOCKED')` when another process holds them. */
  open(): Promise<void>;
  /** Close (idempotent); pending writes complete first. */
  close(): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Values of several keys, in the order asked, all as of one instant (one snapshot). */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /**
   * Apply all operations or none, in order (a later op on the same key wins). With
   * `preconditions`, they are checked atomically with the writes: when one fails nothing is
   * written and the call rejects with `ContextServicesError('PRECONDITION_FAILED')`. With
   * `append` (stores declaring `orderedAppend`), its entries are written in the same commit (see
   * {@link AppendOp}).
   */
  batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void>;
  /**
   * Entries of the range in key order (or reverse), as of the iterator's creation. At most one
   * lower bound (`gt`/`gte`) and one upper bound (`lt`/`lte`); otherwise a `TypeError`.
   */
  iterate(range: Range): AsyncIterable<[string, string]>;
}
