import type { Registry } from 'prom-client';

type RequestLabels = { route: string; method: string; status: string };

interface Series {
  labels: RequestLabels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[];
}

/**
 * What prom-client asks of a metric it prints: its name, help, type and a `get()` of its
 * values in prom-client's own shape, so `/metrics` and `metric.get()` read as for its
 * Counter and Histogram.
 */
export interface ExposedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<MetricValues>;
  reset(): void;
}

/** A metric's values as prom-client's `get()` gives them. */
export interface MetricValues {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: SampleValue[];
}

export interface SampleValue {
  labels: Record<string, string | number>;
  value: number;
  /** The sample's own name (a histogram's `_bucket`, `_sum`, `_count`); the metric's when absent. */
  metricName?: string;
}

/**
 * The requests counter and duration histogram of every HTTP request, recorded in one step.
 * prom-client's `inc` and `observe` check and hash the label object on every call, a visible
 * share of a replica's CPU on a route that does nothing else; here a request finds its series
 * by one string key and adds to plain numbers, and the series are turned into prom-client's
 * values only when read (a scrape, the dashboard's sample). The output is that of a
 * prom-client Counter and Histogram of the same names, labels and buckets.
 */
export function createRequestMetrics(
  registry: Registry,
  names: { requests: string; duration: string },
  buckets: readonly number[],
) {
  const series = new Map<string, Series>();

  const values = (): Series[] => [...series.values()];
  const requests: ExposedMetric = {
    name: names.requests,
    help: 'HTTP requests by route, method and status',
    type: 'counter',
    aggregator: 'sum',
    get: async () => ({
      name: names.requests,
      help: requests.help,
      type: 'counter',
      aggregator: 'sum',
      values: values().map((s) => ({ labels: { ...s.labels }, value: s.count })),
    }),
    reset: () => series.clear(),
  };
  const duration: ExposedMetric = {
    name: names.duration,
    help: 'HTTP request duration by route, method and status',
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const out: SampleValue[] = [];
      for (const s of values()) {
        let cumulative = 0;
        buckets.forEach((le, i) => {
          cumulative += s.buckets[i] ?? 0;
          out.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${names.duration}_bucket` });
        });
        out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${names.duration}_bucket` });
        out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${names.duration}_sum` });
        out.push({ labels: { ...s.labels }, value: s.count, metricName: `${names.duration}_count` });
      }
      return { name: names.duration, help: duration.help, type: 'histogram', aggregator: 'sum', values: out };
    },
    reset: () => series.clear(),
  };
  registry.registerMetric(requests as never);
  registry.registerMetric(duration as never);

  return {
    requests,
    duration,
    /** One request answered: counted and its duration (seconds) observed. */
    record(route: string, method: string, status: number, seconds: number): void {
      const key = `${status} ${method} ${route}`;
      let s = series.get(key);
      if (!s) {
        s = { labels: { route, method, status: String(status) }, count: 0, sum: 0, buckets: buckets.map(() => 0) };
        s.buckets.push(0);
        series.set(key, s);
      }
      s.count += 1;
      s.sum += seconds;
      let i = 0;
      while (i < buckets.length && seconds > (buckets[i] as number)) i += 1;
      s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    },
  };
}

export type RequestMetrics = ReturnType<typeof createRequestMetrics>;
