import { z } from 'zod';

/**
 * The words every part of Stampede uses for a purchase, defined once: the API's schemas,
 * the gate's records, the worker's decisions and the rows in Postgres all derive from
 * these (the migrations' CHECK constraints and the gate's Lua scripts say the same in
 * their own languages).
 */

/** Where a purchase stands: queued until the worker decides it, then confirmed or rejected for good. */
export const PURCHASE_STATUSES = ['queued', 'confirmed', 'rejected'] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];
/** The statuses of a decided purchase: what Postgres stores. */
export type DecidedStatus = Exclude<PurchaseStatus, 'queued'>;

/**
 * Why a purchase was rejected. `sale_not_open`: it was accepted before the sale opened or
 * after its close was committed in Postgres (a replica had not heard of the close yet).
 * `not_processed`: its message never reached the queue, and the worker's second try
 * (published again from the gate's record) was not decided either, so the worker gave up.
 */
export const REJECTION_REASONS = [
  'sold_out',
  'limit_exceeded',
  'payment_failed',
  'sale_not_open',
  'not_processed',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** What a buyer asks for: the fields every record of a purchase carries (message, gate record, row). */
export const purchaseFieldsSchema = z.object({
  idempotencyKey: z.string().min(1).max(128),
  eventId: z.uuid(),
  tierId: z.uuid(),
  buyerId: z.string().min(1).max(128),
  quantity: z.number().int().min(1).max(100),
});
export type PurchaseFields = z.infer<typeof purchaseFieldsSchema>;

/** Just the purchase fields of a larger object (a request, a message). */
export function purchaseFieldsOf(p: PurchaseFields): PurchaseFields {
  return {
    idempotencyKey: p.idempotencyKey,
    eventId: p.eventId,
    tierId: p.tierId,
    buyerId: p.buyerId,
    quantity: p.quantity,
  };
}
