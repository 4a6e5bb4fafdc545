import type { Parameters } from 'fast-check';

/**
 * fast-check parameters for a property run: a fixed default seed (CI is reproducible) and
 * `defaultRuns` runs, overridden by the environment: `FC_SEED`, `FC_RUNS` to run more, `FC_PATH`
 * to replay the failing case that fast-check printed (it prints seed and path on every failure).
 *
 * @example
 * ```ts
 * await fc.assert(fc.asyncProperty(arb, check), fcParams(300));
 * // replay: FC_SEED=20261123 FC_PATH="12:3:0" pnpm test
 * ```
 */
export function fcParams<T>(defaultRuns: number, defaultSeed = 20261123): Parameters<T> {
  const env = process.env;
  const runs = env.FC_RUNS === undefined ? defaultRuns : Number(env.FC_RUNS);
  const seed = env.FC_SEED === undefined ? defaultSeed : Number(env.FC_SEED);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new TypeError(`FC_RUNS must be a positive integer`);
  if (!Number.isSafeInteger(seed)) throw new TypeError(`FC_SEED must be an integer`);
  const params: Parameters<T> = { numRuns: runs, seed };
  if (env.FC_PATH !== undefined && env.FC_PATH !== '') params.path = env.FC_PATH;
  return params;
}

/**
 * A small deterministic pseudo-random generator (mulberry32): numbers in [0, 1) from a 32-bit
 * seed, the same sequence on every run. For tests and benchmarks that need reproducible choices
 * outside fast-check (kill timings, picks among stored services).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A service query that embeds every state and task and shows every extension. */
export const WHOLE_SERVICE = Object.freeze({
  active_states: true,
  completed_states: true,
  active_tasks: true,
  completed_tasks: true,
  extensions: Object.freeze(['*']) as string[],
});
