import { createHash } from 'node:crypto';
import { GATE_SHARDS, gateShard } from './gate-shard.js';

/**
 * The purchase id of an Idempotency-Key: a name-based UUID (version 5 layout, SHA-1) whose
 * last byte is the gate shard that keeps its record (redis-keys.ts), so a poller finds the
 * record from the id alone. Deriving the id from the key (and the shard from what was
 * asked) means a retried request gets the same purchase id even when the Redis gate is
 * down and cannot remember the key, so every 202 names a purchase that will exist.
 */
export function purchaseIdFor(idempotencyKey: string, shard: number): string {
  return idOfHash(keyHash(idempotencyKey), shard);
}

/** Where a purchase lives: its id, its tier's bucket it asks for, and the gate shard of both. */
export interface Placement {
  purchaseId: string;
  bucket: number;
  shard: number;
}

/**
 * The placement of a purchase of an event's tier split in `buckets` (1 when not split): its
 * home bucket from the key's hash (so a retry asks the same bucket and a crowd spreads
 * evenly), the gate shard of that bucket, and the id naming that shard.
 */
export function placePurchase(idempotencyKey: string, eventId: string, buckets: number): Placement {
  const h = keyHash(idempotencyKey);
  const bucket = buckets > 1 ? h.readUInt32BE(0) % buckets : 0;
  const shard = gateShard(eventId, bucket);
  return { purchaseId: idOfHash(h, shard), bucket, shard };
}

function idOfHash(h: Buffer, shard: number): string {
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  h[15] = shard & 0xff;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The gate shard an id names (its last byte; an id from before the gate had shards names one at random). */
export function shardOfPurchaseId(purchaseId: string): number {
  return (Number.parseInt(purchaseId.slice(-2), 16) || 0) % GATE_SHARDS;
}

/** True when the id is the one this key gives, whatever shard it names: what a reconciliation checks of a row. */
export function isPurchaseIdOf(idempotencyKey: string, purchaseId: string): boolean {
  return purchaseIdFor(idempotencyKey, shardOfPurchaseId(purchaseId)) === purchaseId.toLowerCase();
}

function keyHash(idempotencyKey: string): Buffer {
  return createHash('sha1').update(`stampede/purchase/${idempotencyKey}`).digest();
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
