import { GATE_SHARD_TAGS, gateShard } from '../purchases/gate-shard.js';
import { shardOfPurchaseId } from '../purchases/purchase-id.js';

/**
 * Every Redis key Stampede uses, under one prefix so labs and tests can share a server.
 *
 * On a Redis Cluster a Lua script or a MULTI may only touch keys of one hash slot. The gate's
 * keys of a request (stock and held of its tier's bucket, buyer count, idempotency key,
 * purchase record) share the hash tag of one gate shard (gate-shard.ts): the shard of the event
 * for a tier not split, the next shards for a split tier's other buckets
 * (core/src/purchases/gate-shard.ts). So ADMIT, UNDO and SETTLE never span slots (no
 * CROSSSLOT), events spread across masters, and so do a hot tier's buckets. A purchase id
 * names its shard, so its record is found from the id alone. The gate's tier registry has
 * a slot of its own; the cache's keys are tagged by nothing but their own name and a waiting
 * room's by its event.
 */
export function redisKeys(prefix: string) {
  const shard = (n: number) => `${prefix}{${GATE_SHARD_TAGS[n]}}`;
  const at = (eventId: string, bucket: number) => shard(gateShard(eventId, bucket));
  return {
    availability: (eventId: string) => `${prefix}avail:${eventId}`,
    catalog: (eventId: string) => `${prefix}catalog:${eventId}`,
    /** The tickets the gate still offers in one bucket of a tier (bucket 0: the whole of a tier not split). */
    stock: (eventId: string, tierId: string, bucket = 0) => `${at(eventId, bucket)}stock:${tierId}:${bucket}`,
    /** The tickets of that bucket the gate gave out that no decision has settled: purchaseId → "qty|acceptedAtMs|buyerKey". */
    held: (eventId: string, tierId: string, bucket = 0) => `${at(eventId, bucket)}held:${tierId}:${bucket}`,
    /** The tiers the gate holds stock for, tierId → "eventId|K": what reconciliation walks. */
    gateTiers: () => `${prefix}{gate}tier-shapes`,
    /** A buyer's running count in the event, as the shard of this bucket sees it. */
    buyer: (eventId: string, buyerId: string, bucket = 0) => `${at(eventId, bucket)}buyer:${eventId}:${buyerId}`,
    idempotency: (key: string, eventId: string, bucket = 0) => `${at(eventId, bucket)}idem:${key}`,
    purchase: (purchaseId: string) => `${shard(shardOfPurchaseId(purchaseId))}purchase:${purchaseId}`,
    /**
     * An event's waiting room (core/src/waiting-room/room-scripts.ts says what each holds),
     * tagged by the event: a room's scripts stay in one slot, rooms spread across masters.
     */
    roomConfig: (eventId: string) => `${prefix}room:{${eventId}}:cfg`,
    roomLine: (eventId: string) => `${prefix}room:{${eventId}}:line`,
    roomSeen: (eventId: string) => `${prefix}room:{${eventId}}:seen`,
    roomAdmitted: (eventId: string) => `${prefix}room:{${eventId}}:admitted`,
    roomOut: (eventId: string) => `${prefix}room:{${eventId}}:out`,
    /** The pub/sub channel every replica listens on (core/src/backplane); a cluster carries it to every node. */
    backplane: () => `${prefix}backplane`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
