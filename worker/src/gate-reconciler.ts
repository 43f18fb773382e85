import type { Sql } from '@stampede/core/db';
import { reconcileTier } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import { type Redis, type RedisKeys, redisIsReady, scanKeys } from '@stampede/core/redis';
import { withDeadline } from './deadline.js';

/** A hold older than this is an orphan: its purchase never reached the queue (crash between gate and publish). */
export const ORPHAN_AGE_MS = 30_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface GateReconcilerDeps {
  log: Logger;
  sql: Sql;
  redis: Redis;
  keys: RedisKeys;
  redisKeyPrefix: string;
  intervalMs: number;
  /** Deliveries of this worker waiting for a batch. */
  waiting: () => number;
  /** Ready messages in the purchase queue; throws when the broker cannot say. */
  queueDepth: () => Promise<number>;
  /** Runs the reconciliation with no batch in flight. */
  exclusive: <X>(fn: () => Promise<X>) => Promise<X>;
}

/** A reconciliation that takes longer is abandoned (and retried at the next interval). */
const RECONCILE_DEADLINE_MS = 20_000;

/**
 * Keeps the gate honest (no undersell): when the queue is drained and nothing is in
 * flight, every tier the gate knows gets stock := capacity − sold − held, and holds older
 * than ORPHAN_AGE_MS are released. Logs `gate.reconciled` only when something changed.
 */
export function startGateReconciler(deps: GateReconcilerDeps): { runOnce(): Promise<boolean>; stop(): Promise<void> } {
  const { log } = deps;
  let current: Promise<boolean> | undefined;
  let scanned = false;

  /**
   * The first pass scans the keyspace once, for stock counts primed before the tier set
   * existed (a lab upgraded in place), and registers them; later passes read the set.
   * A scan every few seconds cost Redis a tenth of a core once a sale had left a few
   * hundred thousand purchase records behind.
   */
  async function registerScannedTiers(): Promise<string[]> {
    const found = await scanGateTiers(deps.redis, deps.redisKeyPrefix);
    if (found.length > 0) await deps.redis.sadd(deps.keys.gateTiers(), ...found);
    return deps.redis.smembers(deps.keys.gateTiers());
  }

  async function reconcileAll(): Promise<boolean> {
    if (deps.waiting() > 0 || !redisIsReady(deps.redis)) return false;
    // Exclusive: a batch committing between our read of `sold` and the script would be counted wrong.
    // Bounded inside the exclusive section: a run stuck on a hung Postgres query would
    // otherwise hold the lock and stop every batch behind it.
    return deps.exclusive(() => withDeadline(reconcileUnderLock(), RECONCILE_DEADLINE_MS, 'gate reconciliation'));
  }

  async function reconcileUnderLock(): Promise<boolean> {
    if (deps.waiting() > 0 || (await deps.queueDepth()) > 0) return false;
    const tierIds = (scanned ? await deps.redis.smembers(deps.keys.gateTiers()) : await registerScannedTiers()).filter(
      (id) => UUID.test(id),
    );
    scanned = true;
    if (tierIds.length === 0) return true;
    const tiers = await deps.sql<{ id: string; available: number }[]>`
      select id, capacity - sold as available from tiers where id = any(${tierIds}::uuid[])`;
    // Tiers deleted from Postgres (their event was removed) leave the set.
    const gone = tierIds.filter((id) => !tiers.some((t) => t.id === id));
    if (gone.length > 0) await deps.redis.srem(deps.keys.gateTiers(), ...gone);
    for (const t of tiers) {
      const r = await reconcileTier(deps.redis, deps.keys, t.id, t.available, ORPHAN_AGE_MS);
      if (r.previous !== r.stock || r.orphansReleased > 0) {
        log.info(
          {
            event: 'gate.reconciled',
            tierId: t.id,
            available: t.available,
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
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}

/** The tiers the gate holds a stock count for, found by scanning for their stock keys. */
async function scanGateTiers(redis: Redis, prefix: string): Promise<string[]> {
  const stockPrefix = `${prefix}stock:`;
  const ids = new Set<string>();
  for await (const keys of scanKeys(redis, stockPrefix)) {
    for (const key of keys) {
      const id = key.slice(stockPrefix.length);
      if (UUID.test(id)) ids.add(id);
    }
  }
  return [...ids];
}
