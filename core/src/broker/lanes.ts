/**
 * The lane a purchase of this tier and bucket is decided in: FNV-1a (32 bits) of
 * `tierId:bucket`, mod the lane count. Publishers route by it and workers batch by it, so
 * it must be the same function everywhere: every purchase of one (tier, bucket) travels
 * one lane, in publish order.
 */
export function laneOf(tierId: string, bucket: number, lanes: number): number {
  if (lanes <= 1) return 0;
  const key = `${tierId}:${bucket}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % lanes;
}
