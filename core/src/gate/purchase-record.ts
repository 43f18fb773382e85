import { type PurchaseMessage, purchaseMessageSchema } from '../purchases/purchase-message.js';
import type { PurchaseStatus, RejectionReason } from '../purchases/purchase-vocabulary.js';

/**
 * A purchase as the gate keeps it in Redis, where pollers read it: written `queued` at
 * admission, made final by the worker's settle (which also fills in the fields of a
 * purchase accepted ungated). A field the record does not hold is null.
 */
export interface PurchaseRecord {
  status: PurchaseStatus;
  /** Why it was rejected; null while queued and once confirmed. */
  reason: RejectionReason | null;
  eventId: string | null;
  tierId: string | null;
  buyerId: string | null;
  quantity: number | null;
  idempotencyKey: string | null;
  requestId: string | null;
  acceptedBy: string | null;
  acceptedAt: string | null;
  decidedAt: string | null;
  /** When the worker published it again, its first message having never reached the queue. */
  republishedAt: string | null;
  /** False when the purchase was accepted while the gate was away (it took no tickets). */
  gated: boolean;
  /** The bucket of a split tier the gate took its tickets from; null when the tier is not split (or ungated). */
  bucket: number | null;
}

/** The record of a purchase hash as the scripts write it (every value a string, '' for none). */
export function toPurchaseRecord(hash: Record<string, string>): PurchaseRecord {
  const text = (field: string) => hash[field] || null;
  return {
    status: hash.status as PurchaseStatus,
    reason: text('reason') as RejectionReason | null,
    eventId: text('eventId'),
    tierId: text('tierId'),
    buyerId: text('buyerId'),
    quantity: hash.quantity ? Number(hash.quantity) : null,
    idempotencyKey: text('idempotencyKey'),
    requestId: text('requestId'),
    acceptedBy: text('acceptedBy'),
    acceptedAt: text('acceptedAt'),
    decidedAt: text('decidedAt'),
    republishedAt: text('republishedAt'),
    gated: hash.gated !== '0',
    bucket: hash.bucket ? Number(hash.bucket) : null,
  };
}

/**
 * The message of a purchase as its record keeps it (the gate records every field the
 * message carries), or undefined when the record lacks one: what the worker publishes
 * again for a purchase whose first message never reached the queue.
 */
export function messageOfRecord(purchaseId: string, r: PurchaseRecord): PurchaseMessage | undefined {
  const parsed = purchaseMessageSchema.safeParse({
    v: 1,
    purchaseId,
    idempotencyKey: r.idempotencyKey,
    eventId: r.eventId,
    tierId: r.tierId,
    buyerId: r.buyerId,
    quantity: r.quantity,
    requestId: r.requestId ?? undefined,
    acceptedBy: r.acceptedBy ?? undefined,
    acceptedAt: r.acceptedAt,
    gated: r.gated,
    ...(r.bucket !== null ? { bucket: r.bucket } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}
