/** Source of time for the engine. Core never reads `Date.now()` directly. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told: tests advance it to exercise expiry and auto-complete
 * without sleeping.
 */
export class SimulatedClock implements Clock {
  #now: number;
  constructor(start: number | string = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === 'string' ? Date.parse(start) : start;
  }
  now(): number {
    return this.#now;
  }
  /** Move forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new TypeError('SimulatedClock.advance: ms must be >= 0');
    this.#now += ms;
  }
  /** Jump to an instant not before the current one. */
  set(at: number): void {
    if (at < this.#now) throw new TypeError('SimulatedClock.set: time cannot go backwards');
    this.#now = at;
  }
}
