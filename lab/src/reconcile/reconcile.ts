import type { Sql } from '@stampede/core/db';
import { createGate } from '@stampede/core/gate';
import type { Redis, RedisKeys } from '@stampede/core/redis';
import { type BrokerProbe, type BrokerSource, openBrokerProbe } from './broker-facts.js';
import {
  countOutcomes,
  type Duplicates,
  findDuplicates,
  type Outcomes,
  rowsOf,
  scopeOutcomes,
} from './purchase-facts.js';
import { readTiers } from './tier-facts.js';
import { sumFigure, type TierFigures, tierFigures, type Verdict, verdictOf } from './tier-figures.js';
import { type DrainProgress, waitForDrain } from './wait-for-drain.js';

export interface ReconcileDeps {
  sql: Sql;
  /** Without it, or when it cannot be read, undersold is reported as not measured. */
  redis?: Redis;
  keys: RedisKeys;
  /** Without it, queued and dead-lettered are not measured and the drain is not awaited. */
  broker?: BrokerSource;
}

export interface ReconcileOptions {
  /** One event; every event when absent. */
  eventId?: string;
  /** Purchase ids a load run got 202 for; without them "lost" is not measured. */
  acceptedIds?: string[];
  /** How long to wait for the queue to drain and the accepted ids to be decided. Default 0. */
  waitForDrainMs?: number;
  pollIntervalMs?: number;
  onProgress?: (progress: DrainProgress) => void;
}

export type NotMeasurable = 'lost' | 'undersold' | 'queued' | 'deadLettered';

/** Every figure of one reconciliation. Counts of tickets, except lost/duplicated/accepted (purchases). */
export interface ReconcileReport extends Outcomes {
  eventId: string | null;
  oversold: number;
  soldMismatch: number;
  lost: number | null;
  duplicated: number;
  undersold: number | null;
  deadLettered: number | null;
  accepted: number | null;
  /** Whose outcomes confirmed/rejected count: the accepted ids when given, else the scope's rows. */
  outcomesOf: 'accepted ids' | 'event' | 'all events';
  queued: number | null;
  drained: boolean | null;
  waitedMs: number;
  gateOverOffer: number | null;
  duplicates: Duplicates;
  /** The first lost ids, to look up in the logs. */
  lostIds: string[];
  notMeasured: Partial<Record<NotMeasurable, string>>;
  tiers: TierFigures[];
  verdict: Verdict;
}

const LOST_SAMPLE = 20;

/**
 * Checks the invariants of the brief after a run: waits (up to waitForDrainMs) for the
 * queue to drain and the accepted purchases to be decided, then reads Postgres, the
 * gate and the broker and returns each figure as a number (null when not measurable,
 * with the reason in `notMeasured`). Read-only: it never fixes what it finds.
 */
export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const { sql } = deps;
  const eventId = options.eventId;
  const ids = options.acceptedIds;
  const notMeasured: Partial<Record<NotMeasurable, string>> = {};

  let probe: BrokerProbe | undefined;
  if (deps.broker) {
    try {
      probe = await openBrokerProbe(deps.broker);
    } catch (err) {
      notMeasured.queued = notMeasured.deadLettered = `broker unreachable: ${message(err)}`;
    }
  } else {
    notMeasured.queued = notMeasured.deadLettered = 'no broker given';
  }
  const drain = await waitForDrain(sql, probe, ids, options).finally(() => probe?.close());
  if (probe && !drain.depths) notMeasured.queued = notMeasured.deadLettered = `broker: ${drain.brokerError}`;
  const drained = drain.depths ? drain.depths.queued === 0 : null;

  const pgTiers = await readTiers(sql, eventId);
  if (eventId && pgTiers.length === 0) throw new Error(`event ${eventId} has no tiers (unknown event?)`);
  const gate = await readGateFacts(
    deps,
    pgTiers.map((t) => t.tierId),
    drained,
    notMeasured,
  );
  const tiers = pgTiers.map((t) =>
    tierFigures(
      { ...t, stock: gate?.get(t.tierId)?.stock ?? null, held: gate?.get(t.tierId)?.held ?? 0 },
      gate !== undefined,
    ),
  );

  const acceptedRows = ids ? await rowsOf(sql, ids) : [];
  if (!ids) notMeasured.lost = 'no accepted-ids file';
  const outcomes = ids ? countOutcomes(acceptedRows) : await scopeOutcomes(sql, eventId);
  const duplicates = await findDuplicates(sql, eventId, acceptedRows);

  const figures = {
    oversold: sumFigure(tiers, 'oversold') ?? 0,
    soldMismatch: sumFigure(tiers, 'soldMismatch') ?? 0,
    lost: ids ? drain.notFinal.length : null,
    duplicated: duplicates.sameKey + duplicates.sameId + duplicates.idMismatch,
    undersold: sumFigure(tiers, 'undersold'),
  };
  return {
    eventId: eventId ?? null,
    ...figures,
    deadLettered: drain.depths?.deadLettered ?? null,
    accepted: ids ? ids.length : null,
    ...outcomes,
    outcomesOf: ids ? 'accepted ids' : eventId ? 'event' : 'all events',
    queued: drain.depths?.queued ?? null,
    drained,
    waitedMs: drain.waitedMs,
    gateOverOffer: sumFigure(tiers, 'gateOverOffer'),
    duplicates,
    lostIds: drain.notFinal.slice(0, LOST_SAMPLE),
    notMeasured,
    tiers,
    verdict: verdictOf({ ...figures, drained, queued: drain.depths?.queued ?? null }),
  };
}

/** The gate's stock and holds, or undefined (with the reason noted) when undersold cannot be measured. */
async function readGateFacts(
  deps: ReconcileDeps,
  tierIds: string[],
  drained: boolean | null,
  notMeasured: Partial<Record<NotMeasurable, string>>,
) {
  if (!deps.redis) {
    notMeasured.undersold = 'no Redis given';
    return undefined;
  }
  if (drained === false) {
    notMeasured.undersold = 'queue not drained';
    return undefined;
  }
  try {
    return await createGate(deps.redis, deps.keys).tierStates(tierIds);
  } catch (err) {
    notMeasured.undersold = `Redis unreachable: ${message(err)}`;
    return undefined;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
