import { decisionsOfLine } from '@stampede/core/decision-log';
import { field, type LogEntry, numberField } from './log-entry.js';

export interface PurchaseSummary {
  /** 202s: the API's `purchase.accepted` lines. */
  accepted: number;
  republished: number;
  /** Broker did not confirm: answered 503, nothing held. */
  publishFailed: number;
  /** Decided by the worker (or in the request, in sync mode); redeliveries not counted again. */
  confirmed: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  /** Redeliveries the worker answered from the existing row. */
  duplicates: number;
  deadLettered: number;
  deadLetteredByReason: Record<string, number>;
  /**
   * Where confirmed/rejected came from: each purchase's decision (a batch line's
   * `decisions`, or a `purchase.decided` line), or only the totals of batch lines that
   * name no purchases (a worker from before `decisions`).
   */
  decidedFrom: 'decisions' | 'batch-totals' | 'none';
}

/** One second of the purchase flow, for the over-time chart. */
export interface SecondCounts {
  accepted: number;
  /** Decisions made (confirmed + rejected, redeliveries excluded) plus dead-letters. */
  settled: number;
  /** Messages the worker got through (batch sizes, or decision lines), for the drain rate. */
  processed: number;
  requests: number;
  /** The worker's own view of the queue, when a line says it (`queueDepth`). */
  queueDepth?: number;
}

const inc = (o: Record<string, number>, k: string, by = 1) => {
  o[k] = (o[k] ?? 0) + by;
};

/**
 * Counts the purchase story: accepted (API), decided and why (worker), dead-lettered,
 * and per second what the chart needs. Decisions come from the `decisions` of the
 * worker's lines (`batch.committed`, `gate.holds_settled`) and from `purchase.decided`
 * lines (sync mode; older workers) when there are any, else from `batch.committed`
 * counts (which carry no reasons).
 */
export class PurchaseCounters {
  private readonly fromLines = {
    confirmed: 0,
    rejected: 0,
    duplicates: 0,
    byReason: {} as Record<string, number>,
    seen: false,
  };
  private readonly fromBatches = { confirmed: 0, rejected: 0, duplicates: 0, seen: false };
  private accepted = 0;
  private republished = 0;
  private publishFailed = 0;
  private deadLettered = 0;
  private readonly deadByReason: Record<string, number> = {};
  /** Per second: [lines-based, batch-based] processed counts, resolved at the end like the totals. */
  readonly seconds = new Map<number, SecondCounts & { processedByLines: number; settledByBatches: number }>();

  private second(time: number) {
    const s = Math.floor(time / 1000);
    let c = this.seconds.get(s);
    if (!c)
      this.seconds.set(
        s,
        (c = { accepted: 0, settled: 0, processed: 0, requests: 0, processedByLines: 0, settledByBatches: 0 }),
      );
    return c;
  }

  add(e: LogEntry): void {
    if (e.event === 'http.access') this.second(e.time).requests += 1;
    const depth = numberField(e, 'queueDepth');
    if (depth !== undefined && e.component === 'worker') this.second(e.time).queueDepth = depth;
    switch (e.event) {
      case 'purchase.accepted':
        this.accepted += 1;
        this.second(e.time).accepted += 1;
        break;
      case 'purchase.republished':
        this.republished += 1;
        break;
      case 'purchase.publish_failed':
        this.publishFailed += 1;
        break;
      case 'purchase.dead_lettered': {
        this.deadLettered += 1;
        inc(this.deadByReason, field(e, 'reason') ?? 'unknown');
        const s = this.second(e.time);
        s.settled += 1;
        s.settledByBatches += 1;
        break;
      }
      case 'purchase.decided':
        this.decided(e.time, {
          status: field(e, 'status'),
          reason: field(e, 'reason'),
          duplicate: e.json?.duplicate === true,
        });
        break;
      case 'batch.committed': {
        const b = this.fromBatches;
        b.seen = true;
        b.confirmed += numberField(e, 'confirmed') ?? 0;
        b.rejected += numberField(e, 'rejected') ?? 0;
        b.duplicates += numberField(e, 'duplicates') ?? 0;
        const s = this.second(e.time);
        s.processed += numberField(e, 'size') ?? 0;
        s.settledByBatches += (numberField(e, 'confirmed') ?? 0) + (numberField(e, 'rejected') ?? 0);
        break;
      }
      default:
    }
    if (e.component === 'worker') for (const d of decisionsOfLine(e.json)) this.decided(e.time, d);
  }

  private decided(time: number, d: { status?: string; reason?: string; duplicate: boolean }): void {
    const l = this.fromLines;
    l.seen = true;
    const s = this.second(time);
    s.processedByLines += 1;
    if (d.duplicate) {
      l.duplicates += 1;
      return;
    }
    s.settled += 1;
    if (d.status === 'confirmed') l.confirmed += 1;
    else {
      l.rejected += 1;
      inc(l.byReason, d.reason ?? 'unknown');
    }
  }

  /** The totals, and the per-second counts resolved to one source (lines over batches). */
  result(): { purchases: PurchaseSummary; seconds: Map<number, SecondCounts> } {
    const lines = this.fromLines.seen;
    const batches = !lines && this.fromBatches.seen;
    const seconds = new Map<number, SecondCounts>();
    for (const [t, c] of this.seconds) {
      const { processedByLines, settledByBatches, ...rest } = c;
      // Batch sizes are the drain rate when there are batch lines; a decision line per purchase otherwise.
      const processed = this.fromBatches.seen ? c.processed : processedByLines;
      seconds.set(t, { ...rest, processed, settled: batches ? settledByBatches : c.settled });
    }
    const src = lines ? this.fromLines : this.fromBatches;
    return {
      seconds,
      purchases: {
        accepted: this.accepted,
        republished: this.republished,
        publishFailed: this.publishFailed,
        confirmed: src.confirmed,
        rejected: src.rejected,
        rejectedByReason: lines ? this.fromLines.byReason : {},
        duplicates: src.duplicates,
        deadLettered: this.deadLettered,
        deadLetteredByReason: this.deadByReason,
        decidedFrom: lines ? 'decisions' : batches ? 'batch-totals' : 'none',
      },
    };
  }
}
