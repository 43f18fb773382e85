import type { Sql } from '@stampede/core/db';
import { type Gate, messageOfRecord, type StaleHold } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import {
  type DecidedPurchase,
  decisionOfRow,
  findPurchases,
  type PurchaseMessage,
  type PurchaseRow,
  rejectPurchases,
} from '@stampede/core/purchases';
import { logDecisions } from './decision-lines.js';
import type { Republish } from './republish.js';

export interface StaleHoldDeps {
  log: Logger;
  sql: Sql;
  gate: Gate;
  /** A hold older than this, with the queue idle, has no message left to settle it. */
  graceMs: number;
  republish: Republish;
  /** The after-commit work of a decision (gate settled, status written, readers told). */
  settle: (decisions: DecidedPurchase[]) => Promise<void>;
}

/**
 * Resolves the holds no message will settle, so no buyer told 202 stays `queued` forever.
 * Runs inside the idle reconciliation (queue drained, nothing in flight, the tiers locked),
 * so a hold older than the grace has no message left in the queue. For each hold:
 *
 * - decided in Postgres, whatever its age (its settle was lost, e.g. Redis was away, or is
 *   still on its way from another worker): settled from the row, so the pass that follows
 *   does not count it as both sold and held;
 * - younger than the grace and undecided: left alone (its message may be in another
 *   worker's hands);
 * - kept by a record of the gate: published again from it, once — the same message the
 *   API would have sent, deduplicated by its key like any redelivery;
 * - published again a grace ago and still undecided (dead-lettered, or lost again):
 *   rejected `not_processed`, its tickets given back;
 * - no record left to publish from: released, as nobody can learn of it anyway.
 *
 * Returns the purchase ids whose holds are to be released, by tier.
 */
export async function resolveStaleHolds(deps: StaleHoldDeps, tierIds: string[]): Promise<Map<string, string[]>> {
  const { log, gate, graceMs } = deps;
  const release = new Map<string, string[]>();
  // Every hold: a decided one is settled whatever its age, the others once stale.
  const stale = await gate.staleHolds(tierIds, 0);
  if (stale.length === 0) return release;
  const cutoff = Date.now() - graceMs;
  const rows = await findPurchases(
    deps.sql,
    stale.map((h) => h.purchaseId),
  );

  const fromRows: DecidedPurchase[] = [];
  const toRepublish: PurchaseMessage[] = [];
  const toReject: PurchaseMessage[] = [];
  for (const hold of stale) {
    const row = rows.get(hold.purchaseId);
    const message = row ? messageOfRow(row, hold.bucket) : hold.record && messageOfRecord(hold.purchaseId, hold.record);
    if (row && message) fromRows.push(decisionOfRow(message, row));
    else if (hold.heldAtMs >= cutoff) continue;
    else if (!message) release.set(hold.tierId, [...(release.get(hold.tierId) ?? []), hold.purchaseId]);
    else if (!hold.record?.republishedAt) toRepublish.push(message);
    else if (Date.now() - Date.parse(hold.record.republishedAt) > graceMs) toReject.push(message);
  }

  if (fromRows.length > 0) await settleAndLog(deps, fromRows);
  if (toRepublish.length > 0) {
    const queued = await deps.republish(toRepublish);
    await gate.markRepublished([...queued], new Date().toISOString());
    for (const m of toRepublish)
      log.warn(
        {
          event: 'gate.hold_republished',
          purchaseId: m.purchaseId,
          requestId: m.requestId,
          queued: queued.has(m.purchaseId),
        },
        'a held purchase never reached the queue; published again from the gate record',
      );
  }
  if (toReject.length > 0) await settleAndLog(deps, await rejectPurchases(deps.sql, toReject, 'not_processed'));
  logResolved(log, stale, { fromRows, toRepublish, toReject, release });
  return release;
}

/** Settles decisions this pass found or made, and writes them down like a batch's (decision-lines.ts). */
async function settleAndLog(deps: StaleHoldDeps, decided: DecidedPurchase[]): Promise<void> {
  await deps.settle(decided);
  logDecisions(deps.log, { event: 'gate.holds_settled', count: decided.length }, 'holds settled', decided);
}

function logResolved(
  log: Logger,
  stale: StaleHold[],
  r: { fromRows: unknown[]; toRepublish: unknown[]; toReject: unknown[]; release: Map<string, string[]> },
): void {
  const released = [...r.release.values()].reduce((n, ids) => n + ids.length, 0);
  // Holds already published again wait out their grace quietly.
  if (r.fromRows.length + r.toRepublish.length + r.toReject.length + released === 0) return;
  log.info(
    {
      event: 'gate.stale_holds',
      stale: stale.length,
      settledFromPostgres: r.fromRows.length,
      republished: r.toRepublish.length,
      rejected: r.toReject.length,
      released,
    },
    'holds no message would settle were resolved',
  );
}

/** The message a decided row stands for (every gate hold is of a gated purchase), in the bucket that holds it. */
function messageOfRow(row: PurchaseRow, bucket: number): PurchaseMessage {
  return {
    v: 1,
    purchaseId: row.id,
    idempotencyKey: row.idempotencyKey,
    eventId: row.eventId,
    tierId: row.tierId,
    buyerId: row.buyerId,
    quantity: row.quantity,
    acceptedAt: (row.acceptedAt ?? row.decidedAt).toISOString(),
    gated: true,
    bucket,
  };
}
