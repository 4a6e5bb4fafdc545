/**
 * `@cxs/core/memory`: the in-memory store. Data lives in a persistent B+-tree; a batch builds the
 * next version and swaps one reference, so batches are atomic and every iterator reads the
 * version that was current when it was created.
 */
import { ContextServicesError } from '../errors.js';
import { encodePosition, prefixRange } from '../keys.js';
import type { BatchOp, BatchOptions, Range, Store, StoreCapabilities } from '../store.js';
import { checkBatch, checkKey, checkRange } from '../store-checks.js';
import { ascending, del, descending, EMPTY, get, type Node, put } from './btree.js';

/**
 * A {@link Store} held in memory: fast, not persistent (data lives as long as the instance,
 * across close and open). Passes the shared conformance suite of `@cxs/core/testing`.
 *
 * @example
 * ```ts
 * import { createContextServices } from '@cxs/core';
 * import { MemoryStore } from '@cxs/core/memory';
 * const cs = await createContextServices({ store: new MemoryStore() });
 * ```
 */
export class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities = Object.freeze({
    persistent: false,
    snapshotIterators: true,
    sharedWriters: false,
    orderedAppend: true,
  });
  #root: Node = EMPTY;
  /** Last position appended per prefix (`BatchOptions.append`), kept while the instance lives. */
  readonly #appended = new Map<string, number>();
  #open = false;

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

  async batch(ops: readonly BatchOp[], options?: BatchOptions): Promise<void> {
    checkBatch(ops);
    const append = options?.append;
    if (append !== undefined)
      checkBatch(append.values.map((value) => ({ type: 'put', key: append.prefix, value })));
    this.#check();
    const edit = {};
    let root = this.#root;
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
    // The version is taken now, at creation, not at the first next().
    const root = this.#root;
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
