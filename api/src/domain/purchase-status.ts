import type { Sql } from '@stampede/core/db';
import { AppError, mapPostgresError } from '@stampede/core/errors';
import type { Gate, PurchaseRecord } from '@stampede/core/gate';
import { findPurchase, type PurchaseRow, type PurchaseStatus, type RejectionReason } from '@stampede/core/purchases';

export interface PurchaseView {
  purchaseId: string;
  status: PurchaseStatus;
  reason: RejectionReason | null;
  eventId: string | null;
  tierId: string | null;
  quantity: number | null;
  acceptedAt: string | null;
  decidedAt: string | null;
}

const fromRecord = (purchaseId: string, r: PurchaseRecord): PurchaseView => ({
  purchaseId,
  status: r.status,
  reason: r.reason,
  eventId: r.eventId,
  tierId: r.tierId,
  quantity: r.quantity,
  acceptedAt: r.acceptedAt,
  decidedAt: r.decidedAt,
});

const fromRow = (purchaseId: string, row: PurchaseRow): PurchaseView => ({
  purchaseId,
  status: row.status,
  reason: row.reason,
  eventId: row.eventId,
  tierId: row.tierId,
  quantity: row.quantity,
  acceptedAt: row.acceptedAt?.toISOString() ?? null,
  decidedAt: row.decidedAt.toISOString(),
});

/**
 * What became of a purchase. A final status in Redis answers at once; otherwise
 * Postgres (the truth) is asked; a purchase Postgres has not decided yet is `queued`
 * if the gate recorded it. Unknown everywhere: 404.
 */
export function createPurchaseStatus(deps: { sql: Sql; gate: Gate }) {
  return async function purchaseStatus(purchaseId: string): Promise<PurchaseView> {
    const record = deps.gate.isReady() ? await deps.gate.record(purchaseId).catch(() => undefined) : undefined;
    if (record && record.status !== 'queued') return fromRecord(purchaseId, record);
    let row: PurchaseRow | undefined;
    try {
      row = await findPurchase(deps.sql, purchaseId);
    } catch (err) {
      if (record) return fromRecord(purchaseId, record);
      throw mapPostgresError(err);
    }
    if (row) return fromRow(purchaseId, row);
    if (record) return fromRecord(purchaseId, record);
    throw new AppError(
      'purchase_not_found',
      `No purchase ${purchaseId} is known. A purchase accepted moments ago while Redis was down appears once the worker decides it.`,
    );
  };
}
