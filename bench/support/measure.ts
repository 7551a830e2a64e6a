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
