/** The server's sweep loop: the engine's sweep on a timer, timed and reported. */
import type { ContextServices, SweepResult } from '@cxs/core';

/** What each sweep reports: its duration in seconds, and its result or its error. */
export interface SweepReport {
  seconds: number;
  result?: SweepResult;
  error?: unknown;
}

/**
 * Run `engine.sweep()` every `intervalMs` on an unref'd timer, one at a time (a tick that comes
 * while a sweep still runs is skipped), and report each one. Unlike `engine.startSweeper`, a
 * failure reaches `onSweep` (the server logs it) instead of a process warning. `engine.close()`
 * waits for a sweep in flight; call `stop()` first.
 */
export function startSweeps(
  engine: ContextServices,
  intervalMs: number,
  onSweep: (report: SweepReport) => void,
): { stop(): void } {
  if (!(intervalMs > 0)) throw new TypeError('startSweeps: intervalMs must be > 0');
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const start = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
    engine
      .sweep()
      .then(
        (result) => onSweep({ seconds: seconds(), result }),
        (error: unknown) => onSweep({ seconds: seconds(), error }),
      )
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
