import type { Sql } from '@stampede/core/db';
import { AppError, mapPostgresError } from '@stampede/core/errors';
import { readPurchaseRecord } from '@stampede/core/gate';
import { findPurchase } from '@stampede/core/purchases';
import { type Redis, type RedisKeys, redisIsReady } from '@stampede/core/redis';

export interface PurchaseView {
  purchaseId: string;
  status: 'queued' | 'confirmed' | 'rejected';
  reason: string | null;
  eventId: string | null;
  tierId: string | null;
  quantity: number | null;
  acceptedAt: string | null;
  decidedAt: string | null;
}

/**
 * What became of a purchase. A final status in Redis answers at once; otherwise
 * Postgres (the truth) is asked; a purchase Postgres has not decided yet is `queued`
 * if the gate recorded it. Unknown everywhere: 404.
 */
export function createPurchaseStatus(deps: { sql: Sql; redis: Redis; keys: RedisKeys }) {
  return async function purchaseStatus(purchaseId: string): Promise<PurchaseView> {
    const record = redisIsReady(deps.redis)
      ? await readPurchaseRecord(deps.redis, deps.keys, purchaseId).catch(() => undefined)
      : undefined;
    const fromRecord = (r: Record<string, string>): PurchaseView => ({
      purchaseId,
      status: r.status as PurchaseView['status'],
      reason: r.reason || null,
      eventId: r.eventId ?? null,
      tierId: r.tierId ?? null,
      quantity: r.quantity ? Number(r.quantity) : null,
      acceptedAt: r.acceptedAt || null,
      decidedAt: r.decidedAt || null,
    });
    if (record && record.status !== 'queued') return fromRecord(record);
    let row: Awaited<ReturnType<typeof findPurchase>>;
    try {
      row = await findPurchase(deps.sql, purchaseId);
    } catch (err) {
      if (record) return fromRecord(record);
      throw mapPostgresError(err);
    }
    if (row) {
      return {
        purchaseId,
        status: row.status,
        reason: row.reason,
        eventId: row.eventId,
        tierId: row.tierId,
        quantity: row.quantity,
        acceptedAt: row.acceptedAt?.toISOString() ?? null,
        decidedAt: row.decidedAt.toISOString(),
      };
    }
    if (record) return fromRecord(record);
    throw new AppError(
      'purchase_not_found',
      `No purchase ${purchaseId} is known. A purchase accepted moments ago while Redis was down appears once the worker decides it.`,
    );
  };
}
