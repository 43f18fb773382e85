/** Latency figures of one path, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Every latency of a run, kept exactly (a float per response): autocannon's own histogram
 * counts whole milliseconds, too coarse for a cached read that takes a fraction of one.
 * A few hundred thousand doubles is a few megabytes, fine for a benchmark.
 */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private n = 0;

  record(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.n).sort();
    const at = (q: number) => (this.n === 0 ? 0 : sorted[Math.min(this.n - 1, Math.ceil(q * this.n) - 1)]!);
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.n,
      meanMs: round(this.n ? sum / this.n : 0),
      p50Ms: round(at(0.5)),
      p90Ms: round(at(0.9)),
      p99Ms: round(at(0.99)),
      maxMs: round(this.n ? sorted[this.n - 1]! : 0),
    };
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
