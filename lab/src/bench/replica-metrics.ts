/** Sum and count of one Prometheus histogram (or a set of its series), added up. */
export interface SumCount {
  sum: number;
  count: number;
}

/** The histogram totals of the replicas at one moment, keyed by series. */
export type MetricsSnapshot = Map<string, SumCount>;

const LINE = /^(stampede_[a-z_]+)_(sum|count)(\{[^}]*\})?\s+([0-9.eE+-]+)$/;

/** Adds up the `_sum`/`_count` lines of the stampede histograms in a Prometheus text page. */
export function parseHistogramTotals(text: string, into: MetricsSnapshot = new Map()): MetricsSnapshot {
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    // The instance label is dropped: the three replicas add up.
    const labels = (m[3] ?? '').replace(/,?instance="[^"]*"/, '').replace('{,', '{');
    const key = `${m[1]}${labels}`;
    const entry = into.get(key) ?? { sum: 0, count: 0 };
    entry[m[2] as 'sum' | 'count'] += Number(m[4]);
    into.set(key, entry);
  }
  return into;
}

/** Sum and count over the series whose key contains every one of `match`. */
export function totalOf(snapshot: MetricsSnapshot, match: string[]): SumCount {
  const out = { sum: 0, count: 0 };
  for (const [key, v] of snapshot) {
    if (!match.every((m) => key.includes(m))) continue;
    out.sum += v.sum;
    out.count += v.count;
  }
  return out;
}

/** Reads /metrics of each replica (or the worker); one that does not answer is left out. */
export async function scrapeReplicas(ports: number[]): Promise<MetricsSnapshot> {
  const snapshot: MetricsSnapshot = new Map();
  await Promise.all(
    ports.map(async (port) => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
        parseHistogramTotals(await res.text(), snapshot);
      } catch {
        // restarting or gone: its figures are missing from this phase
      }
    }),
  );
  return snapshot;
}

/**
 * Mean, in ms, of the observations made between two snapshots in the series whose key
 * contains every one of `match` (metric name, label pairs); undefined when there were none.
 */
export function meanBetween(before: MetricsSnapshot, after: MetricsSnapshot, match: string[]): number | undefined {
  let sum = 0;
  let count = 0;
  for (const [key, v] of after) {
    if (!match.every((m) => key.includes(m))) continue;
    const prev = before.get(key) ?? { sum: 0, count: 0 };
    sum += v.sum - prev.sum;
    count += v.count - prev.count;
  }
  return count > 0 ? Math.round((sum / count) * 1000 * 1000) / 1000 : undefined;
}
