import type { Sql } from '@stampede/core/db';
import { availableByTier } from '@stampede/core/events';
import { createGate } from '@stampede/core/gate';
import { type Closeable, closeOnce } from '@stampede/core/lifecycle';
import type { Logger } from '@stampede/core/logger';
import type { Redis, RedisKeys } from '@stampede/core/redis';
import { withDeadline } from './deadline.js';

/** A hold older than this is an orphan: its purchase never reached the queue (crash between gate and publish). */
export const ORPHAN_AGE_MS = 30_000;

export interface GateReconcilerDeps {
  log: Logger;
  sql: Sql;
  /** The gate's client and keys. */
  redis: Redis;
  keys: RedisKeys;
  /** The lifetime of a stock count with nothing held (GATE_STOCK_IDLE_TTL_S). */
  stockIdleTtlS: number;
  intervalMs: number;
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
 * Keeps the gate honest (no undersell): when the queue is drained and nothing is in
 * flight, every tier the gate knows gets stock := capacity − sold − held, and holds older
 * than ORPHAN_AGE_MS are released. Logs `gate.reconciled` only when something changed.
 */
export function startGateReconciler(deps: GateReconcilerDeps): GateReconciler {
  const { log } = deps;
  const gate = createGate(deps.redis, deps.keys, deps.stockIdleTtlS);
  let current: Promise<boolean> | undefined;
  // The first pass also scans the keyspace, once, for stock counts primed before the gate's
  // tier set existed; later passes read the set. A scan every few seconds cost Redis a
  // tenth of a core once a sale had left a few hundred thousand purchase records behind.
  let scanned = false;

  async function reconcileAll(): Promise<boolean> {
    if (deps.waiting() > 0 || !gate.isReady()) return false;
    // Exclusive: a batch committing between our read of `sold` and the script would be counted wrong.
    // Bounded inside the exclusive section: a run stuck on a hung Postgres query would
    // otherwise hold the lock and stop every batch behind it.
    return deps.exclusive(() => withDeadline(reconcileUnderLock(), RECONCILE_DEADLINE_MS, 'gate reconciliation'));
  }

  async function reconcileUnderLock(): Promise<boolean> {
    if (deps.waiting() > 0 || (await deps.queueDepth()) > 0) return false;
    const tierIds = await gate.tiers({ scan: !scanned });
    scanned = true;
    if (tierIds.length === 0) return true;
    const available = await availableByTier(deps.sql, tierIds);
    // Tiers deleted from Postgres (their event was removed) leave the gate; a count that
    // expired with nothing held leaves the set inside reconcileTier.
    await gate.forgetTiers(tierIds.filter((id) => !available.has(id)));
    for (const [tierId, left] of available) {
      const r = await gate.reconcileTier(tierId, left, ORPHAN_AGE_MS);
      if (r.previous !== r.stock || r.orphansReleased > 0) {
        log.info(
          {
            event: 'gate.reconciled',
            tierId,
            available: left,
            previous: r.previous,
            stock: r.stock,
            orphansReleased: r.orphansReleased,
          },
          'gate stock corrected to what Postgres has left',
        );
      }
    }
    return true;
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
