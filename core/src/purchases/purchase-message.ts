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
  /** True when the Redis gate took the tickets: a rejection must give them back to the gate. */
  gated: z.boolean(),
});

export type PurchaseMessage = z.infer<typeof purchaseMessageSchema>;
