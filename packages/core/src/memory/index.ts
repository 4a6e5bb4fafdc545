/**
 * `@cxs/core/memory`: the in-memory store. Data lives in a persistent B+-tree; a batch builds the
 * next version and swaps one reference, so batches are atomic and every iterator reads the
 * version that was current when it was created.
 *
 * Batches change in place the nodes that earlier batches copied, as long as no iterator has taken
 * the version they belong to: taking a version (creating an iterator) retires the write token, so
 * the next batch copies the paths it touches and the iterator's version stays as it was. Between
 * two iterators, writes cost what a mutable B+-tree costs (no copy, no garbage).
 */
import { ContextServicesError } from '../errors.js';
import { encodePosition, prefixRange } from '../keys.js';
import type { BatchOp, BatchOptions, Range, Store, StoreCapabilities } from '../store.js';
import { checkBatch, checkKey, checkRange, failedPrecondition, preconditionFailed } from '../store-checks.js';
import { ascending, del, descending, EMPTY, get, type Node, put } from './btree.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Declare `sharedWriters: true` (default false): engines over this one instance then behave as
   * processes over one database (preconditions, retries, no cache), which is how the scale-out
   * rules of docs/spec.md §11 are tested without a database.
   */
  sharedWriters?: boolean;
}

/**
 * A {@link Store} held in memory: fast, not persistent (data lives as long as the instance,
 * across close and open). Passes the shared conformance suite of `@cxs/core/testing`.
 * Preconditions are checked on the version a batch replaces, in the same synchronous step.
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { MemoryStore } from '@cxs/core/memory';
 * const cs = await createContextServices({ store: new MemoryStore() });
 * ```
 */
export class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities;
  #root: Node = EMPTY;
  /** Last position appended per prefix (`BatchOptions.append`), kept while the instance lives. */
  readonly #appended = new Map<string, number>();
  /** Write token of the current version's own nodes; replaced when an iterator takes the version. */
  #edit: object = {};
  #open = false;

  /** @throws TypeError when an option has the wrong type. */
  constructor(options: MemoryStoreOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('MemoryStore: options must be an object');
    if (options.sharedWriters !== undefined && typeof options.sharedWriters !== 'boolean') {
      throw new TypeError('MemoryStore: sharedWriters must be a boolean');
    }
    this.capabilities = Object.freeze({
      persistent: false,
      snapshotIterators: true,
      sharedWriters: options.sharedWriters === true,
      orderedAppend: true,
    });
  }

  async open(): Promise<void> {
    this.#open = true;
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  #check(): void {
    if (!this.#open) throw new ContextServicesError('CLOSED', 'The memory store is not open');
  }

  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    this.#check();
    return get(this.#root, key);
  }

  async getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    if (!Array.isArray(keys)) throw new TypeError('getMany: keys must be an array');
    for (const k of keys) checkKey(k);
    this.#check();
    const root = this.#root;
    return keys.map((k) => get(root, k));
  }

  /**
   * With `append`, the entries are written at the next positions under the prefix, in the same
   * synchronous swap as the ops (see `AppendOp`).
   * @throws ContextServicesError `PRECONDITION_FAILED` (details.key), nothing written; `CLOSED`.
   */
  async batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
    checkBatch(ops, options);
    const append = options?.append;
    this.#check();
    let root = this.#root;
    const failed = failedPrecondition(options?.preconditions, (key) => get(root, key));
    if (failed !== undefined) throw preconditionFailed(failed);
    const edit = this.#edit;
    for (const op of ops)
      root = op.type === 'put' ? put(root, op.key, op.value, edit) : del(root, op.key, edit);
    if (append !== undefined && append.values.length > 0) {
      // One synchronous swap: positions are given in commit order (the AppendOp contract).
      let last = this.#appended.get(append.prefix);
      if (last === undefined) {
        last = 0;
        for (const [k] of descending(this.#root, prefixRange(append.prefix))) {
          last = Number(k.slice(append.prefix.length));
          break;
        }
      }
      for (const value of append.values)
        root = put(root, append.prefix + encodePosition(++last), value, edit);
      this.#appended.set(append.prefix, last);
    }
    this.#root = root;
  }

  iterate(range: Range): AsyncIterable<[string, string]> {
    checkRange(range);
    this.#check();
    // The version is taken now, at creation, not at the first next(): from now on its nodes are
    // shared with this iterator, so later batches must copy them.
    const root = this.#root;
    this.#edit = {};
    const limit = range.limit === undefined || range.limit < 0 ? Number.POSITIVE_INFINITY : range.limit;
    const store = this;
    return {
      async *[Symbol.asyncIterator]() {
        let n = 0;
        for (const entry of range.reverse ? descending(root, range) : ascending(root, range)) {
          if (n++ >= limit) return;
          store.#check();
          yield entry;
        }
      },
    };
  }
}
