import { z } from 'zod';
import { purchaseFieldsSchema } from './purchase-vocabulary.js';

/**
 * The message the API publishes and the worker decides: everything needed to decide
 * the purchase, so the worker never has to ask the API. Version 1.
 */
export const purchaseMessageSchema = z.object({
  v: z.literal(1),
  purchaseId: z.uuid(),
  ...purchaseFieldsSchema.shape,
  /** The request that accepted it, so one id follows the purchase into the worker's logs. */
  requestId: z.string().max(128).optional(),
  /** Which replica accepted it. */
  acceptedBy: z.string().max(64).optional(),
  acceptedAt: z.iso.datetime(),
  /**
   * The bucket of its tier whose stock it asks for (docs/architecture.md, "A hot tier in
   * buckets"; 0, or absent, when the tier is not split); with the tier, it picks the decision lane.
   */
  bucket: z.number().int().min(0).max(1_023).optional(),
  /** True when the Redis gate took the tickets: a rejection must give them back to the gate. */
  gated: z.boolean(),
});

export type PurchaseMessage = z.infer<typeof purchaseMessageSchema>;

/** The bucket a message asks for, within its tier's K buckets (a stale K folds in). */
export function bucketOf(m: Pick<PurchaseMessage, 'bucket'>, buckets: number): number {
  return buckets > 1 ? (m.bucket ?? 0) % buckets : 0;
}

/**
 * The bucket a purchase asks for among its tier's K: a hash of its id (so of its
 * Idempotency-Key), so a retry asks the same bucket and a crowd spreads evenly over the K.
 */
export function homeBucket(purchaseId: string, buckets: number): number {
  return buckets > 1 ? Number.parseInt(purchaseId.slice(0, 8), 16) % buckets : 0;
}
