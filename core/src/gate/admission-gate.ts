import type { Redis } from 'ioredis';
import { isUuid } from '../purchases/purchase-id.js';
import type { PurchaseMessage } from '../purchases/purchase-message.js';
import {
  type DecidedStatus,
  type PurchaseFields,
  purchaseFieldsOf,
  type RejectionReason,
} from '../purchases/purchase-vocabulary.js';
import { redisIsReady } from '../redis/redis-client.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { scanKeys } from '../redis/scan-keys.js';
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

/** A purchase as the gate takes and gives back tickets for it. */
export type GatePurchase = PurchaseFields & { purchaseId: string };

export interface AdmitRequest extends GatePurchase {
  fingerprint: string;
  buyerLimit: number;
  ttlSeconds: number;
  requestId: string;
  acceptedBy: string;
  acceptedAt: string;
}

/** A committed decision, as the gate records it. */
export interface Settlement {
  status: DecidedStatus;
  reason: RejectionReason | null;
  decidedAt: string;
}

export interface ReconcileResult {
  /** The tier's total before (the sum of its buckets when split). */
  previous: number | null;
  /** The total after; null when the count had expired with nothing held: not made again, the tier left the tier set. */
  stock: number | null;
  /** Holds released (stale ones no message will settle). */
  released: number;
  /** True when any bucket's count (or the count's shape) changed, even with the total the same. */
  changed: boolean;
}

/** A hold older than the grace asked for: a purchase the gate still holds tickets for. */
export interface StaleHold {
  purchaseId: string;
  tierId: string;
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

/**
 * The admission gate in Redis (keys under `keys`): every step one atomic script, so no
 * two buyers take the same ticket and no retry is counted twice. The API admits, undoes
 * and primes; the worker settles and reconciles; both read purchase records.
 * `stockIdleTtlS`: the lifetime of a stock count with nothing held (see gate-scripts.ts).
 */
export function createGate(redis: Redis, keys: RedisKeys, stockIdleTtlS = STOCK_IDLE_TTL_S) {
  const commands = defineGateCommands(redis);

  /** The five keys of one request, in the order ADMIT and UNDO take them. */
  const requestKeys = (p: GatePurchase) => [
    keys.idempotency(p.idempotencyKey),
    keys.stock(p.tierId),
    keys.buyer(p.eventId, p.buyerId),
    keys.held(p.tierId),
    keys.purchase(p.purchaseId),
  ];

  /** The four keys and seven args of one purchase's settle (see SETTLE_MANY in gate-scripts.ts). */
  function settleArgs(m: PurchaseMessage, s: Settlement, ttlSeconds: number): [string[], (string | number)[]] {
    // A gated purchase's record already holds its fields (ADMIT wrote them): sent only for an ungated one.
    const fields = m.gated ? '' : JSON.stringify({ ...purchaseFieldsOf(m), acceptedAt: m.acceptedAt, gated: '0' });
    return [
      [keys.stock(m.tierId), keys.buyer(m.eventId, m.buyerId), keys.held(m.tierId), keys.purchase(m.purchaseId)],
      [m.purchaseId, s.status, s.reason ?? '', m.quantity, ttlSeconds, s.decidedAt, fields],
    ];
  }

  /** Runs the commands in one pipeline; the replies in order, the first error thrown. */
  async function inOneRoundTrip(calls: [string, ...string[]][]): Promise<unknown[]> {
    if (calls.length === 0) return [];
    const replies = (await redis.pipeline(calls).exec()) ?? [];
    return calls.map((_, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      return value;
    });
  }

  /** Tier ids found by scanning for stock keys (counts primed before the tier set existed). */
  async function scanStockTiers(): Promise<string[]> {
    const stockPrefix = keys.stock('');
    const ids = new Set<string>();
    for await (const found of scanKeys(redis, stockPrefix)) {
      for (const key of found) {
        const id = key.slice(stockPrefix.length);
        if (isUuid(id)) ids.add(id);
      }
    }
    return [...ids];
  }

  return {
    /** True when Redis can take commands now; while it cannot, purchases go ungated. */
    isReady: (): boolean => redisIsReady(redis),

    /**
     * One atomic step: the duplicate check first (a retry never takes tickets twice), then
     * stock, then the buyer's limit; on success the tickets are taken, held for this
     * purchase, and its status recorded as queued. On a split tier they are taken from the
     * purchase's home bucket, topped up from the others when it is short (gate-scripts.ts).
     */
    async admit(r: AdmitRequest): Promise<AdmitOutcome> {
      const [kind, purchaseId, bucket] = await commands.stampedeAdmit(
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
      );
      if (kind === 'admitted') return { kind, purchaseId, bucket: bucket ?? 0 };
      if (kind === 'duplicate' || kind === 'key_reused') return { kind, purchaseId };
      return { kind } as AdmitOutcome;
    },

    /** Gives back an admission whose message could not be queued: stock (to the bucket it came from), buyer count, key. */
    async undo(p: GatePurchase): Promise<void> {
      await commands.stampedeUndo(...requestKeys(p), p.purchaseId, p.quantity, stockIdleTtlS);
    },

    /** True when the gate remembers this Idempotency-Key (the request is a retry). */
    async knowsKey(idempotencyKey: string): Promise<boolean> {
      return (await redis.exists(keys.idempotency(idempotencyKey))) > 0;
    },

    /**
     * Sets a tier's stock if the gate does not know it yet (NX: never overwrites a live
     * count), and registers the tier in the gate's tier set, in one script, so that
     * reconciliation finds every stock count without scanning the keyspace. `available`:
     * what Postgres has left, one figure for a tier that is not split, one per bucket
     * (availableForGate in core/src/events) for a split tier.
     */
    async prime(tierId: string, available: number | number[]): Promise<void> {
      await commands.stampedePrime(
        keys.stock(tierId),
        keys.held(tierId),
        keys.gateTiers(),
        tierId,
        stockIdleTtlS,
        ...figures(available),
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
     * call per few hundred purchases instead of one round trip each. Atomic per chunk, safe
     * to repeat (only the first settle of a purchase finds it held). Returns how many holds
     * these calls released.
     */
    async settleMany(
      items: { message: PurchaseMessage; settlement: Settlement }[],
      ttlSeconds: number,
    ): Promise<number> {
      const calls: Promise<number>[] = [];
      for (let i = 0; i < items.length; i += SETTLE_CHUNK) {
        const chunk = items
          .slice(i, i + SETTLE_CHUNK)
          .map(({ message, settlement }) => settleArgs(message, settlement, ttlSeconds));
        calls.push(
          commands.stampedeSettleMany(
            chunk.length * 4,
            ...chunk.flatMap(([k]) => k),
            stockIdleTtlS,
            ...chunk.flatMap(([, a]) => a),
          ),
        );
      }
      return (await Promise.all(calls)).reduce((sum, n) => sum + n, 0);
    },

    /**
     * Makes the gate offer exactly what Postgres has left (capacity − sold) minus what is
     * still held, bucket by bucket for a split tier (`available`: one figure per bucket),
     * after releasing the holds named (their buyers' counts given back). Call only when the
     * queue is idle. A count that expired with nothing held stays unprimed and the tier
     * leaves the tier set.
     */
    async reconcileTier(
      tierId: string,
      available: number | number[],
      release: string[] = [],
    ): Promise<ReconcileResult> {
      const buckets = figures(available);
      const [previous, stock, released, changed] = await commands.stampedeReconcile(
        keys.stock(tierId),
        keys.held(tierId),
        keys.gateTiers(),
        tierId,
        stockIdleTtlS,
        buckets.length,
        ...buckets,
        ...release,
      );
      return {
        previous: previous < 0 ? null : previous,
        stock: stock < 0 ? null : stock,
        released,
        changed: changed === 1,
      };
    },

    /**
     * The holds of these tiers taken more than `olderThanMs` ago, with their records: two
     * round trips, whatever the number of tiers.
     */
    async staleHolds(tierIds: string[], olderThanMs: number): Promise<StaleHold[]> {
      const held = await inOneRoundTrip(tierIds.map((id) => ['hgetall', keys.held(id)]));
      const cutoff = Date.now() - olderThanMs;
      const stale = tierIds.flatMap((tierId, i) =>
        Object.entries(held[i] as Record<string, string>)
          .map(([purchaseId, v]) => ({ purchaseId, tierId, heldAtMs: Number(v.split('|', 2)[1]) }))
          .filter((h) => h.heldAtMs < cutoff),
      );
      const records = await inOneRoundTrip(stale.map((h) => ['hgetall', keys.purchase(h.purchaseId)]));
      return stale.map((h, i) => {
        const hash = records[i] as Record<string, string>;
        return { ...h, record: Object.keys(hash).length > 0 ? toPurchaseRecord(hash) : undefined };
      });
    },

    /** Notes on their records that these purchases were published again, and when. */
    async markRepublished(purchaseIds: string[], at: string): Promise<void> {
      await inOneRoundTrip(purchaseIds.map((id) => ['hset', keys.purchase(id), 'republishedAt', at]));
    },

    /**
     * The tiers the gate holds a stock count for, from its tier set. With `scan`, the
     * keyspace is first scanned for stock counts primed before the set existed (a lab
     * upgraded in place), and they join the set: a pass for once per process, not for
     * every reconciliation.
     */
    async tiers(options: { scan?: boolean } = {}): Promise<string[]> {
      if (options.scan) {
        const found = await scanStockTiers();
        if (found.length > 0) await redis.sadd(keys.gateTiers(), ...found);
      }
      return (await redis.smembers(keys.gateTiers())).filter((id) => isUuid(id));
    },

    /**
     * Takes tiers whose event was deleted from Postgres out of the gate: out of the tier
     * set, their stock and held tickets deleted, in one transaction. No sale can need
     * them: a replica that still knew the event would prime the tier with 0 (Postgres has no row).
     */
    async forgetTiers(tierIds: string[]): Promise<void> {
      if (tierIds.length === 0) return;
      const tx = redis.multi().srem(keys.gateTiers(), ...tierIds);
      for (const id of tierIds) tx.unlink(keys.stock(id), keys.held(id));
      const results = await tx.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('forgetting tiers was not executed');
    },

    /** The stock (a split tier's total, and each bucket's) and the held tickets of each tier, read in one round trip. */
    async tierStates(tierIds: string[]): Promise<Map<string, TierState>> {
      const replies = await inOneRoundTrip(
        tierIds.map((id): [string, ...string[]] => ['stampedeTierState', keys.stock(id), keys.held(id)]),
      );
      const out = new Map<string, TierState>();
      tierIds.forEach((id, i) => {
        const [stock, held, ...buckets] = replies[i] as number[];
        out.set(id, {
          stock: stock === undefined || stock < 0 ? null : stock,
          held: held ?? 0,
          ...(buckets.length > 0 ? { buckets } : {}),
        });
      });
      return out;
    },
  };
}

export type Gate = ReturnType<typeof createGate>;

/** What Postgres has left, as the scripts take it: one figure per bucket (one for a tier not split), none below 0. */
function figures(available: number | number[]): number[] {
  const list = typeof available === 'number' ? [available] : available;
  return (list.length > 0 ? list : [0]).map((n) => Math.max(0, n));
}
