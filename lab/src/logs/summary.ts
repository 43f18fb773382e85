import { field, LEVELS, type LogEntry, levelName, numberField } from './log-entry.js';
import { ReplicaNames } from './replica-names.js';
import { HttpCounters, type HttpSummary, normalizeRoute } from './summary-http.js';
import { PurchaseCounters, type PurchaseSummary, type SecondCounts } from './summary-purchases.js';

/** Cache results, from the replicas' /metrics (the API writes no log line per read). */
export interface CacheSummary {
  source: 'metrics' | 'unknown';
  counts?: Record<string, number>;
  hitRatio?: number;
  note: string;
}

export interface TimeBucket {
  start: string;
  accepted: number;
  /** Messages the worker got through per second in this bucket. */
  drainPerSecond: number;
  requestsPerSecond: number;
  /** accepted − settled, cumulative from the window's start (an estimate, see docs). */
  backlogEstimate: number;
  /** The worker's own last reading in this bucket, when its lines carry one. */
  queueDepth?: number;
}

export interface ErrorGroup {
  key: string;
  level: string;
  count: number;
  example: string;
}

export interface Summary {
  window: { from?: string; to?: string; seconds: number };
  lines: { read: number; inWindow: number; notJson: Record<string, number>; malformed: number };
  http: HttpSummary;
  cache: CacheSummary;
  purchases: PurchaseSummary;
  /** Accepted − decided − dead-lettered over the window: what should still be queued. */
  notYetDecided: number;
  timeline: { bucketSeconds: number; depthFrom: 'worker' | 'estimate'; buckets: TimeBucket[] };
  errors: ErrorGroup[];
}

/** Warnings and errors, grouped by what happened: the event and its code or reason. */
function errorKey(e: LogEntry): string {
  if (e.event === 'http.access')
    return `http ${numberField(e, 'status')} ${field(e, 'method') ?? ''} ${normalizeRoute(field(e, 'uri') ?? '')}`;
  const detail = field(e, 'code') ?? field(e, 'reason');
  return `${e.event ?? (e.json ? '(no event)' : e.source)}${detail ? ` ${detail}` : ''}`;
}

/** A bucket size giving at most `maxBuckets` columns: 1 s, 2 s, 5 s, 10 s, 30 s, 1 m, … */
export function bucketSecondsFor(spanSeconds: number, maxBuckets = 60): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400];
  return steps.find((s) => spanSeconds / s <= maxBuckets) ?? Math.ceil(spanSeconds / maxBuckets);
}

/**
 * Reads lines one at a time and keeps only counters: per-status and per-route counts,
 * log-bucket latency histograms, per-second purchase counts, error groups. Nothing grows
 * with the number of lines except the per-second map (one entry per second of the window).
 */
export class SummaryBuilder {
  readonly names = new ReplicaNames();
  private readonly http = new HttpCounters(this.names);
  private readonly purchases = new PurchaseCounters();
  private readonly errors = new Map<string, ErrorGroup>();
  private readonly notJson: Record<string, number> = {};
  private read = 0;
  private inWindow = 0;
  private malformed = 0;
  private first = Infinity;
  private last = -Infinity;

  constructor(private readonly window: { since?: number; until?: number } = {}) {}

  add(e: LogEntry): void {
    this.read += 1;
    if (this.window.since !== undefined && e.time < this.window.since) return;
    if (this.window.until !== undefined && e.time > this.window.until) return;
    this.inWindow += 1;
    if (e.malformed) this.malformed += 1;
    if (!e.json) {
      if (!e.malformed) this.notJson[e.source] = (this.notJson[e.source] ?? 0) + 1;
      this.addError(e);
      return;
    }
    if (e.time > 0) {
      this.first = Math.min(this.first, e.time);
      this.last = Math.max(this.last, e.time);
    }
    if (e.event === 'http.access') this.http.add(e);
    else this.names.observe(e);
    this.purchases.add(e);
    this.addError(e);
  }

  private addError(e: LogEntry): void {
    if (e.level < LEVELS.warn!) return;
    const key = errorKey(e);
    const group = this.errors.get(key);
    if (group) group.count += 1;
    else
      this.errors.set(key, {
        key,
        level: levelName(e.level),
        count: 1,
        example: typeof e.json?.msg === 'string' ? e.json.msg : e.raw.slice(0, 160),
      });
  }

  /** The report's data; `cache` comes from the caller (metrics), since logs cannot tell it. */
  result(
    cache: CacheSummary = {
      source: 'unknown',
      note: "the API writes no log line per read; pass --metrics to read the replicas' counters",
    },
  ): Summary {
    const { purchases, seconds } = this.purchases.result();
    const seen = this.first <= this.last;
    const from = seen ? this.first : 0;
    const span = seen ? Math.max(1, Math.ceil((this.last - this.first) / 1000)) : 0;
    return {
      window: {
        ...(seen ? { from: new Date(this.first).toISOString(), to: new Date(this.last).toISOString() } : {}),
        seconds: span,
      },
      lines: { read: this.read, inWindow: this.inWindow, notJson: this.notJson, malformed: this.malformed },
      http: this.http.result(),
      cache,
      purchases,
      notYetDecided: purchases.accepted - purchases.confirmed - purchases.rejected - purchases.deadLettered,
      timeline: timeline(seconds, from, span),
      errors: [...this.errors.values()].sort((a, b) => b.count - a.count),
    };
  }
}

function timeline(seconds: Map<number, SecondCounts>, fromMs: number, span: number): Summary['timeline'] {
  const bucketSeconds = bucketSecondsFor(span);
  const start = Math.floor(fromMs / 1000);
  const count = span === 0 ? 0 : Math.floor(span / bucketSeconds) + 1;
  const buckets: TimeBucket[] = [];
  let backlog = 0;
  let depthSeen = false;
  for (let b = 0; b < count; b += 1) {
    let accepted = 0;
    let processed = 0;
    let requests = 0;
    let depth: number | undefined;
    for (let s = start + b * bucketSeconds; s < start + (b + 1) * bucketSeconds; s += 1) {
      const c = seconds.get(s);
      if (!c) continue;
      accepted += c.accepted;
      processed += c.processed;
      requests += c.requests;
      backlog += c.accepted - c.settled;
      if (c.queueDepth !== undefined) depth = c.queueDepth;
    }
    depthSeen ||= depth !== undefined;
    buckets.push({
      start: new Date((start + b * bucketSeconds) * 1000).toISOString(),
      accepted,
      drainPerSecond: processed / bucketSeconds,
      requestsPerSecond: requests / bucketSeconds,
      backlogEstimate: backlog,
      ...(depth !== undefined ? { queueDepth: depth } : {}),
    });
  }
  return { bucketSeconds, depthFrom: depthSeen ? 'worker' : 'estimate', buckets };
}
