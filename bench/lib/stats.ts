/** Small statistics helpers for latency samples (milliseconds). */

/** The q-quantile (0…1) of `sorted` (ascending), nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Median, p99 and mean of latency samples. */
export function summarize(samples: readonly number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean, n: sorted.length };
}

/** Time each of `n` sequential calls of `fn` (after `warmup` untimed calls); latencies in ms. */
export async function timeSequential(
  n: number,
  warmup: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(warmup + i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Run `total` calls of `fn` with at most `width` in flight. */
export async function runConcurrent(
  total: number,
  width: number,
  fn: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, worker));
}

/** Seconds elapsed since `t0` (a `performance.now()` value). */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}
