import { createHash } from 'node:crypto';

/**
 * The purchase id of an Idempotency-Key: a name-based UUID (version 5 layout, SHA-1).
 * Deriving the id from the key means a retried request gets the same purchase id even
 * when the Redis gate is down and cannot remember the key, so every 202 names a
 * purchase that will exist.
 */
export function purchaseIdFor(idempotencyKey: string): string {
  const h = createHash('sha1').update(`stampede/purchase/${idempotencyKey}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A fingerprint of what was asked, to tell a retry (same) from a reused key (different). */
export function requestFingerprint(parts: {
  eventId: string;
  tierId: string;
  buyerId: string;
  quantity: number;
}): string {
  return createHash('sha256')
    .update(`${parts.eventId}|${parts.tierId}|${parts.buyerId}|${parts.quantity}`)
    .digest('base64url')
    .slice(0, 22);
}

/** A lower-case RFC 9562 UUID: only ids zod's `z.uuid()` accepts, and already as it outputs them (a fast path's check). */
export const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in either case: what an id read back from Redis must be before Postgres is asked of it. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
