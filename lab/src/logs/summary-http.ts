import { LatencyHistogram } from './histogram.js';
import { field, type LogEntry, numberField } from './log-entry.js';
import type { ReplicaNames } from './replica-names.js';

export interface Percentiles {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

export interface ReplicaRow extends Percentiles {
  replica: string;
  address: string;
  /** Requests this replica answered (the last upstream nginx tried). */
  requests: number;
  share: number;
  /** Attempts nginx gave up on this replica and passed to the next (`upstreamAddr` "a, b"). */
  failedAttempts: number;
  /** Percentiles are nginx's upstream response time for this replica, in ms. */
}

export interface RouteRow extends Percentiles {
  method: string;
  route: string;
  statuses: Record<string, number>;
}

export interface HttpSummary {
  requests: number;
  /** Answered by nginx itself: rate limited (429), its health page, no replica reachable. */
  withoutUpstream: number;
  replicas: ReplicaRow[];
  balance: { verdict: 'even' | 'uneven' | 'too few requests' | 'one replica'; maxOverMin?: number };
  statuses: Record<string, number>;
  /** Percentiles are nginx's request time (the client's view), in ms. */
  routes: RouteRow[];
}

const ID_SEGMENT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+|[0-9a-f]{16,})$/i;

/** `/events/3a5c…/purchases?x=1` → `/events/:id/purchases`: one row per route, not per event. */
export function normalizeRoute(uri: string): string {
  const path = uri.split('?')[0] ?? '';
  return (
    path
      .split('/')
      .map((s) => (ID_SEGMENT.test(s) ? ':id' : s))
      .join('/') || '/'
  );
}

const last = (list: string | undefined) => list?.split(/[,:] /).pop()?.trim();

function percentiles(h: LatencyHistogram): Percentiles {
  return {
    count: h.count,
    p50: h.percentile(50),
    p95: h.percentile(95),
    p99: h.percentile(99),
    ...(h.count > 0 ? { max: h.max } : {}),
  };
}

const inc = (o: Record<string, number>, k: string, by = 1) => {
  o[k] = (o[k] ?? 0) + by;
};

/** Counts nginx's access lines: per replica, per route, per status, with latency histograms. */
export class HttpCounters {
  requests = 0;
  withoutUpstream = 0;
  readonly statuses: Record<string, number> = {};
  private readonly byAddress = new Map<string, { requests: number; failed: number; latency: LatencyHistogram }>();
  private readonly byRoute = new Map<string, { statuses: Record<string, number>; latency: LatencyHistogram }>();

  constructor(private readonly names: ReplicaNames) {}

  private address(addr: string) {
    let a = this.byAddress.get(addr);
    if (!a) this.byAddress.set(addr, (a = { requests: 0, failed: 0, latency: new LatencyHistogram() }));
    return a;
  }

  /** Takes one `http.access` line. */
  add(e: LogEntry): void {
    const status = String(numberField(e, 'status') ?? 'unknown');
    this.requests += 1;
    inc(this.statuses, status);
    const method = field(e, 'method') ?? '?';
    const key = `${method} ${normalizeRoute(field(e, 'uri') ?? '')}`;
    let route = this.byRoute.get(key);
    if (!route) this.byRoute.set(key, (route = { statuses: {}, latency: new LatencyHistogram() }));
    inc(route.statuses, status);
    const seconds = numberField(e, 'requestTime');
    if (seconds !== undefined) route.latency.record(seconds * 1000);

    // "a, b" when nginx passed the request on: a failed, b answered. "-" or "" when none was asked.
    const tried = (field(e, 'upstreamAddr') ?? '')
      .split(/[,:] (?=\S)/)
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== '-');
    const served = tried.pop();
    if (!served) {
      this.withoutUpstream += 1;
      return;
    }
    for (const failed of tried) this.address(failed).failed += 1;
    const a = this.address(served);
    a.requests += 1;
    const upstreamSeconds = Number(last(field(e, 'upstreamResponseTime')));
    if (Number.isFinite(upstreamSeconds)) a.latency.record(upstreamSeconds * 1000);
    this.names.observe(e, served);
  }

  result(): HttpSummary {
    const served = this.requests - this.withoutUpstream;
    const replicas = [...this.byAddress]
      .map(
        ([address, a]): ReplicaRow => ({
          replica: this.names.nameOf(address) ?? address,
          address,
          requests: a.requests,
          share: served > 0 ? a.requests / served : 0,
          failedAttempts: a.failed,
          ...percentiles(a.latency),
        }),
      )
      .sort((x, y) => x.replica.localeCompare(y.replica));
    const routes = [...this.byRoute]
      .map(([key, r]): RouteRow => {
        const [method = '?', route = ''] = key.split(' ');
        return { method, route, statuses: r.statuses, ...percentiles(r.latency) };
      })
      .sort((x, y) => y.count - x.count);
    return {
      requests: this.requests,
      withoutUpstream: this.withoutUpstream,
      replicas,
      balance: balance(replicas),
      statuses: this.statuses,
      routes,
    };
  }
}

/**
 * Is least_conn spreading the load? Even when every replica that answered is within 25 %
 * of the mean; a judgement needs a few dozen requests.
 */
function balance(rows: ReplicaRow[]): HttpSummary['balance'] {
  const counts = rows.map((r) => r.requests).filter((n) => n > 0);
  const total = counts.reduce((a, b) => a + b, 0);
  if (counts.length === 1) return { verdict: 'one replica' };
  if (total < 30 || counts.length === 0) return { verdict: 'too few requests' };
  const mean = total / counts.length;
  const maxOverMin = Math.round((Math.max(...counts) / Math.min(...counts)) * 100) / 100;
  return { verdict: counts.every((n) => Math.abs(n - mean) <= 0.25 * mean) ? 'even' : 'uneven', maxOverMin };
}
