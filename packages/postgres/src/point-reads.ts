/**
 * Point reads shared by one turn of the event loop: the `get`s and `getMany`s called in a turn
 * (by one request, or concurrent ones) become one statement, sent at the end of that turn. It is
 * sent after each call, so each still sees every write acknowledged before it, and it is one
 * snapshot for all their keys, which keeps `getMany`'s promise.
 */
import type { Pool } from 'pg';

/** Reads `keys` (distinct, at least one) in one statement. */
export type ReadKeys = (pool: Pool, keys: string[]) => Promise<{ key: string; value: string }[]>;

/** Keys to read at the end of this turn, and who waits for them. */
interface Pending {
  readonly keys: Set<string>;
  readonly waiters: { resolve(found: Map<string, string>): void; reject(error: unknown): void }[];
}

export class PointReads {
  readonly #readKeys: ReadKeys;
  #pending: Pending | undefined;

  constructor(readKeys: ReadKeys) {
    this.#readKeys = readKeys;
  }

  /** The stored values of `keys` (absent keys missing from the map), read with this turn's others. */
  read(pool: Pool, keys: readonly string[]): Promise<Map<string, string>> {
    let pending = this.#pending;
    if (pending === undefined) {
      const batch: Pending = { keys: new Set(), waiters: [] };
      pending = batch;
      this.#pending = batch;
      setImmediate(() => {
        this.#pending = undefined;
        void this.#readTogether(pool, batch);
      });
    }
    for (const k of keys) pending.keys.add(k);
    const { waiters } = pending;
    return new Promise((resolve, reject) => {
      waiters.push({ resolve, reject });
    });
  }

  async #readTogether(pool: Pool, pending: Pending): Promise<void> {
    try {
      const rows = await this.#readKeys(pool, [...pending.keys]);
      const found = new Map(rows.map((r) => [r.key, r.value]));
      for (const w of pending.waiters) w.resolve(found);
    } catch (error) {
      for (const w of pending.waiters) w.reject(error);
    }
  }
}
