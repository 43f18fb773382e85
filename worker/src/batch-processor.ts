import type { BackplanePublisher } from '@stampede/core/backplane';
import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { isTransientDbError } from '@stampede/core/errors';
import { createGate } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import type { WorkerMetrics } from '@stampede/core/metrics';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { type DecidedPurchase, type Decision, decidePurchases, type Payment } from '@stampede/core/purchases';
import type { Redis, RedisKeys } from '@stampede/core/redis';
import { settleAfterCommit } from './after-commit.js';
import { backoffMs, sleep } from './backoff.js';
import { withDeadline } from './deadline.js';
import { logDecisions } from './decision-lines.js';
import type { DeadLetterReason } from './delivery.js';

/** What becomes of one delivery once its batch has run. */
export type Outcome =
  /** Decided and committed (or decided before): ack once `settled` (gate and readers told) resolves. */
  | { kind: 'ack'; settled: Promise<void> }
  /** Can never be decided: to the dead-letter queue now. */
  | { kind: 'dead-letter'; reason: DeadLetterReason; detail: string }
  /** Failed in an unexpected way: requeue, or dead-letter once the attempts are spent. */
  | { kind: 'failed'; error: unknown }
  /** Shutting down before it could be decided: give it back to the queue. */
  | { kind: 'release' };

export interface BatchProcessorDeps {
  config: Pick<
    Config,
    | 'BUYER_LIMIT_PER_EVENT'
    | 'WORKER_DECIDE_TIMEOUT_MS'
    | 'WORKER_RETRY_BASE_MS'
    | 'WORKER_RETRY_MAX_MS'
    | 'GATE_RECORD_TTL_S'
    | 'GATE_STOCK_IDLE_TTL_S'
    | 'CACHE_STALE_TTL_MS'
  >;
  log: Logger;
  sql: Sql;
  redis: Redis;
  keys: RedisKeys;
  payment?: Payment;
  /** Aborted at shutdown: a batch waiting for Postgres gives its messages back instead. */
  stopping: AbortSignal;
  metrics?: WorkerMetrics;
  /** Where replicas hear of each committed batch (decisions, availability changed, tiers sold out). */
  backplane?: BackplanePublisher;
}

class Stopped extends Error {}

export interface BatchProcessor {
  /** Decides a batch; resolves at commit, each `ack` outcome carrying its after-commit work. */
  process(messages: PurchaseMessage[]): Promise<Outcome[]>;
  /** Resolves when every committed batch has settled the gate (reconciliation must not run before). */
  settled(): Promise<void>;
}

/** A committed batch's decisions counted once, for its metrics and its line. */
interface Tally {
  decided: DecidedPurchase[];
  /** Per (outcome, reason), outcome `duplicate` or the status of a new decision. */
  byOutcome: Map<string, { outcome: string; reason: string; n: number }>;
  confirmed: number;
  rejected: number;
  duplicates: number;
}

function tally(decisions: Decision[]): Tally {
  const t: Tally = { decided: [], byOutcome: new Map(), confirmed: 0, rejected: 0, duplicates: 0 };
  for (const d of decisions) {
    if (d.kind !== 'decided') continue;
    t.decided.push(d);
    if (d.duplicate) t.duplicates += 1;
    else if (d.status === 'confirmed') t.confirmed += 1;
    else t.rejected += 1;
    const outcome = d.duplicate ? 'duplicate' : d.status;
    const reason = (!d.duplicate && d.reason) || '';
    const key = `${outcome}|${reason}`;
    const c = t.byOutcome.get(key) ?? { outcome, reason, n: 0 };
    c.n += 1;
    t.byOutcome.set(key, c);
  }
  return t;
}

/** Counted at commit, one labelled inc per (outcome, reason) (poison is counted when it is dead-lettered, by the consumer). */
function countCommitted(metrics: WorkerMetrics | undefined, size: number, t: Tally, decideMs: number): void {
  if (!metrics) return;
  metrics.batchSize.observe(size);
  metrics.batchDuration.observe(decideMs / 1000);
  for (const { outcome, reason, n } of t.byOutcome.values()) metrics.processed.inc({ outcome, reason }, n);
}

/**
 * Runs one batch: decides it (retrying forever while Postgres is away — a purchase is
 * never dead-lettered because the database was down), then, after commit, tells the gate
 * and the readers. That after-commit work overlaps the next batch's decision (it touches
 * only Redis), which is what lets the drain rate follow Postgres. A batch that fails
 * otherwise is split so only the culprit is retried.
 */
export function createBatchProcessor(deps: BatchProcessorDeps): BatchProcessor {
  const { config, log } = deps;
  const afterCommitDeps = { ...deps, gate: createGate(deps.redis, deps.keys, config.GATE_STOCK_IDLE_TTL_S) };
  const afterCommits = new Set<Promise<void>>();

  async function decideWithRetry(messages: PurchaseMessage[]): Promise<Decision[]> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const deciding = decidePurchases(deps.sql, messages, {
          buyerLimit: config.BUYER_LIMIT_PER_EVENT,
          payment: deps.payment,
        });
        return await withDeadline(deciding, config.WORKER_DECIDE_TIMEOUT_MS, 'batch decision');
      } catch (err) {
        if (!isTransientDbError(err)) throw err;
        if (deps.stopping.aborted) throw new Stopped();
        const delayMs = backoffMs(attempt, config.WORKER_RETRY_BASE_MS, config.WORKER_RETRY_MAX_MS);
        deps.metrics?.retries.inc();
        log.warn(
          {
            event: 'batch.retrying',
            size: messages.length,
            attempt: attempt + 1,
            delayMs,
            code: (err as { code?: string }).code,
            err: (err as Error).message,
          },
          'postgres unavailable, batch kept unacked and retried',
        );
        await sleep(delayMs, deps.stopping);
      }
    }
  }

  /** The batch's line: its counts, and each purchase's decision for a reader to grep (decision-lines.ts). */
  function logCommitted(size: number, t: Tally, decideMs: number, started: number): void {
    const fields = {
      event: 'batch.committed',
      size,
      confirmed: t.confirmed,
      rejected: t.rejected,
      duplicates: t.duplicates,
      poison: size - t.decided.length,
      decideMs,
      ms: Math.round(performance.now() - started),
    };
    logDecisions(log, fields, 'batch committed', t.decided);
  }

  async function processBatch(messages: PurchaseMessage[]): Promise<Outcome[]> {
    const started = performance.now();
    let decisions: Decision[];
    try {
      decisions = await decideWithRetry(messages);
    } catch (err) {
      if (err instanceof Stopped) return messages.map(() => ({ kind: 'release' }));
      if (messages.length === 1) return [{ kind: 'failed', error: err }];
      log.warn(
        { event: 'batch.split', size: messages.length, err: (err as Error).message },
        'batch failed, deciding its messages one by one',
      );
      const outcomes: Outcome[] = [];
      for (const m of messages) outcomes.push(...(await processBatch([m])));
      return outcomes;
    }
    const decideMs = Math.round(performance.now() - started);
    const counted = tally(decisions);
    countCommitted(deps.metrics, decisions.length, counted, decideMs);
    const settled: Promise<void> = settleAfterCommit(afterCommitDeps, decisions)
      .catch((err: unknown) =>
        log.error(
          { event: 'batch.after_commit_failed', err: (err as Error).message },
          'after-commit work failed; reconciliation repairs the gate',
        ),
      )
      // Whether or not the after-commit work succeeded: this line is the record of the decisions.
      // Before the ack, so an acked purchase has its line (a batch killed before it is redelivered).
      .then(() => logCommitted(decisions.length, counted, decideMs, started));
    afterCommits.add(settled);
    void settled.finally(() => afterCommits.delete(settled));
    return decisions.map(
      (d): Outcome =>
        d.kind === 'poison' ? { kind: 'dead-letter', reason: d.reason, detail: d.detail } : { kind: 'ack', settled },
    );
  }

  return {
    process: processBatch,
    settled: async () => {
      await Promise.all(afterCommits);
    },
  };
}
