import type { Config } from '@stampede/core/config';
import type { Sql } from '@stampede/core/db';
import { AppError } from '@stampede/core/errors';
import { type AdmitRequest, admit, primeStock, readPurchaseRecord, undoAdmission } from '@stampede/core/gate';
import type { Logger } from '@stampede/core/logger';
import type { PurchaseMessage } from '@stampede/core/purchases';
import { purchaseIdFor, requestFingerprint } from '@stampede/core/purchases';
import { type Redis, type RedisKeys, redisIsReady } from '@stampede/core/redis';
import type { PurchasePublisher } from '../broker/purchase-publisher.js';
import type { Catalog } from './catalog.js';
import type { PurchaseReceipt } from './purchase-receipt.js';
import { assertPurchasable } from './purchase-rules.js';
import type { SoldOutFlags } from './sold-out-flags.js';
import { createSyncPurchase } from './sync-purchase.js';

export type { PurchaseReceipt } from './purchase-receipt.js';

import type { ApiMetrics } from '@stampede/core/metrics';

export interface PurchaseRequest {
  eventId: string;
  tierId: string;
  quantity: number;
  buyerId: string;
  idempotencyKey: string;
  requestId: string;
}

export interface PurchaseServiceDeps {
  config: Config;
  log: Logger;
  sql: Sql;
  redis: Redis;
  keys: RedisKeys;
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
export function createPurchaseService(d: PurchaseServiceDeps) {
  const ttl = d.config.GATE_RECORD_TTL_S;

  async function publishOrUndo(
    message: PurchaseMessage,
    admitted: AdmitRequest | undefined,
    log: Logger,
  ): Promise<void> {
    const started = performance.now();
    try {
      await d.publisher.publish(message);
    } catch (err) {
      d.metrics?.admissions.inc({ outcome: 'broker_unavailable' });
      log.warn(
        { event: 'purchase.publish_failed', purchaseId: message.purchaseId, err: (err as Error).message },
        'broker did not confirm, purchase refused',
      );
      if (admitted)
        await undoAdmission(d.redis, d.keys, admitted).catch((e: Error) =>
          log.error(
            { event: 'gate.undo_failed', purchaseId: message.purchaseId, err: e.message },
            'gate undo failed; reconciliation will release the hold',
          ),
        );
      throw BROKER_DOWN();
    }
    const confirmMs = performance.now() - started;
    d.metrics?.confirmDuration.observe(confirmMs / 1000);
    d.metrics?.admissions.inc({ outcome: message.gated ? 'admitted' : 'admitted_ungated' });
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
  async function replay(purchaseId: string, r: PurchaseRequest, log: Logger): Promise<PurchaseReceipt> {
    const record = await readPurchaseRecord(d.redis, d.keys, purchaseId).catch(() => undefined);
    const status = (record?.status ?? 'queued') as PurchaseReceipt['status'];
    if (status !== 'queued')
      return {
        httpStatus: 200,
        purchaseId,
        status,
        ...(record?.reason ? { reason: record.reason } : {}),
        replayed: true,
      };
    const age = record?.acceptedAt ? Date.now() - Date.parse(record.acceptedAt) : Infinity;
    if (age < REPUBLISH_AFTER_MS) return { httpStatus: 202, purchaseId, status: 'queued', replayed: true };
    log.info(
      { event: 'purchase.republished', purchaseId, ageMs: Math.round(age) },
      'retry of a long-queued purchase, publishing again',
    );
    const message = toMessage(r, purchaseId, record?.gated !== '0', record?.acceptedAt);
    await publishOrUndo(message, undefined, log);
    return { httpStatus: 202, purchaseId, status: 'queued', replayed: true };
  }

  function toMessage(
    r: PurchaseRequest,
    purchaseId: string,
    gated: boolean,
    acceptedAt = new Date().toISOString(),
  ): PurchaseMessage {
    return {
      v: 1,
      purchaseId,
      idempotencyKey: r.idempotencyKey,
      eventId: r.eventId,
      tierId: r.tierId,
      buyerId: r.buyerId,
      quantity: r.quantity,
      requestId: r.requestId,
      acceptedBy: d.config.INSTANCE_NAME,
      acceptedAt,
      gated,
    };
  }

  async function ungated(r: PurchaseRequest, log: Logger): Promise<PurchaseReceipt> {
    const purchaseId = purchaseIdFor(r.idempotencyKey);
    await publishOrUndo(toMessage(r, purchaseId, false), undefined, log);
    return { httpStatus: 202, purchaseId, status: 'queued', replayed: false };
  }

  const decideNow = d.config.PURCHASE_MODE === 'sync' ? createSyncPurchase(d.config, d.sql) : undefined;

  return {
    async purchase(r: PurchaseRequest, log: Logger): Promise<PurchaseReceipt> {
      const tier = await assertPurchasable(d.catalog, r);
      if (decideNow) return decideNow(toMessage(r, purchaseIdFor(r.idempotencyKey), false), log);
      if (!d.publisher.isConnected()) throw BROKER_DOWN();
      if (!redisIsReady(d.redis)) return ungated(r, log);

      try {
        if (d.soldOut.isSoldOut(r.tierId) && !(await d.redis.exists(d.keys.idempotency(r.idempotencyKey)))) {
          d.metrics?.admissions.inc({ outcome: 'sold_out' });
          throw new AppError('sold_out', `Tier ${r.tierId} is sold out.`);
        }
        // Hashed only past the sold-out short-cut, which needs neither.
        const purchaseId = purchaseIdFor(r.idempotencyKey);
        const request: AdmitRequest = {
          purchaseId,
          idempotencyKey: r.idempotencyKey,
          fingerprint: requestFingerprint(r),
          eventId: r.eventId,
          tierId: r.tierId,
          buyerId: r.buyerId,
          quantity: r.quantity,
          buyerLimit: d.config.BUYER_LIMIT_PER_EVENT,
          ttlSeconds: ttl,
          requestId: r.requestId,
          acceptedBy: d.config.INSTANCE_NAME,
          acceptedAt: new Date().toISOString(),
        };
        let outcome = await admit(d.redis, d.keys, request);
        if (outcome.kind === 'unprimed') {
          // Prime from a fresh read: the catalog's figure may be seconds old.
          const [row] = await d.sql<
            { available: number }[]
          >`select capacity - sold as available from tiers where id = ${tier.id}`;
          await primeStock(d.redis, d.keys, r.tierId, row?.available ?? 0);
          outcome = await admit(d.redis, d.keys, request);
        }
        switch (outcome.kind) {
          case 'admitted':
            await publishOrUndo(toMessage(r, purchaseId, true, request.acceptedAt), request, log);
            return { httpStatus: 202, purchaseId, status: 'queued', replayed: false };
          case 'duplicate':
            d.metrics?.admissions.inc({ outcome: 'duplicate' });
            return await replay(outcome.purchaseId, r, log);
          case 'key_reused':
            d.metrics?.admissions.inc({ outcome: 'key_reused' });
            throw new AppError(
              'idempotency_key_reused',
              'This Idempotency-Key was first used with a different purchase. Use a new key for a new purchase.',
              { extensions: { purchaseId: outcome.purchaseId } },
            );
          case 'sold_out':
            d.metrics?.admissions.inc({ outcome: 'sold_out' });
            d.soldOut.markSoldOut(r.tierId);
            throw new AppError('sold_out', `Tier ${r.tierId} is sold out.`);
          case 'limit_exceeded':
            d.metrics?.admissions.inc({ outcome: 'limit_exceeded' });
            throw new AppError(
              'limit_exceeded',
              `A buyer may hold at most ${d.config.BUYER_LIMIT_PER_EVENT} tickets for this event.`,
            );
          default:
            return await ungated(r, log);
        }
      } catch (err) {
        if (err instanceof AppError) throw err;
        log.warn({ event: 'gate.unavailable', err: (err as Error).message }, 'gate unavailable, queueing ungated');
        return ungated(r, log);
      }
    },
  };
}

export type PurchaseService = ReturnType<typeof createPurchaseService>;
