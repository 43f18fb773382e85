import type { Sql } from '@stampede/core/db';
import { availableForGate, lockAvailableByTier } from '@stampede/core/events';
import { createGate } from '@stampede/core/gate';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import type { Logger } from '@stampede/core/logger';
import type { DecidedPurchase } from '@stampede/core/purchases';
import type { Redis, RedisKeys } from '@stampede/core/redis';
import { withDeadline } from './deadline.js';
import type { Republish } from './republish.js';
import { resolveStaleHolds } from './stale-holds.js';

export interface GateReconcilerDeps {
  log: Logger;
  sql: Sql;
  /** The gate's client and keys. */
  redis: Redis;
  keys: RedisKeys;
  /** The lifetime of a stock count with nothing held (GATE_STOCK_IDLE_TTL_S). */
  stockIdleTtlS: number;
  intervalMs: number;
  /** A hold older than this, with the queue idle, is stale: no message is left to settle it. */
  holdGraceMs: number;
  /** Publishes the messages of stale holds again. */
  republish: Republish;
  /** The after-commit work of decisions made here (settled from Postgres, or rejected). */
  settle: (decisions: DecidedPurchase[]) => Promise<void>;
  /** Deliveries of this worker waiting for a batch. */
  waiting: () => number;
  /** Ready messages in the purchase queue; throws when the broker cannot say. */
  queueDepth: () => Promise<number>;
  /** Runs the reconciliation with no batch in flight. */
  exclusive: <X>(fn: () => Promise<X>) => Promise<X>;
}

export interface GateReconciler extends Closeable {
  runOnce(): Promise<boolean>;
}

/** A reconciliation that takes longer is abandoned (and retried at the next interval). */
const RECONCILE_DEADLINE_MS = 20_000;

/**
 * Keeps the gate honest (no undersell) and every 202 decided: when the queue is drained
 * and nothing is in flight, the holds older than the grace are resolved (stale-holds.ts),
 * then every tier the gate knows gets stock := capacity − sold − held (per bucket for a
 * split tier: gate-scripts.ts, RECONCILE). Logs
 * `gate.reconciled` only when something changed.
 *
 * Safe beside other workers: the pass holds the tier rows locked (the lock every batch
 * takes to decide) from its read of `sold` until the gate is set, so no other worker's
 * batch commits in between; decided holds are settled first, so one committed but not yet
 * settled is not counted as both sold and held (docs/architecture.md, "More than one worker").
 */
export function startGateReconciler(deps: GateReconcilerDeps): GateReconciler {
  const { log } = deps;
  const gate = createGate(deps.redis, deps.keys, deps.stockIdleTtlS);
  let current: Promise<boolean> | undefined;

  async function reconcileAll(): Promise<boolean> {
    if (deps.waiting() > 0 || !gate.isReady()) return false;
    // Exclusive: a batch committing between our read of `sold` and the script would be counted
    // wrong. This worker's batches wait here; other workers' wait on the tier locks below. Bounded inside the exclusive section: a run stuck on a hung Postgres query would
    // otherwise hold the lock and stop every batch behind it.
    return deps.exclusive(() => withDeadline(reconcileUnderLock(), RECONCILE_DEADLINE_MS, 'gate reconciliation'));
  }

  async function reconcileUnderLock(): Promise<boolean> {
    if (deps.waiting() > 0 || (await deps.queueDepth()) > 0) return false;
    // From the gate's registry: a scan of the keyspace every few seconds cost Redis a tenth
    // of a core once a sale had left a few hundred thousand purchase records behind.
    const tierIds = await gate.tiers();
    if (tierIds.length === 0) return true;
    const available = await availableForGate(deps.sql, tierIds);
    // Tiers deleted from Postgres (their event was removed) leave the gate; a tier whose
    // counts expired with nothing held leaves the registry inside reconcileTier.
    await gate.forgetTiers(tierIds.filter((id) => !available.has(id)));
    if (available.size === 0) return true;
    return deps.sql.begin(async (tx) => {
      // A pass stuck here (Redis hung) must not keep the tiers locked from every batch.
      await tx.unsafe(`set local idle_in_transaction_session_timeout = ${RECONCILE_DEADLINE_MS}`);
      await correctTiers(await lockAvailableByTier(tx, [...available.keys()]));
      return true;
    });
  }

  /** Under the tier locks: the holds resolved, then each tier's stock (each bucket's, when split) set to what is left. */
  async function correctTiers(available: Map<string, number[]>): Promise<void> {
    // Neither settling, rejecting nor publishing again changes `sold`: `available` stays true.
    const release = await resolveStaleHolds(
      { log, sql: deps.sql, gate, graceMs: deps.holdGraceMs, republish: deps.republish, settle: deps.settle },
      [...available.keys()],
    ).catch((err: unknown) => {
      log.warn({ event: 'gate.stale_holds_failed', err: (err as Error).message }, 'stale holds left for the next pass');
      return new Map<string, string[]>();
    });
    for (const [tierId, left] of available) {
      const r = await gate.reconcileTier(tierId, left, release.get(tierId));
      if (r.deferred > 0)
        log.info(
          { event: 'gate.reconcile_deferred', tierId, buckets: r.deferred },
          'buckets that changed while read are left for the next pass',
        );
      if (r.changed || r.released > 0) {
        log.info(
          {
            event: 'gate.reconciled',
            tierId,
            available: left.reduce((n, b) => n + b, 0),
            ...(left.length > 1 ? { buckets: left } : {}),
            previous: r.previous,
            stock: r.stock,
            released: r.released,
          },
          'gate stock corrected to what Postgres has left',
        );
      }
    }
  }

  const runOnce = (): Promise<boolean> => {
    current ??= reconcileAll()
      .catch((err: unknown) => {
        log.warn({ event: 'gate.reconcile_failed', err: (err as Error).message }, 'gate reconciliation skipped');
        return false;
      })
      .finally(() => {
        current = undefined;
      });
    return current;
  };

  const timer = setInterval(() => void runOnce(), deps.intervalMs);
  timer.unref();
  return {
    runOnce,
    /** No more passes; resolves when the one under way, if any, has ended. */
    close: closeOnce(async () => {
      clearInterval(timer);
      await current;
    }),
  };
}
