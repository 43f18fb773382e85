import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { AppError } from '@stampede/core/errors';
import { availableForGate } from '@stampede/core/events';
import type { AdmitRequest, Gate, GatePurchase } from '@stampede/core/gate';
import type { Logger, LogMethods } from '@stampede/core/logger';
import type { ApiMetrics } from '@stampede/core/metrics';
import {
  type Placement,
  type PurchaseFields,
  type PurchaseMessage,
  placePurchase,
  purchaseFieldsOf,
  requestFingerprint,
} from '@stampede/core/purchases';
import type { PurchasePublisher } from '../broker/purchase-publisher.js';
import type { Catalog } from './catalog.js';
import { limitExceeded, soldOut } from './purchase-errors.js';
import type { PurchaseOutcome } from './purchase-outcome.js';
import { assertPurchasable, purchasableNow } from './purchase-rules.js';
import type { SoldOutFlags } from './sold-out-flags.js';
import { createSyncPurchase } from './sync-purchase.js';

export type { PurchaseOutcome } from './purchase-outcome.js';

export interface PurchaseRequest extends PurchaseFields {
  requestId: string;
}

export interface PurchaseServiceDeps {
  config: Config;
  log: Logger;
  sql: Sql;
  gate: Gate;
  publisher: PurchasePublisher;
  catalog: Catalog;
  soldOut: SoldOutFlags;
  metrics?: Pick<ApiMetrics, 'admissions' | 'confirmDuration'>;
}

const REPUBLISH_AFTER_MS = 5_000;

const BROKER_DOWN = () =>
  new AppError(
    'broker_unavailable',
    'The purchase could not be queued. Nothing was taken; retry with the same Idempotency-Key.',
    { headers: { 'Retry-After': '2' } },
  );

/**
 * Admission: validate against the catalog, pass the Redis gate, publish with a broker
 * confirm, answer 202 only after the confirm. A confirm that fails undoes the gate.
 * With Redis away the gate is skipped: the message is queued ungated and Postgres decides.
 */
export function createPurchaseService(deps: PurchaseServiceDeps) {
  const { config, gate } = deps;

  async function publishOrUndo(
    message: PurchaseMessage,
    admitted: GatePurchase | undefined,
    log: LogMethods,
  ): Promise<void> {
    const started = performance.now();
    try {
      await deps.publisher.publish(message);
    } catch (err) {
      deps.metrics?.admissions.inc({ outcome: 'broker_unavailable' });
      log.warn(
        { event: 'purchase.publish_failed', purchaseId: message.purchaseId, err: (err as Error).message },
        'broker did not confirm, purchase refused',
      );
      if (admitted)
        await gate
          .undo(admitted)
          .catch((e: Error) =>
            log.error(
              { event: 'gate.undo_failed', purchaseId: message.purchaseId, err: e.message },
              'gate undo failed; reconciliation will release the hold',
            ),
          );
      throw BROKER_DOWN();
    }
    const confirmMs = performance.now() - started;
    deps.metrics?.confirmDuration.observe(confirmMs / 1000);
    deps.metrics?.admissions.inc({ outcome: message.gated ? 'admitted' : 'admitted_ungated' });
    log.info(
      {
        event: 'purchase.accepted',
        purchaseId: message.purchaseId,
        eventId: message.eventId,
        tierId: message.tierId,
        quantity: message.quantity,
        gated: message.gated,
        confirmMs: Math.round(confirmMs),
      },
      'purchase queued',
    );
  }

  /**
   * A retry of a known key answers the original purchase. One still queued after
   * REPUBLISH_AFTER_MS may have been lost between gate and publish (a replica crash), so
   * it is published again; the worker dedups by key, so this never buys twice.
   */
  async function replay(
    purchaseId: string,
    r: PurchaseRequest,
    log: LogMethods,
    place: Placement,
  ): Promise<PurchaseOutcome> {
    const record = await gate.record(purchaseId).catch(() => undefined);
    const status = record?.status ?? 'queued';
    if (status !== 'queued')
      return { kind: 'replayed', purchaseId, status, ...(record?.reason ? { reason: record.reason } : {}) };
    const age = record?.acceptedAt ? Date.now() - Date.parse(record.acceptedAt) : Infinity;
    if (age < REPUBLISH_AFTER_MS) return { kind: 'replayed', purchaseId, status: 'queued' };
    log.info(
      { event: 'purchase.republished', purchaseId, ageMs: Math.round(age) },
      'retry of a long-queued purchase, publishing again',
    );
    const message = toMessage(
      r,
      { ...place, purchaseId, bucket: record?.bucket ?? place.bucket },
      record?.gated ?? true,
      record?.acceptedAt ?? undefined,
    );
    await publishOrUndo(message, undefined, log);
    return { kind: 'replayed', purchaseId, status: 'queued' };
  }

  /** The message of a placed purchase: its bucket is the home bucket by the catalog's K (Postgres folds a stale K). */
  function toMessage(
    r: PurchaseRequest,
    place: Placement,
    gated: boolean,
    acceptedAt = new Date().toISOString(),
  ): PurchaseMessage {
    return {
      v: 1,
      purchaseId: place.purchaseId,
      ...purchaseFieldsOf(r),
      requestId: r.requestId,
      acceptedBy: config.INSTANCE_NAME,
      acceptedAt,
      gated,
      bucket: place.bucket,
    };
  }

  async function ungated(r: PurchaseRequest, log: LogMethods, place: Placement): Promise<PurchaseOutcome> {
    await publishOrUndo(toMessage(r, place, false), undefined, log);
    return { kind: 'queued', purchaseId: place.purchaseId, status: 'queued' };
  }

  function gateUnavailable(err: Error, log: LogMethods): undefined {
    log.warn({ event: 'gate.unavailable', err: err.message }, 'gate unavailable, queueing ungated');
    return undefined;
  }

  const decideNow = config.PURCHASE_MODE === 'sync' ? createSyncPurchase(config, deps.sql) : undefined;

  return {
    async purchase(r: PurchaseRequest, log: LogMethods): Promise<PurchaseOutcome> {
      const tier = purchasableNow(deps.catalog, r) ?? (await assertPurchasable(deps.catalog, r));
      // A catalog entry cached before tiers had buckets has none: not split. The catalog's K
      // places the purchase (its bucket, the gate shard of both, its id), the K the gate was
      // primed with from Postgres being the same one.
      const buckets = tier.buckets ?? 1;
      const placed = () => placePurchase(r.idempotencyKey, r.eventId, buckets);
      if (decideNow) return decideNow(toMessage(r, placed(), false), log);
      if (!deps.publisher.isConnected()) throw BROKER_DOWN();
      if (!gate.isReady()) return ungated(r, log, placed());

      // Outside the try below: thrown once, not caught and thrown again. A tier not split
      // keeps its keys in bucket 0: no hash needed to answer sold out.
      if (deps.soldOut.isSoldOut(r.tierId)) {
        const known = await gate
          .knowsKey(r.idempotencyKey, r.eventId, buckets > 1 ? placed().bucket : 0)
          .catch((err: Error) => gateUnavailable(err, log));
        if (known === undefined) return ungated(r, log, placed());
        if (!known) {
          deps.metrics?.admissions.inc({ outcome: 'sold_out' });
          throw soldOut(r.tierId);
        }
      }
      const place = placed();
      try {
        const request: AdmitRequest = {
          purchaseId: place.purchaseId,
          bucket: place.bucket,
          buckets,
          ...purchaseFieldsOf(r),
          fingerprint: requestFingerprint(r),
          buyerLimit: config.BUYER_LIMIT_PER_EVENT,
          ttlSeconds: config.GATE_RECORD_TTL_S,
          requestId: r.requestId,
          acceptedBy: config.INSTANCE_NAME,
          acceptedAt: new Date().toISOString(),
        };
        let outcome = await gate.admit(request);
        if (outcome.kind === 'unprimed') {
          // Prime from a fresh read: the catalog's figure (and K) may be seconds old.
          const available = await availableForGate(deps.sql, [tier.id]);
          await gate.prime({ id: r.tierId, eventId: r.eventId }, available.get(tier.id) ?? 0);
          outcome = await gate.admit(request);
        }
        switch (outcome.kind) {
          case 'admitted':
            await publishOrUndo(toMessage(r, place, true, request.acceptedAt), request, log);
            return { kind: 'queued', purchaseId: place.purchaseId, status: 'queued' };
          case 'duplicate':
            deps.metrics?.admissions.inc({ outcome: 'duplicate' });
            return await replay(outcome.purchaseId, r, log, place);
          case 'key_reused':
            deps.metrics?.admissions.inc({ outcome: 'key_reused' });
            throw new AppError(
              'idempotency_key_reused',
              'This Idempotency-Key was first used with a different purchase. Use a new key for a new purchase.',
              { extensions: { purchaseId: outcome.purchaseId } },
            );
          case 'sold_out':
            deps.metrics?.admissions.inc({ outcome: 'sold_out' });
            deps.soldOut.markSoldOut(r.tierId);
            throw soldOut(r.tierId);
          case 'limit_exceeded':
            deps.metrics?.admissions.inc({ outcome: 'limit_exceeded' });
            throw limitExceeded(config.BUYER_LIMIT_PER_EVENT);
          default:
            return await ungated(r, log, place);
        }
      } catch (err) {
        if (err instanceof AppError) throw err;
        gateUnavailable(err as Error, log);
        return ungated(r, log, place);
      }
    },
  };
}

export type PurchaseService = ReturnType<typeof createPurchaseService>;
