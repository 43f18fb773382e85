import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { AppError, isTransientDbError } from '@stampede/core/errors';
import type { LogMethods } from '@stampede/core/logger';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { decidePurchases, simulatedPayment } from '@stampede/core/purchases';
import { limitExceeded, soldOut } from './purchase-errors.js';
import type { PurchaseOutcome } from './purchase-outcome.js';

/**
 * The monolith baseline (PURCHASE_MODE=sync): the purchase is decided inside the request,
 * in a Postgres transaction, by the very decision code the worker runs — no gate, no
 * queue. It exists to be benchmarked against the queued design.
 */
export function createSyncPurchase(config: Config, sql: Sql) {
  const payment = simulatedPayment(config);
  return async function decideNow(message: PurchaseMessage, log: LogMethods): Promise<PurchaseOutcome> {
    let decision: Awaited<ReturnType<typeof decidePurchases>>[number] | undefined;
    try {
      [decision] = await decidePurchases(sql, [message], {
        buyerLimit: config.BUYER_LIMIT_PER_EVENT,
        ...(payment ? { payment } : {}),
      });
    } catch (err) {
      if (isTransientDbError(err))
        throw new AppError(
          'data_unavailable',
          'The purchase could not be decided now; retry with the same Idempotency-Key.',
          { cause: err, headers: { 'Retry-After': '1' } },
        );
      throw err;
    }
    if (!decision || decision.kind === 'poison')
      throw new AppError('tier_not_found', `Tier ${message.tierId} is not a tier of event ${message.eventId}.`);
    log.info(
      {
        event: 'purchase.decided',
        mode: 'sync',
        purchaseId: decision.purchaseId,
        status: decision.status,
        reason: decision.reason,
        duplicate: decision.duplicate,
      },
      'purchase decided in request',
    );
    if (!decision.duplicate && decision.reason === 'sold_out') throw soldOut(message.tierId);
    if (!decision.duplicate && decision.reason === 'limit_exceeded') throw limitExceeded(config.BUYER_LIMIT_PER_EVENT);
    return {
      kind: decision.duplicate ? 'replayed' : 'decided',
      purchaseId: decision.purchaseId,
      status: decision.status,
      ...(decision.reason ? { reason: decision.reason } : {}),
    };
  };
}
