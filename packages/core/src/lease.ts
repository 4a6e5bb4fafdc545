/**
 * The sweep lease of engines sharing one store (docs/spec.md §11): one key that an engine takes, renews
 * and gives back with conditional batches, so that one engine at a time sweeps, and a dead
 * engine's lease runs out after about one sweep interval for another to take over.
 */
import type { Clock } from './clock.js';
import { isContextServicesError } from './errors.js';
import { SWEEP_LEASE_KEY } from './keys.js';
import type { Store } from './store.js';

interface Holder {
  readonly owner: string;
  readonly until: number;
}

function parseHolder(raw: string): Holder | undefined {
  try {
    const v = JSON.parse(raw) as Partial<Holder>;
    return typeof v.owner === 'string' && typeof v.until === 'number' ? (v as Holder) : undefined;
  } catch {
    return undefined;
  }
}

const lost = (e: unknown): boolean => isContextServicesError(e) && e.code === 'PRECONDITION_FAILED';

/** One engine's handle on the shared sweep lease. */
export class SweepLease {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #owner: string;
  #held = false;
  /** How long a taken or renewed lease lasts (ms): about one sweep interval. */
  duration: number;

  constructor(store: Store, clock: Clock, owner: string, duration = 60_000) {
    this.#store = store;
    this.#clock = clock;
    this.#owner = owner;
    this.duration = duration;
  }

  /**
   * Take the lease when it is free, expired or already ours, and extend it to now + duration.
   * Resolves false when another engine holds it, or took it between our read and our write.
   */
  async acquire(): Promise<boolean> {
    const raw = await this.#store.get(SWEEP_LEASE_KEY);
    const now = this.#clock.now();
    const holder = raw === undefined ? undefined : parseHolder(raw);
    if (holder !== undefined && holder.owner !== this.#owner && holder.until > now) return false;
    const value = JSON.stringify({ owner: this.#owner, until: now + this.duration });
    try {
      await this.#store.batch([{ type: 'put', key: SWEEP_LEASE_KEY, value }], {
        preconditions: [
          raw === undefined ? { key: SWEEP_LEASE_KEY, absent: true } : { key: SWEEP_LEASE_KEY, value: raw },
        ],
      });
      this.#held = true;
      return true;
    } catch (e) {
      this.#held = false;
      if (lost(e)) return false;
      throw e;
    }
  }

  /**
   * Give the lease back if we took it, so that another engine need not wait for it to run out.
   * Best effort: a lease taken over meanwhile, or a store already closed, is left as it is.
   */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    try {
      const raw = await this.#store.get(SWEEP_LEASE_KEY);
      if (raw === undefined || parseHolder(raw)?.owner !== this.#owner) return;
      await this.#store.batch([{ type: 'del', key: SWEEP_LEASE_KEY }], {
        preconditions: [{ key: SWEEP_LEASE_KEY, value: raw }],
      });
    } catch (e) {
      if (!(lost(e) || (isContextServicesError(e) && e.code === 'CLOSED'))) throw e;
    }
  }
}
