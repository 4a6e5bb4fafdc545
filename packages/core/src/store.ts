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

/** What a store can do, so that shared suites and the engine can adapt. */
export interface StoreCapabilities {
  /** Data survives close() and a new instance on the same location. */
  readonly persistent: boolean;
  /** Iterators see the store as of their creation, unaffected by later writes. */
  readonly snapshotIterators: boolean;
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
  /** Apply all operations or none, in order (a later op on the same key wins). */
  batch(ops: readonly BatchOp[]): Promise<void>;
  /**
   * Entries of the range in key order (or reverse), as of the iterator's creation. At most one
   * lower bound (`gt`/`gte`) and one upper bound (`lt`/`lte`); otherwise a `TypeError`.
   */
  iterate(range: Range): AsyncIterable<[string, string]>;
}
