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
 * A condition a batch carries (SPEC §11): checked atomically with the batch's writes; when one
 * does not hold, nothing is written and the batch rejects with `PRECONDITION_FAILED`.
 * `{ key, value }`: the key still holds exactly this value. `{ key, absent: true }`: no value.
 */
export type Precondition =
  | { readonly key: string; readonly value: string }
  | { readonly key: string; readonly absent: true };

/** Options of one {@link Store.batch} call. */
export interface BatchOptions {
  /** All must hold when the batch commits, else nothing is written (`PRECONDITION_FAILED`). */
  readonly preconditions?: readonly Precondition[];
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
   * written and the call rejects with `ContextServicesError('PRECONDITION_FAILED')`.
   */
  batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void>;
  /**
   * Entries of the range in key order (or reverse), as of the iterator's creation. At most one
   * lower bound (`gt`/`gte`) and one upper bound (`lt`/`lte`); otherwise a `TypeError`.
   */
  iterate(range: Range): AsyncIterable<[string, string]>;
}
