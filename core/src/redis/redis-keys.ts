/**
 * Every Redis key Stampede uses, under one prefix so labs and tests can share a server.
 *
 * On a Redis Cluster a Lua script or a MULTI may only touch keys of one hash slot. The gate's
 * keys (stock, held, buyer, idempotency, purchase record, tier set) share the hash tag
 * `{gate}`, so ADMIT, UNDO, SETTLE, PRIME, RECONCILE and the gate's pipelines never span slots
 * (no CROSSSLOT): a buyer's limit is per event across tiers and a purchase record is read by
 * its id alone, so no tag narrower than the whole gate is known to every script and reader.
 * The cache's keys are tagged by nothing but their own name and a waiting room's by its event,
 * so events spread across masters.
 */
export function redisKeys(prefix: string) {
  const gate = `${prefix}{gate}`;
  return {
    availability: (eventId: string) => `${prefix}avail:${eventId}`,
    catalog: (eventId: string) => `${prefix}catalog:${eventId}`,
    stock: (tierId: string) => `${gate}stock:${tierId}`,
    /** The set of tier ids the gate holds a stock count for: what reconciliation walks. */
    gateTiers: () => `${gate}tiers`,
    held: (tierId: string) => `${gate}held:${tierId}`,
    buyer: (eventId: string, buyerId: string) => `${gate}buyer:${eventId}:${buyerId}`,
    idempotency: (key: string) => `${gate}idem:${key}`,
    purchase: (purchaseId: string) => `${gate}purchase:${purchaseId}`,
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
