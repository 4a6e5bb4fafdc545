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

/** Latency (ms) and CPU time (µs: the whole process, every thread, native work included) of each call. */
export interface CallSamples {
  ms: number[];
  cpuUs: number[];
}

/**
 * Time two operations side by side: `rounds` rounds of `perRound` pairs (after `warmup` untimed
 * pairs), the two calls of a pair back to back and in alternating order (a then b, then b then a),
 * so that both see the same machine load, heap and caches. The samples of each round, for each.
 */
export async function timeInterleaved(
  rounds: number,
  perRound: number,
  warmup: number,
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
): Promise<{ a: CallSamples[]; b: CallSamples[] }> {
  for (let i = 0; i < warmup; i++) {
    await a(i);
    await b(i);
  }
  const out = { a: [] as CallSamples[], b: [] as CallSamples[] };
  const timed = async (fn: (i: number) => Promise<unknown>, i: number, into: CallSamples) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(i);
    into.ms.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    into.cpuUs.push(cpu.user + cpu.system);
  };
  let i = warmup;
  for (let r = 0; r < rounds; r++) {
    const ra: CallSamples = { ms: [], cpuUs: [] };
    const rb: CallSamples = { ms: [], cpuUs: [] };
    for (let k = 0; k < perRound; k++, i++) {
      if (k % 2 === 0) {
        await timed(a, i, ra);
        await timed(b, i, rb);
      } else {
        await timed(b, i, rb);
        await timed(a, i, ra);
      }
    }
    out.a.push(ra);
    out.b.push(rb);
  }
  return out;
}

/**
 * Rounds of samples in one figure: the median of the rounds' p50s (a round disturbed by the
 * machine's other work moves it little), the p99 of all samples, the median of the rounds' mean
 * CPU µs per call, and the lowest and highest round p50 (how steady the rounds were).
 */
export function summarizeRounds(rounds: readonly CallSamples[]): {
  p50: number;
  p99: number;
  cpuUs: number;
  p50Range: [number, number];
  n: number;
} {
  const p50s = rounds.map((r) => summarize(r.ms).p50).sort((x, y) => x - y);
  const cpus = rounds
    .map((r) => r.cpuUs.reduce((s, v) => s + v, 0) / Math.max(1, r.cpuUs.length))
    .sort((x, y) => x - y);
  const all = summarize(rounds.flatMap((r) => r.ms));
  return {
    p50: quantile(p50s, 0.5),
    p99: all.p99,
    cpuUs: quantile(cpus, 0.5),
    p50Range: [p50s[0] ?? Number.NaN, p50s[p50s.length - 1] ?? Number.NaN],
    n: all.n,
  };
}
