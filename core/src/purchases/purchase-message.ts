import { z } from 'zod';
import { CANONICAL_UUID } from './purchase-id.js';
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

const KEYS = new Set(Object.keys(purchaseMessageSchema.shape));
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;
const optionalText = (v: unknown, max: number) => v === undefined || (typeof v === 'string' && v.length <= max);
const intIn = (v: unknown, min: number, max: number) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * A parsed message checked by hand when it is in the form the API publishes (every
 * message but a malformed one): only what purchaseMessageSchema accepts, returned as it
 * returns it; anything else is undefined and goes to the schema, which decides and says
 * why. zod's parse was 4 µs of the worker's ~100 per purchase.
 */
export function canonicalPurchaseMessage(value: unknown): PurchaseMessage | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const m = value as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!KEYS.has(k)) return undefined;
  if (m.v !== 1 || typeof m.gated !== 'boolean') return undefined;
  for (const id of [m.purchaseId, m.eventId, m.tierId])
    if (typeof id !== 'string' || !CANONICAL_UUID.test(id)) return undefined;
  if (!text(m.idempotencyKey, 128) || !text(m.buyerId, 128) || !intIn(m.quantity, 1, 100)) return undefined;
  if (!optionalText(m.requestId, 128) || !optionalText(m.acceptedBy, 64)) return undefined;
  if (m.bucket !== undefined && !intIn(m.bucket, 0, 1_023)) return undefined;
  const at = m.acceptedAt;
  if (typeof at !== 'string' || !ISO_MS.test(at) || new Date(at).toISOString() !== at) return undefined;
  return m as PurchaseMessage;
}

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
