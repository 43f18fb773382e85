import type { Redis } from 'ioredis';
import { gateShard } from '../purchases/gate-shard.js';
import { isUuid, shardOfPurchaseId } from '../purchases/purchase-id.js';
import type { PurchaseMessage } from '../purchases/purchase-message.js';
import {
  type DecidedStatus,
  type PurchaseFields,
  purchaseFieldsOf,
  type RejectionReason,
} from '../purchases/purchase-vocabulary.js';
import { redisIsReady } from '../redis/redis-client.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { bucketTargets } from './bucket-targets.js';
import { defineGateCommands } from './gate-commands.js';
import { type PurchaseRecord, toPurchaseRecord } from './purchase-record.js';

export type AdmitOutcome =
  /** `bucket`: the bucket of a split tier the gate took the tickets from (0 when not split). */
  | { kind: 'admitted'; purchaseId: string; bucket: number }
  | { kind: 'duplicate'; purchaseId: string }
  | { kind: 'key_reused'; purchaseId: string }
  | { kind: 'sold_out' }
  | { kind: 'limit_exceeded' }
  /** The gate does not know this tier's stock yet: prime it from Postgres and ask again. */
  | { kind: 'unprimed' };

/** A purchase as the gate takes and gives back tickets for it: `bucket`, its tier's bucket (0, or absent, when not split). */
export type GatePurchase = PurchaseFields & { purchaseId: string; bucket?: number };

export interface AdmitRequest extends GatePurchase {
  bucket: number;
  /** The tier's K buckets (1: not split). */
  buckets: number;
  fingerprint: string;
  buyerLimit: number;
  ttlSeconds: number;
  requestId: string;
  acceptedBy: string;
  acceptedAt: string;
}

/** A tier as the gate registers it when priming: its id and its event's (which places its keys). */
export interface GateTier {
  id: string;
  eventId: string;
}

/** A committed decision, as the gate records it. */
export interface Settlement {
  status: DecidedStatus;
  reason: RejectionReason | null;
  decidedAt: string;
}

export interface ReconcileResult {
  /** The tier's total before (the sum of its buckets when split); null when no bucket was primed. */
  previous: number | null;
  /** The total after; null when the count had expired with nothing held: not made again, the tier left the registry. */
  stock: number | null;
  /** Holds released (stale ones no message will settle). */
  released: number;
  /** True when any bucket's count changed, even with the total the same. */
  changed: boolean;
  /** Buckets left for the next pass: a purchase came or was settled while the pass read them. */
  deferred: number;
}

/** A hold older than the grace asked for: a purchase the gate still holds tickets for. */
export interface StaleHold {
  purchaseId: string;
  tierId: string;
  bucket: number;
  quantity: number;
  /** When the gate admitted it (epoch ms). */
  heldAtMs: number;
  /** Its record, undefined when the gate no longer keeps one. */
  record: PurchaseRecord | undefined;
}

/**
 * How long a tier's stock count lives once nothing is held (every ticket it gave out
 * decided), unless a purchase comes: then the next purchase primes it again from Postgres.
 */
export const STOCK_IDLE_TTL_S = 86_400;

/**
 * What the gate holds for a tier: the stock it still offers (null when unprimed; a split
 * tier's total) and the tickets held; `buckets`, for a split tier, the stock of each bucket.
 */
export interface TierState {
  stock: number | null;
  held: number;
  buckets?: number[];
}

/** Purchases settled per Lua call: bounds how long one call holds Redis (~1 ms per few hundred). */
const SETTLE_CHUNK = 250;

/** A tier the registry knows: its event and K. */
interface TierShape extends GateTier {
  buckets: number;
}

/**
 * The admission gate in Redis (keys under `keys`): every step one atomic script on the keys
 * of one gate shard, so no two buyers take the same ticket and no retry is counted twice.
 * The API admits, undoes and primes; the worker settles and reconciles; both read purchase
 * records. `stockIdleTtlS`: the lifetime of a stock count with nothing held (see gate-scripts.ts).
 */
export function createGate(redis: Redis, keys: RedisKeys, stockIdleTtlS = STOCK_IDLE_TTL_S) {
  const commands = defineGateCommands(redis);

  /** The five keys of one request, in the order ADMIT and UNDO take them: all in its bucket's shard. */
  const requestKeys = ({ bucket = 0, ...p }: GatePurchase) => [
    keys.idempotency(p.idempotencyKey, p.eventId, bucket),
    keys.stock(p.eventId, p.tierId, bucket),
    keys.buyer(p.eventId, p.buyerId, bucket),
    keys.held(p.eventId, p.tierId, bucket),
    keys.purchase(p.purchaseId),
  ];

  /** The bucket of a message: the one it names (a gated purchase's, where the gate took its tickets). */
  const bucketOfMessage = (m: PurchaseMessage) => m.bucket ?? 0;

  /** The four keys and seven args of one purchase's settle (see SETTLE_MANY in gate-scripts.ts). */
  function settleArgs(m: PurchaseMessage, s: Settlement, ttlSeconds: number): [string[], (string | number)[]] {
    const bucket = bucketOfMessage(m);
    // A gated purchase's record already holds its fields (ADMIT wrote them): sent only for an ungated one.
    const fields = m.gated ? '' : JSON.stringify({ ...purchaseFieldsOf(m), acceptedAt: m.acceptedAt, gated: '0' });
    return [
      [
        keys.stock(m.eventId, m.tierId, bucket),
        keys.buyer(m.eventId, m.buyerId, bucket),
        keys.held(m.eventId, m.tierId, bucket),
        keys.purchase(m.purchaseId),
      ],
      [m.purchaseId, s.status, s.reason ?? '', m.quantity, ttlSeconds, s.decidedAt, fields],
    ];
  }

  /** The tiers of these ids the registry knows, with their event and K (one round trip). */
  async function shapes(tierIds: string[]): Promise<TierShape[]> {
    if (tierIds.length === 0) return [];
    const values = await redis.hmget(keys.gateTiers(), ...tierIds);
    return tierIds.flatMap((id, i) => {
      const shape = values[i] ? shapeOf(id, values[i]) : undefined;
      return shape ? [shape] : [];
    });
  }

  /** Each bucket of each tier, in order: what the per-bucket reads and writes walk. */
  const bucketsOf = (tiers: TierShape[]) =>
    tiers.flatMap((t) => Array.from({ length: t.buckets }, (_, bucket) => ({ tier: t, bucket })));

  /**
   * Tops a split tier's bucket up from the others, in bucket order, by up to `need` tickets:
   * each donor gives what it has (MOVE_OUT), then the bucket receives it (MOVE_IN). Two
   * steps in two slots: a process dying between them offers those tickets nowhere until
   * reconciliation gives them back (an undersell for a while, never an oversell). Returns
   * what moved, or undefined when a donor is unprimed.
   */
  async function topUp(r: AdmitRequest, need: number): Promise<number | undefined> {
    let moved = 0;
    for (let d = 0; d < r.buckets && moved < need; d++) {
      if (d === r.bucket) continue;
      const donor = keys.stock(r.eventId, r.tierId, d);
      const taken = await commands.stampedeMoveOut(donor, need - moved);
      if (taken < 0) return undefined;
      if (taken === 0) continue;
      if ((await commands.stampedeMoveIn(keys.stock(r.eventId, r.tierId, r.bucket), taken)) === 1) moved += taken;
      else await commands.stampedeMoveIn(donor, taken);
    }
    return moved;
  }

  async function admitOnce(r: AdmitRequest): Promise<[string, string, number]> {
    return commands.stampedeAdmit(
      ...requestKeys(r),
      r.purchaseId,
      r.fingerprint,
      r.quantity,
      r.buyerLimit,
      r.ttlSeconds,
      Date.now(),
      r.eventId,
      r.tierId,
      r.buyerId,
      r.requestId,
      r.acceptedBy,
      r.acceptedAt,
      r.idempotencyKey,
      r.buckets > 1 ? r.bucket : '',
    );
  }

  return {
    /** True when Redis can take commands now; while it cannot, purchases go ungated. */
    isReady: (): boolean => redisIsReady(redis),

    /**
     * One atomic step in the purchase's bucket: the duplicate check first (a retry never
     * takes tickets twice), then stock, then the buyer's limit; on success the tickets are
     * taken, held for this purchase, and its status recorded as queued. A split tier's
     * bucket that is short is topped up from the others and asked again, until a sweep of
     * the others finds too little: the gate answers sold out when its sweep found the tier
     * short (2K + 2 tries at most, against buyers racing for the same tickets).
     */
    async admit(r: AdmitRequest): Promise<AdmitOutcome> {
      for (let attempt = 0; ; attempt++) {
        const [kind, purchaseId, stock] = await admitOnce(r);
        if (kind === 'admitted') return { kind, purchaseId, bucket: r.bucket };
        if (kind === 'duplicate' || kind === 'key_reused') return { kind, purchaseId };
        if (kind !== 'short') return { kind } as AdmitOutcome;
        // The K the gate was primed with (a catalog seconds old may not know the split yet).
        const buckets = (await shapes([r.tierId]))[0]?.buckets ?? r.buckets;
        if (buckets <= 1 || attempt > 2 * buckets) return { kind: 'sold_out' };
        const moved = await topUp({ ...r, buckets }, r.quantity - stock);
        if (moved === undefined) return { kind: 'unprimed' };
        if (moved === 0) return { kind: 'sold_out' };
      }
    },

    /** Gives back an admission whose message could not be queued: stock (to its bucket), buyer count, key. */
    async undo(p: GatePurchase): Promise<void> {
      await commands.stampedeUndo(...requestKeys(p), p.purchaseId, p.quantity, stockIdleTtlS);
    },

    /** True when the gate remembers this Idempotency-Key in the purchase's bucket (the request is a retry). */
    async knowsKey(idempotencyKey: string, eventId: string, bucket = 0): Promise<boolean> {
      return (await redis.exists(keys.idempotency(idempotencyKey, eventId, bucket))) > 0;
    },

    /**
     * Sets a tier's stock if the gate does not know it yet (NX: never overwrites a live
     * count), bucket by bucket, after registering the tier (its event and K), so that
     * reconciliation finds every stock count without scanning the keyspace. `available`:
     * what Postgres has left, one figure for a tier that is not split, one per bucket
     * (availableForGate in core/src/events) for a split tier.
     */
    async prime(tier: GateTier, available: number | number[]): Promise<void> {
      const buckets = figures(available);
      await redis.hset(keys.gateTiers(), tier.id, `${tier.eventId}|${buckets.length}`);
      await Promise.all(
        buckets.map((n, b) =>
          commands.stampedePrime(
            keys.stock(tier.eventId, tier.id, b),
            keys.held(tier.eventId, tier.id, b),
            stockIdleTtlS,
            n,
          ),
        ),
      );
    },

    /** The record of a purchase, or undefined when the gate holds none. */
    async record(purchaseId: string): Promise<PurchaseRecord | undefined> {
      const hash = await redis.hgetall(keys.purchase(purchaseId));
      return Object.keys(hash).length > 0 ? toPurchaseRecord(hash) : undefined;
    },

    /**
     * Records the committed decisions of a batch: each releases its hold (a rejection gives
     * the tickets back) and writes the final status where pollers read it, in one script
     * call per shard and few hundred purchases instead of one round trip each. Atomic per
     * call, safe to repeat (only the first settle of a purchase finds it held). A purchase
     * whose id names another shard than its bucket's (one accepted before the gate was
     * sharded) is left to reconciliation. Returns how many holds these calls released.
     */
    async settleMany(
      items: { message: PurchaseMessage; settlement: Settlement }[],
      ttlSeconds: number,
    ): Promise<number> {
      const byShard = new Map<number, [string[], (string | number)[]][]>();
      for (const { message, settlement } of items) {
        const shard = gateShard(message.eventId, bucketOfMessage(message));
        if (shard !== shardOfPurchaseId(message.purchaseId)) continue;
        const group = byShard.get(shard) ?? [];
        group.push(settleArgs(message, settlement, ttlSeconds));
        byShard.set(shard, group);
      }
      const calls: Promise<number>[] = [];
      for (const group of byShard.values()) {
        for (let i = 0; i < group.length; i += SETTLE_CHUNK) {
          const chunk = group.slice(i, i + SETTLE_CHUNK);
          calls.push(
            commands.stampedeSettleMany(
              chunk.length * 4,
              ...chunk.flatMap(([k]) => k),
              stockIdleTtlS,
              ...chunk.flatMap(([, a]) => a),
            ),
          );
        }
      }
      return (await Promise.all(calls)).reduce((sum, n) => sum + n, 0);
    },

    /**
     * Makes the gate offer exactly what Postgres has left (capacity − sold) minus what is
     * still held, bucket by bucket for a split tier (`available`: one figure per bucket,
     * planned by bucketTargets), after releasing the holds named (their buyers' counts
     * given back). Call only when the queue is idle. A bucket whose holds changed while
     * this read them is left for the next pass (`deferred`). A count that expired with
     * nothing held stays unprimed; a tier with no count left leaves the registry.
     */
    async reconcileTier(
      tierId: string,
      available: number | number[],
      release: string[] = [],
    ): Promise<ReconcileResult> {
      const none: ReconcileResult = { previous: null, stock: null, released: 0, changed: false, deferred: 0 };
      const [shape] = await shapes([tierId]);
      if (!shape) return none;
      const avail = figures(available);
      const tier = { ...shape, buckets: avail.length };
      const holds = await heldOf([tier]);
      const releaseSet = new Set(release);
      // What each bucket holds once the named holds are released: what the targets are planned with.
      const heldAfter = avail.map(() => 0);
      for (const h of holds) if (!releaseSet.has(h.purchaseId)) heldAfter[h.bucket]! += h.quantity;
      const targets = bucketTargets(avail, heldAfter);
      const releaseOf = (b: number) =>
        holds.filter((h) => h.bucket === b && releaseSet.has(h.purchaseId)).map((h) => h.purchaseId);
      const replies = await Promise.all(
        targets.map((target, b) =>
          commands.stampedeReconcile(
            keys.stock(tier.eventId, tierId, b),
            keys.held(tier.eventId, tierId, b),
            stockIdleTtlS,
            target,
            heldAfter[b]!,
            ...releaseOf(b),
          ),
        ),
      );
      // Buckets beyond Postgres's K (a registry written with a stale K) are emptied of nothing: they hold no stock Postgres knows.
      if (shape.buckets !== avail.length) await redis.hset(keys.gateTiers(), tierId, `${tier.eventId}|${avail.length}`);
      const primed = replies.filter(([previous]) => previous >= 0);
      const kept = replies.filter(([, now]) => now >= 0);
      if (kept.length === 0) await redis.hdel(keys.gateTiers(), tierId);
      return {
        previous: primed.length > 0 ? primed.reduce((n, [p]) => n + p, 0) : null,
        stock: kept.length > 0 ? kept.reduce((n, [, s]) => n + s, 0) : null,
        released: replies.reduce((n, [, , r]) => n + r, 0),
        changed: replies.some(([, , , c]) => c === 1),
        deferred: replies.filter(([, , , c]) => c === -1).length,
      };
    },

    /**
     * The holds of these tiers taken more than `olderThanMs` ago, with their records: two
     * rounds of reads, whatever the number of tiers.
     */
    async staleHolds(tierIds: string[], olderThanMs: number): Promise<StaleHold[]> {
      const cutoff = Date.now() - olderThanMs;
      const stale = (await heldOf(await shapes(tierIds))).filter((h) => h.heldAtMs < cutoff);
      const records = await Promise.all(stale.map((h) => redis.hgetall(keys.purchase(h.purchaseId))));
      return stale.map((h, i) => {
        const hash = records[i]!;
        return { ...h, record: Object.keys(hash).length > 0 ? toPurchaseRecord(hash) : undefined };
      });
    },

    /** Notes on their records that these purchases were published again, and when. */
    async markRepublished(purchaseIds: string[], at: string): Promise<void> {
      await Promise.all(purchaseIds.map((id) => redis.hset(keys.purchase(id), 'republishedAt', at)));
    },

    /** The tiers the gate holds a stock count for, from its registry. */
    async tiers(): Promise<string[]> {
      return Object.keys(await redis.hgetall(keys.gateTiers())).filter((id) => isUuid(id));
    },

    /**
     * Takes tiers whose event was deleted from Postgres out of the gate: their stock and held
     * tickets deleted, then out of the registry. No sale can need them: a replica that still
     * knew the event would prime the tier with 0 (Postgres has no row).
     */
    async forgetTiers(tierIds: string[]): Promise<void> {
      const known = await shapes(tierIds);
      await Promise.all(
        bucketsOf(known).map(({ tier, bucket }) =>
          redis.unlink(keys.stock(tier.eventId, tier.id, bucket), keys.held(tier.eventId, tier.id, bucket)),
        ),
      );
      if (tierIds.length > 0) await redis.hdel(keys.gateTiers(), ...tierIds);
    },

    /** The stock (a split tier's total, and each bucket's) and the held tickets of each tier the gate knows. */
    async tierStates(tierIds: string[]): Promise<Map<string, TierState>> {
      const known = await shapes(tierIds);
      const states = await bucketStates(known);
      const out = new Map<string, TierState>();
      let at = 0;
      for (const tier of known) {
        const own = states.slice(at, at + tier.buckets);
        at += tier.buckets;
        const primed = own.filter((s) => s.stock !== null);
        out.set(tier.id, {
          stock: primed.length > 0 ? primed.reduce((n, s) => n + s.stock!, 0) : null,
          held: own.reduce((n, s) => n + s.held, 0),
          ...(tier.buckets > 1 ? { buckets: own.map((s) => s.stock ?? 0) } : {}),
        });
      }
      return out;
    },
  };

  /** Each bucket's stock (null when unprimed) and held tickets, for these tiers' buckets in order. */
  async function bucketStates(tiers: TierShape[]): Promise<{ stock: number | null; held: number }[]> {
    const replies = await Promise.all(
      bucketsOf(tiers).map(({ tier, bucket }) =>
        commands.stampedeBucketState(
          keys.stock(tier.eventId, tier.id, bucket),
          keys.held(tier.eventId, tier.id, bucket),
        ),
      ),
    );
    return replies.map(([stock, held]) => ({ stock: stock < 0 ? null : stock, held }));
  }

  /** Every hold of these tiers, bucket by bucket. */
  async function heldOf(tiers: TierShape[]): Promise<Omit<StaleHold, 'record'>[]> {
    const cells = bucketsOf(tiers);
    const held = await Promise.all(
      cells.map(({ tier, bucket }) => redis.hgetall(keys.held(tier.eventId, tier.id, bucket))),
    );
    return cells.flatMap(({ tier, bucket }, i) =>
      Object.entries(held[i]!).map(([purchaseId, v]) => {
        const [quantity, heldAtMs] = v.split('|', 2).map(Number);
        return { purchaseId, tierId: tier.id, bucket, quantity: quantity ?? 0, heldAtMs: heldAtMs ?? 0 };
      }),
    );
  }
}

/** A registry value ("eventId|K") as a shape; undefined when it is not one. */
function shapeOf(id: string, value: string): TierShape | undefined {
  const [eventId, k] = value.split('|');
  const buckets = Number(k);
  return eventId && Number.isSafeInteger(buckets) && buckets >= 1 ? { id, eventId, buckets } : undefined;
}

export type Gate = ReturnType<typeof createGate>;

/** What Postgres has left, as the scripts take it: one figure per bucket (one for a tier not split), none below 0. */
function figures(available: number | number[]): number[] {
  const list = typeof available === 'number' ? [available] : available;
  return (list.length > 0 ? list : [0]).map((n) => Math.max(0, n));
}
