import type { Redis } from 'ioredis';
import type { PurchaseMessage, PurchaseStatus, RejectionReason } from '../purchases/purchase-message.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { ADMIT, RECONCILE, SETTLE, SETTLE_MANY, UNDO } from './gate-scripts.js';

export type AdmitOutcome =
  | { kind: 'admitted'; purchaseId: string }
  | { kind: 'duplicate'; purchaseId: string }
  | { kind: 'key_reused'; purchaseId: string }
  | { kind: 'sold_out' }
  | { kind: 'limit_exceeded' }
  /** The gate does not know this tier's stock yet: prime it from Postgres and ask again. */
  | { kind: 'unprimed' };

interface GateCommands {
  stampedeAdmit(...args: (string | number)[]): Promise<[string, string]>;
  stampedeUndo(...args: (string | number)[]): Promise<number>;
  stampedeSettle(...args: (string | number)[]): Promise<number>;
  stampedeSettleMany(numberOfKeys: number, ...args: (string | number)[]): Promise<number>;
  stampedeReconcile(...args: (string | number)[]): Promise<[number, number, number]>;
}

const defined = new WeakSet<Redis>();

/**
 * Registers the gate scripts on a client once; ioredis then calls them by SHA. A client
 * with auto-pipelining must have them before its first command: a pipeline opened
 * earlier in the same event-loop turn would not know a command defined later
 * (ioredis#1931), so createRedis calls this at once; other clients get it on first use.
 */
export function defineGateCommands(redis: Redis): GateCommands {
  if (!defined.has(redis)) {
    redis.defineCommand('stampedeAdmit', { numberOfKeys: 5, lua: ADMIT });
    redis.defineCommand('stampedeUndo', { numberOfKeys: 5, lua: UNDO });
    redis.defineCommand('stampedeSettle', { numberOfKeys: 4, lua: SETTLE });
    // Key count varies with the batch: passed first on each call.
    redis.defineCommand('stampedeSettleMany', { lua: SETTLE_MANY });
    redis.defineCommand('stampedeReconcile', { numberOfKeys: 2, lua: RECONCILE });
    defined.add(redis);
  }
  return redis as unknown as GateCommands;
}

export interface AdmitRequest {
  purchaseId: string;
  idempotencyKey: string;
  fingerprint: string;
  eventId: string;
  tierId: string;
  buyerId: string;
  quantity: number;
  buyerLimit: number;
  ttlSeconds: number;
  requestId: string;
  acceptedBy: string;
  acceptedAt: string;
}

/**
 * One atomic step: the duplicate check first (a retry never takes tickets twice), then
 * stock, then the buyer's limit; on success the tickets are taken, held for this
 * purchase, and its status recorded as queued.
 */
export async function admit(redis: Redis, keys: RedisKeys, r: AdmitRequest): Promise<AdmitOutcome> {
  const [kind, purchaseId] = await defineGateCommands(redis).stampedeAdmit(
    keys.idempotency(r.idempotencyKey),
    keys.stock(r.tierId),
    keys.buyer(r.eventId, r.buyerId),
    keys.held(r.tierId),
    keys.purchase(r.purchaseId),
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
  if (kind === 'admitted' || kind === 'duplicate' || kind === 'key_reused') return { kind, purchaseId };
  return { kind } as AdmitOutcome;
}

/** Gives back an admission whose message could not be queued: stock, buyer count, key. */
export async function undoAdmission(
  redis: Redis,
  keys: RedisKeys,
  r: Pick<AdmitRequest, 'purchaseId' | 'idempotencyKey' | 'eventId' | 'tierId' | 'buyerId' | 'quantity'>,
): Promise<void> {
  await defineGateCommands(redis).stampedeUndo(
    keys.idempotency(r.idempotencyKey),
    keys.stock(r.tierId),
    keys.buyer(r.eventId, r.buyerId),
    keys.held(r.tierId),
    keys.purchase(r.purchaseId),
    r.purchaseId,
    r.quantity,
  );
}

/**
 * Sets a tier's gate stock if the gate does not know it yet (NX: never overwrites a live
 * count), and registers the tier in the gate's tier set, in one transaction, so that
 * reconciliation finds every stock count without scanning the keyspace.
 */
export async function primeStock(redis: Redis, keys: RedisKeys, tierId: string, available: number): Promise<void> {
  const results = await redis
    .multi()
    .sadd(keys.gateTiers(), tierId)
    .set(keys.stock(tierId), Math.max(0, available), 'NX')
    .exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('gate priming was not executed');
}

export interface Settlement {
  status: Exclude<PurchaseStatus, 'queued'>;
  reason: RejectionReason | null;
  decidedAt: string;
}

/**
 * Records a committed decision in the gate: releases the hold (a rejection gives the
 * tickets back), and writes the final status where pollers read it. Safe to repeat.
 * Returns true when this call released the hold.
 */
export async function settle(
  redis: Redis,
  keys: RedisKeys,
  m: PurchaseMessage,
  s: Settlement,
  ttlSeconds: number,
): Promise<boolean> {
  const [k, a] = settleArgs(keys, m, s, ttlSeconds);
  return (await defineGateCommands(redis).stampedeSettle(...k, ...a)) === 1;
}

/** Purchases settled per Lua call: bounds how long one call holds Redis (~1 ms per few hundred). */
const SETTLE_CHUNK = 250;

/**
 * `settle` for a committed batch: the same script body run for every purchase, in a few
 * calls instead of one round trip each (a drain settles thousands per second). Atomic per
 * chunk, idempotent like `settle`. Returns how many holds these calls released.
 */
export async function settleMany(
  redis: Redis,
  keys: RedisKeys,
  items: { message: PurchaseMessage; settlement: Settlement }[],
  ttlSeconds: number,
): Promise<number> {
  const calls: Promise<number>[] = [];
  for (let i = 0; i < items.length; i += SETTLE_CHUNK) {
    const chunk = items
      .slice(i, i + SETTLE_CHUNK)
      .map(({ message, settlement }) => settleArgs(keys, message, settlement, ttlSeconds));
    calls.push(
      defineGateCommands(redis).stampedeSettleMany(
        chunk.length * 4,
        ...chunk.flatMap(([k]) => k),
        ...chunk.flatMap(([, a]) => a),
      ),
    );
  }
  return (await Promise.all(calls)).reduce((sum, n) => sum + n, 0);
}

/** The four keys and seven args of one purchase's settle (see SETTLE in gate-scripts.ts). */
function settleArgs(
  keys: RedisKeys,
  m: PurchaseMessage,
  s: Settlement,
  ttlSeconds: number,
): [string[], (string | number)[]] {
  const fields = {
    eventId: m.eventId,
    tierId: m.tierId,
    buyerId: m.buyerId,
    quantity: m.quantity,
    idempotencyKey: m.idempotencyKey,
    acceptedAt: m.acceptedAt,
    gated: m.gated ? '1' : '0',
  };
  return [
    [keys.stock(m.tierId), keys.buyer(m.eventId, m.buyerId), keys.held(m.tierId), keys.purchase(m.purchaseId)],
    [m.purchaseId, s.status, s.reason ?? '', m.quantity, ttlSeconds, s.decidedAt, JSON.stringify(fields)],
  ];
}

export interface ReconcileResult {
  previous: number | null;
  stock: number;
  orphansReleased: number;
}

/**
 * Makes the gate offer exactly what Postgres has left (capacity − sold) minus what is
 * still held, releasing holds older than `orphanAgeMs`. Call only when the queue is idle.
 */
export async function reconcileTier(
  redis: Redis,
  keys: RedisKeys,
  tierId: string,
  available: number,
  orphanAgeMs: number,
): Promise<ReconcileResult> {
  const [previous, stock, orphansReleased] = await defineGateCommands(redis).stampedeReconcile(
    keys.stock(tierId),
    keys.held(tierId),
    available,
    Date.now(),
    orphanAgeMs,
  );
  return { previous: previous < 0 ? null : previous, stock, orphansReleased };
}

/** The status record of a purchase as the gate and worker keep it in Redis. */
export async function readPurchaseRecord(
  redis: Redis,
  keys: RedisKeys,
  purchaseId: string,
): Promise<Record<string, string> | undefined> {
  const record = await redis.hgetall(keys.purchase(purchaseId));
  return Object.keys(record).length > 0 ? record : undefined;
}
