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
