import type { BackplaneMessageOf } from '@stampede/core/backplane';
import { type ApiMetrics, LATENCY_BUCKETS } from '@stampede/core/metrics';

export type ReplicaSample = Omit<BackplaneMessageOf<'replica_sample'>, 'v' | 'from' | 'sentAt' | 'kind' | 'watching'>;

/** The routes whose latency the dashboard shows, as http-metrics.ts labels them. */
export const READ_ROUTE = { route: '/events/:eventId/availability', method: 'GET' };
export const ADMISSION_ROUTE = { route: '/events/:eventId/purchases', method: 'POST' };

type Labels = Record<string, string | number | undefined>;
const matches = (labels: Labels, want: Labels) => Object.entries(want).every(([k, v]) => labels[k] === v);

function add(into: Record<string, number>, key: string, n: number): void {
  into[key] = (into[key] ?? 0) + n;
}

/**
 * This replica's own figures, read from its metrics (what /metrics would print), cumulative
 * since it started: requests, admissions by outcome, and the latency buckets of reads and
 * admissions summed over their statuses.
 */
export async function readReplicaSample(metrics: ApiMetrics): Promise<ReplicaSample> {
  const [requests, admissions, duration] = await Promise.all([
    metrics.http.requests.get(),
    metrics.admissions.get(),
    metrics.http.duration.get(),
  ]);
  const buckets = (want: Labels) => {
    const out = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
    for (const v of duration.values) {
      if (!v.metricName?.endsWith('_bucket') || !matches(v.labels, want)) continue;
      const bound = (v.labels as Labels).le;
      const le = bound === '+Inf' ? LATENCY_BUCKETS.length : LATENCY_BUCKETS.indexOf(Number(bound));
      if (le >= 0) out[le] = (out[le] ?? 0) + v.value;
    }
    return out;
  };
  const byOutcome: Record<string, number> = {};
  for (const v of admissions.values) add(byOutcome, String(v.labels.outcome), v.value);
  const byStatus: Record<string, number> = {};
  for (const v of requests.values)
    if (matches(v.labels, ADMISSION_ROUTE)) add(byStatus, String(v.labels.status), v.value);
  return {
    requests: requests.values.reduce((n, v) => n + v.value, 0),
    admissions: byOutcome,
    admissionStatuses: byStatus,
    readLatency: buckets(READ_ROUTE),
    admissionLatency: buckets(ADMISSION_ROUTE),
  };
}
