import { describe, expect, it } from 'vitest';
import { GATE_SHARD_TAGS, GATE_SHARDS, gateShard, hashSlot } from '../src/purchases/gate-shard.js';
import { isPurchaseIdOf, placePurchase, purchaseIdFor, shardOfPurchaseId } from '../src/purchases/purchase-id.js';

/** The master of a slot on a cluster of `masters` owning equal contiguous ranges. */
const masterOf = (slot: number, masters: number) => Math.floor((slot * masters) / 16_384);

describe('the gate shards', () => {
  it('when a tag is hashed, then its slot is the one Redis Cluster computes (CRC16/XMODEM of the reference vector)', () => {
    expect(hashSlot('123456789')).toBe(0x31c3 % 16_384);
    expect(hashSlot('foo')).toBe(12_182); // CLUSTER KEYSLOT foo
  });

  it('when consecutive shards are placed on a cluster of 3, 4 or 6 masters with contiguous ranges, then no two share a master', () => {
    expect(GATE_SHARD_TAGS).toHaveLength(GATE_SHARDS);
    for (const masters of [3, 4, 6])
      for (let n = 0; n < GATE_SHARDS - 1; n++)
        expect(masterOf(hashSlot(GATE_SHARD_TAGS[n]!), masters)).not.toBe(
          masterOf(hashSlot(GATE_SHARD_TAGS[n + 1]!), masters),
        );
    expect(new Set(GATE_SHARD_TAGS.map(hashSlot)).size).toBe(GATE_SHARDS);
  });

  it("when a purchase is placed, then its id names the shard of its event and home bucket, a retry gets the same id, and the id is still the key's", () => {
    const eventId = '00000000-0000-4000-8000-0000000000a2';
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const key = `key-${i}`;
      const place = placePurchase(key, eventId, 4);
      expect(place.shard).toBe(gateShard(eventId, place.bucket));
      expect(shardOfPurchaseId(place.purchaseId)).toBe(place.shard);
      expect(placePurchase(key, eventId, 4)).toEqual(place);
      expect(isPurchaseIdOf(key, place.purchaseId)).toBe(true);
      expect(isPurchaseIdOf(`other-${i}`, place.purchaseId)).toBe(false);
      expect(place.purchaseId).toBe(purchaseIdFor(key, place.shard));
      seen.add(place.bucket);
    }
    expect(seen.size).toBe(4);
    expect(placePurchase('k', eventId, 1)).toMatchObject({ bucket: 0, shard: gateShard(eventId) });
  });
});
