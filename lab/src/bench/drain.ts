import type { Sql } from '@stampede/core/db';
import { type BrokerSource, openBrokerProbe } from '../reconcile/broker-facts.js';
import { scrapeReplicas, totalOf } from './replica-metrics.js';

/** How fast the worker decided a backlog it found waiting. */
export interface DrainResult {
  /** Messages waiting in the queue when the worker started: the backlog. */
  backlog: number;
  /** 202s the load generator received for them; a few fewer than the backlog when requests were still in flight as the load stopped. */
  acceptedAnswers: number;
  /** Rows in Postgres when the wait ended. */
  decided: number;
  /** From the first decision to the last row in Postgres (Postgres clock), seconds. */
  decideSeconds: number;
  /** From "start the worker" to the last row, boot included, seconds. */
  wallSeconds: number;
  /** Purchases decided per second: decided ÷ decideSeconds. */
  rate: number;
  complete: boolean;
  /** Cores per process group while the worker drained (set by the caller). */
  cpu?: Record<string, number>;
  /** From the worker's own metrics: batches committed, their mean size and mean decide-and-commit time. */
  batches?: { count: number; meanSize: number; meanMs: number };
}

/** The worker's batch histograms since it started (it was started for the drain, so they hold only the drain). */
export async function workerBatches(workerPort: number): Promise<DrainResult['batches']> {
  const snapshot = await scrapeReplicas([workerPort]);
  const size = totalOf(snapshot, ['stampede_batch_size']);
  const time = totalOf(snapshot, ['stampede_batch_duration_seconds']);
  if (size.count === 0) return undefined;
  return {
    count: size.count,
    meanSize: Math.round(size.sum / size.count),
    meanMs: Math.round((time.sum / Math.max(1, time.count)) * 10_000) / 10,
  };
}

/** Reads the drain's progress from a purchases table (Stampede's, or the reference's of the same shape). */
export interface PurchaseRows {
  /** Rows of an event decided since `since` (epoch seconds), and Postgres' clock at the reading. */
  count(eventId: string, since: number): Promise<{ n: number; now: number }>;
  /** When the first of those rows was decided (a batch's transaction start), epoch seconds. */
  firstDecidedAt(eventId: string, since: number): Promise<number | undefined>;
  /** Postgres' clock, epoch seconds. */
  now(): Promise<number>;
}

export function purchaseRows(sql: Sql, table = 'purchases'): PurchaseRows {
  return {
    async count(eventId, since) {
      const [row] = await sql<{ n: number; now: number }[]>`
        select count(*)::int as n, extract(epoch from clock_timestamp())::float8 as now
        from ${sql(table)} where event_id = ${eventId} and decided_at >= to_timestamp(${since})`;
      return row!;
    },
    async firstDecidedAt(eventId, since) {
      const [row] = await sql<{ t: number | null }[]>`
        select extract(epoch from min(decided_at))::float8 as t
        from ${sql(table)} where event_id = ${eventId} and decided_at >= to_timestamp(${since})`;
      return row?.t ?? undefined;
    },
    async now() {
      const [row] = await sql<{ now: number }[]>`select extract(epoch from clock_timestamp())::float8 as now`;
      return row!.now;
    },
  };
}

/**
 * The drain: the consumer is stopped and purchases of `eventId` wait in the queue
 * (`acceptedAnswers` of them were answered 202 since the last drain). Starts the consumer
 * (the worker, or the reference drain) and polls until the queue is empty and every queued
 * purchase has its row; only rows decided after the start count, so an event can be
 * drained in several rounds. The rate is timed on Postgres' clock from the first decision (`min(decided_at)`, a
 * batch's transaction start) to the poll that saw the last row, so the consumer's boot
 * does not count; the wall time including boot is reported beside it.
 */
export async function measureDrain(
  deps: { rows: PurchaseRows; broker: BrokerSource; start: () => Promise<void> },
  eventId: string,
  acceptedAnswers: number,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<DrainResult> {
  const probe = await openBrokerProbe(deps.broker);
  try {
    // Requests in flight when the load stopped are published a moment later.
    await new Promise((r) => setTimeout(r, 500));
    const backlog = (await probe.depths()).queued;
    const target = Math.max(backlog, acceptedAnswers);
    const since = await deps.rows.now();
    const started = performance.now();
    await deps.start();
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    let decided = 0;
    let endAt = 0;
    for (;;) {
      const row = await deps.rows.count(eventId, since);
      decided = row.n;
      endAt = row.now;
      if (decided >= target && (await probe.depths()).queued === 0) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const first = await deps.rows.firstDecidedAt(eventId, since);
    const decideSeconds = first ? Math.max(0.001, endAt - first) : wallSeconds;
    return {
      backlog,
      acceptedAnswers,
      decided,
      decideSeconds: round(decideSeconds),
      wallSeconds: round(wallSeconds),
      rate: Math.round(decided / decideSeconds),
      complete: decided >= target,
    };
  } finally {
    await probe.close();
  }
}

const round = (s: number) => Math.round(s * 1000) / 1000;
