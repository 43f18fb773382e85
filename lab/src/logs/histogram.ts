/** Relative width of a bucket: a percentile is reported within 2 % of the true value. */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Values at or below this (ms) share the first bucket; nginx measures whole milliseconds. */
const FLOOR_MS = 0.01;

/**
 * A latency histogram in constant memory per distinct bucket (an HDR-like log scale):
 * bucket i holds values in (FLOOR·1.02^(i-1), FLOOR·1.02^i]. From 10 µs to an hour that
 * is under 1,000 buckets, however many values are recorded.
 */
export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const i = ms <= FLOOR_MS ? 0 : Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GROWTH);
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + 1);
    this.count += 1;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /**
   * The nearest-rank percentile (p in 0..100): the upper bound of the bucket holding the
   * ceil(p/100·n)-th smallest value, never outside the recorded min and max.
   */
  percentile(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const i of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(i)!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, FLOOR_MS * GROWTH ** i));
    }
    return this.max;
  }
}
