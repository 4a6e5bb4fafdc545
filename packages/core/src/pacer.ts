/**
 * Pacing of maintenance work (purge and the sweep) by the latency of the requests it competes
 * with: maintenance works through its services a group at a time and, between groups, waits as
 * long as the {@link Pacer} says. The pacer is fed the duration of each request served (the Koa
 * adapter does; an embedder calls `engine.recordLatency(ms)`), keeps the p99 of the last second
 * against a budget and backs off (smaller groups, then pauses growing with the work done) while
 * the requests are slower than it, speeding up again once they are not. The event loop's delay is
 * a second signal, one that needs no requests.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import type { MaintenanceConfig } from './api.js';
import { invalid } from './errors.js';

/** {@link MaintenanceConfig}, resolved. */
export interface ResolvedPacing {
  readonly pacing: boolean;
  readonly latencyBudget: number | undefined;
  readonly eventLoopDelay: boolean;
}

/** Services per group at full pace: each reads its keys and writes a batch through the store. */
export const FULL_WIDTH = 4;
/** The longest pause between two groups, however long the group took. */
export const MAX_PAUSE_MS = 100;
/** Latencies recorded within this long are the recent ones. */
export const WINDOW_MS = 1000;
/** The pace is reconsidered at most this often. */
export const ADJUST_MS = 100;
/** Latencies of requests served while no maintenance ran that make the baseline. */
const BASELINE_SAMPLES = 2000;
const MIN_BASELINE_SAMPLES = 100;
const BUDGET_FACTOR = 1.5;
const MIN_BUDGET_MS = 5;
const DEFAULT_BUDGET_MS = 20;
const MIN_LOOP_DELAY_BUDGET_MS = 50;
const RECENT_SAMPLES = 4096;

/**
 * The pace at each level: level 0 is full pace, then narrower groups, then pauses of a growing
 * multiple of the time the group took (¼, ½, 1, 2, 4 times it: a duty cycle down to a fifth).
 */
export function paceAt(level: number): { width: number; pauseFactor: number } {
  if (level <= 0) return { width: FULL_WIDTH, pauseFactor: 0 };
  if (level === 1) return { width: 2, pauseFactor: 0 };
  if (level === 2) return { width: 1, pauseFactor: 0 };
  return { width: 1, pauseFactor: 2 ** (Math.min(level, MAX_LEVEL) - 5) };
}
/**
 * The slowest level: one service at a time, working a fifth of the time. It is the minimum pace,
 * whatever the requests' latency: a purge on a server that stays busy still ends, about five
 * times slower than one service at a time without pauses.
 */
export const MAX_LEVEL = 7;

/** The event loop's delay, read over intervals. */
export interface LoopDelaySource {
  start(): void;
  stop(): void;
  /** p99 of the delay (ms) since the previous call (or `start`); undefined when nothing was measured. */
  take(): number | undefined;
}

const LOOP_RESOLUTION_MS = 10;

/** {@link LoopDelaySource} on `perf_hooks.monitorEventLoopDelay`: its timer runs only while started. */
export function eventLoopDelaySource(): LoopDelaySource {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  return {
    start: () => {
      h.reset();
      h.enable();
    },
    stop: () => h.disable(),
    take() {
      if (h.count === 0) return undefined;
      // Each sample is the timer's whole interval: the delay is what exceeds the resolution.
      const ms = Math.max(0, h.percentile(99) / 1e6 - LOOP_RESOLUTION_MS);
      h.reset();
      return ms;
    },
  };
}

/** What the pacer waits with and measures time by; tests inject their own. */
export interface PacerDeps {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wait `ms` (> 0) milliseconds. */
  sleep(ms: number): Promise<void>;
  /** Wait for the requests already queued on the event loop (a pause of 0). */
  yield(): Promise<void>;
  loopDelay?: LoopDelaySource;
}

const systemDeps = (loopDelay: boolean): PacerDeps => ({
  now: () => performance.now(),
  sleep: (ms) => sleep(ms),
  yield: () => yieldToLoop(),
  ...(loopDelay ? { loopDelay: eventLoopDelaySource() } : {}),
});

/** Counters of the pacer, for tests and metrics. */
export interface PacerStats {
  /** Pauses taken between groups (a yield to the event loop is not counted). */
  readonly pauses: number;
  /** Their total, ms. */
  readonly pausedMs: number;
  /** Times the pace was lowered. */
  readonly backoffs: number;
}

/**
 * Keeps the recent request latencies and the pace of the maintenance work running. An engine makes
 * its own from `config.maintenance`; engines in one process may share one (`EngineOptions.pacer`),
 * so that each one's maintenance answers to the requests all of them serve.
 */
export class Pacer {
  readonly #cfg: ResolvedPacing;
  readonly #deps: PacerDeps;
  /** Ring of recent latencies and their times. */
  readonly #recentMs = new Float64Array(RECENT_SAMPLES);
  readonly #recentAt = new Float64Array(RECENT_SAMPLES);
  #recentNext = 0;
  #recentCount = 0;
  /** Ring of the latencies recorded while no maintenance ran. */
  readonly #idle = new Float64Array(BASELINE_SAMPLES);
  #idleNext = 0;
  #idleCount = 0;
  /** Maintenance runs in progress. */
  #active = 0;
  #budget = DEFAULT_BUDGET_MS;
  #level = 0;
  #adjustedAt = Number.NEGATIVE_INFINITY;
  /** When the last pause ended: the group since then is the work a pause is measured against. */
  #resumedAt = 0;
  #stats = { pauses: 0, pausedMs: 0, backoffs: 0 };

  /**
   * @param deps time, waits and the event loop's delay: the system's by default (tests inject a
   *   simulated clock).
   * @throws ContextServicesError `VALIDATION_FAILED` for a bad configuration.
   */
  constructor(config: MaintenanceConfig = {}, deps?: PacerDeps) {
    this.#cfg = resolvePacing(config);
    this.#deps = deps ?? systemDeps(this.#cfg.pacing && this.#cfg.eventLoopDelay);
  }

  /** Record the duration (ms) of one request served. */
  record(ms: number): void {
    if (!(ms >= 0)) return;
    if (this.#active === 0) {
      this.#idle[this.#idleNext] = ms;
      this.#idleNext = (this.#idleNext + 1) % BASELINE_SAMPLES;
      if (this.#idleCount < BASELINE_SAMPLES) this.#idleCount++;
      return;
    }
    this.#recentMs[this.#recentNext] = ms;
    this.#recentAt[this.#recentNext] = this.#deps.now();
    this.#recentNext = (this.#recentNext + 1) % RECENT_SAMPLES;
    if (this.#recentCount < RECENT_SAMPLES) this.#recentCount++;
  }

  /** The latency budget (ms) in force: configured, or from the requests served without maintenance. */
  budget(): number {
    if (this.#cfg.latencyBudget !== undefined) return this.#cfg.latencyBudget;
    if (this.#idleCount < MIN_BASELINE_SAMPLES) return DEFAULT_BUDGET_MS;
    return Math.max(MIN_BUDGET_MS, BUDGET_FACTOR * p99(this.#idle.subarray(0, this.#idleCount)));
  }

  /** Services per group at the current pace. */
  get width(): number {
    return this.#cfg.pacing ? paceAt(this.#level).width : FULL_WIDTH;
  }

  /** The current level (0 = full pace, 7 = slowest: one service at a time, working a fifth of the time). */
  get level(): number {
    return this.#level;
  }

  stats(): PacerStats {
    return { ...this.#stats };
  }

  /**
   * Run `work` as maintenance: the latencies recorded meanwhile are compared with the budget (and
   * kept out of the baseline). Runs at once (a purge during a sweep) share one pace, which starts
   * at full pace.
   */
  async during<T>(work: () => Promise<T>): Promise<T> {
    if (this.#active++ === 0) {
      this.#budget = this.budget();
      this.#recentCount = 0;
      this.#level = 0;
      this.#adjustedAt = Number.NEGATIVE_INFINITY;
      this.#resumedAt = this.#deps.now();
      if (this.#cfg.pacing) this.#deps.loopDelay?.start();
    }
    try {
      return await work();
    } finally {
      if (--this.#active === 0) this.#deps.loopDelay?.stop();
    }
  }

  /** Wait between two groups of maintenance work, as long as the pace says. */
  async pause(): Promise<void> {
    if (!this.#cfg.pacing) return this.#deps.yield();
    const now = this.#deps.now();
    if (now - this.#adjustedAt >= ADJUST_MS) this.#adjust(now);
    const workMs = now - this.#resumedAt;
    const { pauseFactor } = paceAt(this.#level);
    if (pauseFactor === 0) {
      await this.#deps.yield();
    } else {
      const pauseMs = Math.max(1, Math.min(MAX_PAUSE_MS, pauseFactor * workMs));
      this.#stats.pauses++;
      this.#stats.pausedMs += pauseMs;
      await this.#deps.sleep(pauseMs);
    }
    this.#resumedAt = this.#deps.now();
  }

  /**
   * Back off two levels when the p99 of the last second is over the budget and a request over it
   * completed since the last adjustment (older slow requests were answered by an earlier back-off),
   * or when the event loop was delayed beyond its budget; speed up one level when the p99 of the
   * last second is within the budget.
   */
  #adjust(now: number): void {
    const since = this.#adjustedAt;
    this.#adjustedAt = now;
    const window: number[] = [];
    let freshSlow = false;
    for (let k = 0; k < this.#recentCount; k++) {
      const i = (this.#recentNext - 1 - k + RECENT_SAMPLES) % RECENT_SAMPLES;
      const at = this.#recentAt[i] as number;
      if (at < now - WINDOW_MS) break;
      const ms = this.#recentMs[i] as number;
      window.push(ms);
      if (at > since && ms > this.#budget) freshSlow = true;
    }
    const loop = this.#deps.loopDelay?.take();
    const loopSlow = loop !== undefined && loop > Math.max(this.#budget, MIN_LOOP_DELAY_BUDGET_MS);
    const slow = window.length > 0 && p99(window) > this.#budget;
    if ((slow && freshSlow) || loopSlow) {
      this.#level = Math.min(MAX_LEVEL, this.#level + 2);
      this.#stats.backoffs++;
    } else if (!slow) this.#level = Math.max(0, this.#level - 1);
  }
}

function p99(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] as number;
}

/** Validate and complete a {@link MaintenanceConfig}. */
function resolvePacing(c: MaintenanceConfig): ResolvedPacing {
  for (const k of ['pacing', 'eventLoopDelay'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'boolean')
      throw invalid(`maintenance.${k}`, 'must be a boolean', { value: c[k] });
  }
  const b = c.latencyBudget;
  if (b !== undefined && !(typeof b === 'number' && Number.isFinite(b) && b > 0))
    throw invalid('maintenance.latencyBudget', 'must be a number of ms > 0', { value: b });
  return { pacing: c.pacing ?? b !== undefined, latencyBudget: b, eventLoopDelay: c.eventLoopDelay ?? true };
}
