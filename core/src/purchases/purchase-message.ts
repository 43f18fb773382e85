import { z } from 'zod';

/** Final outcomes of a purchase, and why a purchase was rejected. */
export const PURCHASE_STATUSES = ['queued', 'confirmed', 'rejected'] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];
export const REJECTION_REASONS = ['sold_out', 'limit_exceeded', 'payment_failed'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/**
 * The message the API publishes and the worker decides: everything needed to decide
 * the purchase, so the worker never has to ask the API. Version 1.
 */
export const purchaseMessageSchema = z.object({
  v: z.literal(1),
  purchaseId: z.uuid(),
  idempotencyKey: z.string().min(1).max(128),
  eventId: z.uuid(),
  tierId: z.uuid(),
  buyerId: z.string().min(1).max(128),
  quantity: z.number().int().min(1).max(100),
  /** The request that accepted it, so one id follows the purchase into the worker's logs. */
  requestId: z.string().max(128).optional(),
  /** Which replica accepted it. */
  acceptedBy: z.string().max(64).optional(),
  acceptedAt: z.iso.datetime(),
  /** True when the Redis gate took the tickets: a rejection must give them back to the gate. */
  gated: z.boolean(),
});

export type PurchaseMessage = z.infer<typeof purchaseMessageSchema>;
