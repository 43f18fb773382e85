import { LATENCY_BUCKETS } from '@stampede/core/metrics';
import type { ReplicaSample } from './replica-sample.js';

/** The admission outcomes the dashboard plots, as a buyer sees them. */
export const ADMISSION_SERIES = ['202', '409 sold out', '409 limit', '429', '503'] as const;
export type AdmissionSeries = (typeof ADMISSION_SERIES)[number];

export interface TimedSample extends ReplicaSample {
  /** When the replica took it (its clock, epoch ms). */
  at: number;
}

export interface Quantiles {
  p50: number | null;
  p99: number | null;
}

export interface EventFigures {
  sale: 'open' | 'closed' | 'not_open' | 'unknown';
  tiers: { name: string; remaining: number; capacity: number }[];
}

/** One second of the sale, as the dashboard draws it. */
export interface Frame {
  t: number;
  /** Requests per second per replica; a replica not heard from lately is absent. */
  replicas: Record<string, number>;
  admissions: Record<AdmissionSeries, number>;
  latencyMs: { read: Quantiles; admission: Quantiles };
  /**
   * Null while the broker cannot be asked; unacked is null while a worker consumes but has
   * not said lately what it holds (0 would claim a drain that is still going on).
   */
  queue: { ready: number; unacked: number | null; consumers: number } | null;
  /** Purchases decided per second. */
  drainRate: number;
  workerUp: boolean;
  health: { redis: boolean; postgres: boolean; broker: boolean };
  events: Record<string, EventFigures>;
}

/** Something that happened, detected by comparing two frames. */
export interface Mark {
  t: number;
  kind: 'bad' | 'good' | 'info';
  text: string;
}

const diff = (a: number, b: number) => Math.max(0, a - b);

function diffCounts(cur: Record<string, number>, prev: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(cur)) out[k] = diff(v, prev[k] ?? 0);
  return out;
}

/** What changed between two samples of one replica, per second; undefined when it restarted in between. */
export function sampleRates(prev: TimedSample, cur: TimedSample) {
  const seconds = (cur.at - prev.at) / 1000;
  if (seconds <= 0 || cur.requests < prev.requests) return undefined;
  const perSecond = (r: Record<string, number>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v / seconds])) as Record<string, number>;
  return {
    rps: (cur.requests - prev.requests) / seconds,
    outcomes: perSecond(diffCounts(cur.admissions, prev.admissions)),
    statuses: perSecond(diffCounts(cur.admissionStatuses, prev.admissionStatuses)),
    readBuckets: cur.readLatency.map((v, i) => diff(v, prev.readLatency[i] ?? 0)),
    admissionBuckets: cur.admissionLatency.map((v, i) => diff(v, prev.admissionLatency[i] ?? 0)),
  };
}
export type SampleRates = NonNullable<ReturnType<typeof sampleRates>>;

/** The dashboard's admission series from outcome and status rates (a 409 is split by its outcome). */
export function admissionSeries(rates: SampleRates[]): Record<AdmissionSeries, number> {
  const sum = (pick: (r: SampleRates) => number) => rates.reduce((n, r) => n + pick(r), 0);
  return {
    '202': sum((r) => r.statuses['202'] ?? 0),
    '409 sold out': sum((r) => r.outcomes.sold_out ?? 0),
    '409 limit': sum((r) => r.outcomes.limit_exceeded ?? 0),
    '429': sum((r) => r.statuses['429'] ?? 0),
    '503': sum((r) => r.statuses['503'] ?? 0),
  };
}

/** Adds cumulative-bucket deltas of several replicas, bucket by bucket. */
export function sumBuckets(all: number[][]): number[] {
  const out = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  for (const b of all) for (let i = 0; i < out.length; i += 1) out[i] = (out[i] ?? 0) + (b[i] ?? 0);
  return out;
}

/**
 * A quantile in ms from cumulative histogram buckets (Prometheus' histogram_quantile: linear
 * within the bucket it falls in). Null without observations; the top bound when it falls
 * in +Inf.
 */
export function quantileMs(cumulative: number[], q: number): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < LATENCY_BUCKETS.length; i += 1) {
    const count = cumulative[i] ?? 0;
    if (count >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS[i - 1] ?? 0);
      const below = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
      const upper = LATENCY_BUCKETS[i] ?? 0;
      const within = count - below > 0 ? (rank - below) / (count - below) : 1;
      return (lower + (upper - lower) * within) * 1000;
    }
  }
  return (LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1] ?? 0) * 1000;
}

const SALE_TEXT: Record<EventFigures['sale'], string> = {
  open: 'sale opened',
  closed: 'sale closed',
  not_open: 'sale not open yet',
  unknown: 'sale state unknown',
};

/** The timeline: what the health figures of `next` say changed since `prev`. */
export function detectMarks(prev: Frame | undefined, next: Frame): Mark[] {
  if (!prev) return [];
  const marks: Mark[] = [];
  const mark = (kind: Mark['kind'], text: string) => marks.push({ t: next.t, kind, text });
  if (prev.workerUp !== next.workerUp)
    mark(next.workerUp ? 'good' : 'bad', next.workerUp ? 'worker started' : 'worker stopped');
  // The other replicas are heard through Redis: without it their silence says nothing about them.
  if (prev.health.redis && next.health.redis) {
    for (const name of Object.keys(prev.replicas)) if (!(name in next.replicas)) mark('bad', `${name} gone`);
    for (const name of Object.keys(next.replicas)) if (!(name in prev.replicas)) mark('good', `${name} back`);
  }
  const deps = [
    ['redis', 'Redis'],
    ['postgres', 'Postgres'],
    ['broker', 'broker'],
  ] as const;
  for (const [key, label] of deps)
    if (prev.health[key] !== next.health[key])
      mark(next.health[key] ? 'good' : 'bad', `${label} ${next.health[key] ? 'back' : 'down'}`);
  for (const [eventId, figures] of Object.entries(next.events)) {
    const before = prev.events[eventId]?.sale;
    if (before && before !== 'unknown' && figures.sale !== 'unknown' && before !== figures.sale)
      mark('info', SALE_TEXT[figures.sale]);
  }
  return marks;
}
