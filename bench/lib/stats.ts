/** Small statistics helpers: nearest-rank percentiles over plain arrays. */

/** Nearest-rank percentile (p in 0..100); null for an empty list. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number | null {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Rounds to one decimal (null stays null). */
export function r1(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(v * 10) / 10;
}

/** p50/p95/p99/min/max/count of a sample, rounded to 0.1. */
export function summary(values: readonly number[]): { n: number; p50: number | null; p95: number | null; p99: number | null; min: number | null; max: number | null } {
  return {
    n: values.length,
    p50: r1(percentile(values, 50)),
    p95: r1(percentile(values, 95)),
    p99: r1(percentile(values, 99)),
    min: r1(values.length ? Math.min(...values) : null),
    max: r1(values.length ? Math.max(...values) : null),
  };
}
