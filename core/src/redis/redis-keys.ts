/** Every Redis key Stampede uses, under one prefix so labs and tests can share a server. */
export function redisKeys(prefix: string) {
  return {
    availability: (eventId: string) => `${prefix}avail:${eventId}`,
    catalog: (eventId: string) => `${prefix}catalog:${eventId}`,
    stock: (tierId: string) => `${prefix}stock:${tierId}`,
    /** The set of tier ids the gate holds a stock count for: what reconciliation walks. */
    gateTiers: () => `${prefix}gate:tiers`,
    held: (tierId: string) => `${prefix}held:${tierId}`,
    buyer: (eventId: string, buyerId: string) => `${prefix}buyer:${eventId}:${buyerId}`,
    idempotency: (key: string) => `${prefix}idem:${key}`,
    purchase: (purchaseId: string) => `${prefix}purchase:${purchaseId}`,
    /** An event's waiting room (core/src/waiting-room/room-scripts.ts says what each holds). */
    roomConfig: (eventId: string) => `${prefix}room:${eventId}:cfg`,
    roomLine: (eventId: string) => `${prefix}room:${eventId}:line`,
    roomSeen: (eventId: string) => `${prefix}room:${eventId}:seen`,
    roomAdmitted: (eventId: string) => `${prefix}room:${eventId}:admitted`,
    roomOut: (eventId: string) => `${prefix}room:${eventId}:out`,
    /** The pub/sub channel every replica listens on (core/src/backplane). */
    backplane: () => `${prefix}backplane`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
