import type { BackplaneMessageOf, BackplanePublisher } from '@stampede/core/backplane';
import { type CachedAvailability, cachedNow, writeCachedAvailability } from '@stampede/core/cache';
import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { queryAvailability } from '@stampede/core/events';
import type { Gate } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import type { DecidedPurchase, Decision } from '@stampede/core/purchases';
import type { Redis, RedisKeys } from '@stampede/core/redis';
import { announceDecisions } from './announce-decisions.js';

export interface AfterCommitDeps {
  config: Pick<Config, 'GATE_RECORD_TTL_S' | 'CACHE_STALE_TTL_MS'>;
  log: Logger;
  sql: Sql;
  gate: Gate;
  /** The availability cache's client and keys. */
  redis: Redis;
  keys: RedisKeys;
  /** Where replicas hear of the batch (decisions, availability, sold-out tiers); nothing is announced without it. */
  backplane?: BackplanePublisher;
}

/**
 * What follows a commit, so a buyer polling sees the outcome at once: the gate is
 * settled in one script call per few hundred purchases (hold released, a rejection's
 * tickets given back, final status written), and the availability cache of each touched
 * event refreshed and announced on the backplane. The caller logs the decisions (one line
 * for them all, decision-lines.ts).
 * Nothing here can undo the decision: Redis being down is logged, never fatal, and the
 * gate is made honest again by reconciliation.
 */
export async function settleAfterCommit(deps: AfterCommitDeps, decisions: Decision[]): Promise<void> {
  const { log, gate, redis, keys, sql, config } = deps;
  const decided = decisions.filter((d): d is DecidedPurchase => d.kind === 'decided');

  if (!gate.isReady()) {
    log.warn({ event: 'gate.settle_skipped', count: decided.length }, 'redis unavailable, gate left to reconciliation');
    return;
  }
  try {
    // One script call per few hundred purchases, not one round trip each.
    await gate.settleMany(
      decided.map((d) => ({
        message: d.message,
        settlement: { status: d.status, reason: d.reason, decidedAt: d.decidedAt },
      })),
      config.GATE_RECORD_TTL_S,
    );
  } catch (err) {
    log.warn(
      { event: 'gate.settle_failed', count: decided.length, err: String(err) },
      'gate not settled, left to reconciliation',
    );
  }
  // After the settle, so a stream that reads the stored state on hearing this sees the decision.
  await announceDecisions(deps.backplane, decided);

  const changed: AvailabilityChange[] = [];
  for (const eventId of new Set(decided.map((d) => d.message.eventId))) {
    let entry: CachedAvailability | undefined;
    try {
      const availability = await queryAvailability(sql, eventId);
      if (availability) {
        entry = cachedNow(availability);
        await writeCachedAvailability(redis, keys, entry, config.CACHE_STALE_TTL_MS);
      }
    } catch (err) {
      log.warn(
        { event: 'availability.refresh_failed', eventId, err: (err as Error).message },
        'availability cache not refreshed',
      );
    }
    changed.push({ eventId, ...(entry ? { entry } : {}) });
  }
  if (deps.backplane) await announce(deps.backplane, decided, changed);
}

type AvailabilityChange = BackplaneMessageOf<'availability_changed'>['events'][number];

/**
 * Tells every replica what the batch changed: one `availability_changed` message for the
 * batch (the figures read after the commit, or none when they could not be read: the
 * receivers then drop what they hold), and one `sold_out` per tier this batch emptied.
 * Lost messages cost only freshness: receivers fall back to their TTLs.
 */
async function announce(backplane: BackplanePublisher, decided: DecidedPurchase[], changed: AvailabilityChange[]) {
  const confirmedTiers = new Set(
    decided.filter((d) => d.status === 'confirmed' && !d.duplicate).map((d) => d.message.tierId),
  );
  const sends: Promise<boolean>[] = [];
  for (let i = 0; i < changed.length; i += MAX_EVENTS_PER_MESSAGE)
    sends.push(
      backplane.publish({ kind: 'availability_changed', events: changed.slice(i, i + MAX_EVENTS_PER_MESSAGE) }),
    );
  for (const { eventId, entry } of changed)
    for (const tier of entry?.value.tiers ?? [])
      if (tier.remaining <= 0 && confirmedTiers.has(tier.tierId))
        sends.push(backplane.publish({ kind: 'sold_out', tierId: tier.tierId, eventId }));
  await Promise.all(sends);
}

/** What one availability_changed message may carry (its schema's bound). */
const MAX_EVENTS_PER_MESSAGE = 1_000;
