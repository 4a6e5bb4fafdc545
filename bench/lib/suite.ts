/** What every suite receives. */
import type { Recorder } from './results.js';

export interface SuiteContext {
  /** Quick mode: smaller counts and shorter rounds (the whole run in 2–3 minutes on 2 cores). */
  readonly quick: boolean;
  readonly rec: Recorder;
}

/** Print a progress line. */
export function log(text: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}
