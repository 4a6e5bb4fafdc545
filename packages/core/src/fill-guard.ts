/**
 * Which reads may fill the engine's record cache. A record read from the store may enter the
 * cache only when no write to its key was in flight, or settled, since the read began: else it
 * may be older than what that write left (a write fills the cache itself once its batch holds).
 * Kept per key, so that writes to other services never stop a read from filling the cache; a
 * server under steady write load otherwise read the same customers' records from the store on
 * every list.
 */
export class FillGuard {
  /** Bumped when a write begins and when it settles. */
  #epoch = 0;
  /** Writes in flight by key. */
  readonly #pending = new Map<string, number>();
  /** The epoch each key's last write settled at, oldest first; at most `#max` keys. */
  readonly #settled = new Map<string, number>();
  /** The latest epoch forgotten from `#settled`: keys not in it settled no later. */
  #floor = 0;
  readonly #max: number;

  /** @param max keys remembered; reads that outlast that many writes to other keys do not fill. */
  constructor(max = 4096) {
    this.#max = max;
  }

  /** Taken by a read before it reads the store, for {@link mayFill}. */
  get epoch(): number {
    return this.#epoch;
  }

  /** A write of `key` begins (before its batch). */
  begin(key: string): void {
    this.#epoch++;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
  }

  /** That write settled, whether its batch held or failed. */
  end(key: string): void {
    const left = (this.#pending.get(key) ?? 1) - 1;
    if (left === 0) this.#pending.delete(key);
    else this.#pending.set(key, left);
    this.#epoch++;
    this.#settled.delete(key);
    this.#settled.set(key, this.#epoch);
    if (this.#settled.size > this.#max) {
      const [oldest, at] = this.#settled.entries().next().value as [string, number];
      this.#settled.delete(oldest);
      this.#floor = at;
    }
  }

  /** Whether a read of `key` that took {@link epoch} `since` may put what it read in the cache. */
  mayFill(key: string, since: number): boolean {
    return !this.#pending.has(key) && (this.#settled.get(key) ?? this.#floor) <= since;
  }
}
