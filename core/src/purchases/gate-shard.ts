/**
 * The gate's keys spread over this many hash tags (redis-keys.ts), so that on a Redis
 * Cluster the gate of many events, and the buckets of one hot tier, land on different
 * masters. A purchase id carries its shard (purchase-id.ts), so its record is found from
 * the id alone.
 */
export const GATE_SHARDS = 64;

/** Cluster hash slots (Redis Cluster's fixed 16,384). */
const SLOTS = 16_384;

/**
 * The shard of an event's bucket: the event's own shard (a hash of its id) for bucket 0,
 * which is every tier not split, and the next ones for a split tier's other buckets. So an
 * event without a split tier keeps every key one script needs in one slot, buyer limit
 * included; a split tier spreads its buckets over K shards.
 */
export function gateShard(eventId: string, bucket = 0): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) h = Math.imul(h ^ eventId.charCodeAt(i), 0x01000193);
  return ((h >>> 0) + bucket) % GATE_SHARDS;
}

/**
 * The hash tag of each shard, chosen so that shard n hashes into slot range
 * (41·n mod 64) of 64 equal ranges: consecutive shards are 0.36 of the slot space apart
 * (one way round) and 0.64 (the other), so on a cluster of three or more masters owning
 * equal contiguous ranges (what `redis-cli --cluster create` gives) two consecutive buckets
 * of a tier never share a master.
 */
export const GATE_SHARD_TAGS: readonly string[] = Array.from({ length: GATE_SHARDS }, (_, n) => {
  const range = (41 * n) % GATE_SHARDS;
  for (let salt = 0; ; salt++) {
    const tag = `g${n}-${salt}`;
    if (Math.floor(hashSlot(tag) / (SLOTS / GATE_SHARDS)) === range) return tag;
  }
});

/** The cluster hash slot of a tag: CRC16 (XMODEM) mod 16,384, as Redis computes it. */
export function hashSlot(tag: string): number {
  let crc = 0;
  for (let i = 0; i < tag.length; i++) {
    crc ^= tag.charCodeAt(i) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}
