/** Small helpers for benchmarks that print figures. */

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Samples heapUsed every `everyMs` until stopped; returns the peak in MiB. */
export function heapSampler(everyMs = 10): { stop: () => number; peakMiB: () => number } {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, everyMs);
  return {
    peakMiB: () => peak / 1024 ** 2,
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      return peak / 1024 ** 2;
    },
  };
}

export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints rows of [metric, a, b, ratio] as an aligned table. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** Forces a GC when node runs with --expose-gc, so heap figures start from the same floor. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The smallest, middle and largest of some figures. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** Min, median (the mean of the middle two for an even count) and max. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/** `min / median / max`, each with `digits` decimals. */
export function fmtSpread(s: Spread, digits = 1): string {
  return `${fmt(s.min, digits)} / ${fmt(s.median, digits)} / ${fmt(s.max, digits)}`;
}

/** What paired rounds measured: every figure of every round, and the per-round ratios. */
export interface PairedResult<T> {
  /** Round by round, A's figure and B's. */
  readonly rounds: readonly { readonly a: T; readonly b: T; readonly order: 'A-B' | 'B-A' }[];
  readonly a: readonly T[];
  readonly b: readonly T[];
  /** Spread of `metric(a) / metric(b)`, computed within each round (the pair shares the machine's state). */
  ratio(metric: (figure: T) => number): Spread;
  /** Spread of one contender's metric over the rounds. */
  spreadOf(side: 'a' | 'b', metric: (figure: T) => number): Spread;
}

/**
 * Paired, interleaved rounds: round 1 runs A then B, round 2 B then A, and so on, so drift in the
 * machine (thermal, a neighbour on a shared host, caches, GC) falls on both sides alike. Ratios are
 * taken within a round and reported as min/median/max over the rounds, never as a ratio of
 * one-off samples. `rounds` is raised to at least 6 and to an even count (as many A-B as B-A).
 * `warmUp` runs each side once first (its figures are dropped).
 */
export async function pairedRounds<T>(options: {
  readonly rounds?: number;
  readonly warmUp?: boolean;
  readonly a: (round: number) => Promise<T>;
  readonly b: (round: number) => Promise<T>;
  /** Called between the two halves of a round and between rounds, e.g. to collect garbage. */
  readonly between?: () => Promise<void> | void;
}): Promise<PairedResult<T>> {
  const requested = Math.max(6, Math.floor(options.rounds ?? 6));
  const count = requested % 2 === 0 ? requested : requested + 1;
  const settle = async () => {
    collectGarbage();
    await options.between?.();
  };
  if (options.warmUp ?? true) {
    await options.a(-1);
    await settle();
    await options.b(-1);
    await settle();
  }
  const rounds: { a: T; b: T; order: 'A-B' | 'B-A' }[] = [];
  for (let round = 0; round < count; round++) {
    const order = round % 2 === 0 ? 'A-B' : 'B-A';
    let a: T;
    let b: T;
    if (order === 'A-B') {
      a = await options.a(round);
      await settle();
      b = await options.b(round);
    } else {
      b = await options.b(round);
      await settle();
      a = await options.a(round);
    }
    await settle();
    rounds.push({ a, b, order });
  }
  return {
    rounds,
    a: rounds.map((r) => r.a),
    b: rounds.map((r) => r.b),
    ratio: (metric) => spread(rounds.map((r) => metric(r.a) / metric(r.b))),
    spreadOf: (side, metric) => spread(rounds.map((r) => metric(r[side]))),
  };
}

/** Times one asynchronous call, in seconds. */
export async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}
