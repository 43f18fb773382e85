/**
 * The admission gate's Lua scripts. Each runs atomically in Redis, so no two buyers
 * can take the same ticket from the gate and no retry is counted twice.
 *
 * Every script touches the keys of one gate shard (redis-keys.ts): the stock and held of
 * one bucket of a tier (a tier not split is its bucket 0), the buyer's count and the
 * request's keys. Stock: the tickets the bucket still offers (a plain count). Held: hash
 * purchaseId → "qty|acceptedAtMs|buyerKey", the tickets the bucket gave out that no decision
 * has settled. A split tier keeps one stock and one held per bucket, each in its bucket's
 * shard; a bucket that runs short is topped up from the others by MOVE_OUT and MOVE_IN,
 * which the gate (admission-gate.ts) runs in turn.
 * The stock key has a lifetime only while nothing is held: every script that empties the
 * held hash starts it, ADMIT (the one that fills it) removes it. So a stock count expires
 * only when every ticket it gave out is decided in Postgres, where capacity − sold is
 * then the same figure, and priming again from it offers nothing twice.
 * Keys of a request: idempotency key → "purchaseId|fingerprint", buyer's running count,
 * purchase status hash.
 */

/** `parse_hold`: a held value as qty and buyer key. */
const SHARED = `
local function parse_hold(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  return tonumber(string.sub(v, 1, a - 1)), string.sub(v, b + 1)
end
`;

/**
 * Takes the tickets from the purchase's bucket. Returns {outcome, purchaseId, stock}: a
 * bucket that has fewer tickets than asked answers `short` with what it has (for a tier not
 * split, sold out; for a split tier, the gate tops the bucket up and asks again).
 * KEYS: idem, stock, buyer, held, purchase. ARGV: purchaseId, fingerprint, qty, buyerLimit,
 * ttlSeconds, nowMs, eventId, tierId, buyerId, requestId, acceptedBy, acceptedAtIso,
 * idempotencyKey, bucket or '' when the tier is not split.
 */
export const ADMIT = `
local existing = redis.call('GET', KEYS[1])
if existing then
  local sep = string.find(existing, '|', 1, true)
  local pid = string.sub(existing, 1, sep - 1)
  if string.sub(existing, sep + 1) == ARGV[2] then return {'duplicate', pid, 0} end
  return {'key_reused', pid, 0}
end
local stock = redis.call('GET', KEYS[2])
if not stock then return {'unprimed', '', 0} end
stock = tonumber(stock)
local qty = tonumber(ARGV[3])
if stock < qty then return {'short', '', stock} end
local bought = tonumber(redis.call('GET', KEYS[3]) or '0')
if bought + qty > tonumber(ARGV[4]) then return {'limit_exceeded', '', 0} end
local ttl = tonumber(ARGV[5])
redis.call('DECRBY', KEYS[2], qty)
redis.call('PERSIST', KEYS[2])
redis.call('INCRBY', KEYS[3], qty)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ttl)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3] .. '|' .. ARGV[6] .. '|' .. KEYS[3])
redis.call('HSET', KEYS[5], 'status', 'queued', 'eventId', ARGV[7], 'tierId', ARGV[8], 'buyerId', ARGV[9],
  'quantity', ARGV[3], 'idempotencyKey', ARGV[13],
  'requestId', ARGV[10], 'acceptedBy', ARGV[11], 'acceptedAt', ARGV[12], 'gated', '1')
if ARGV[14] ~= '' then redis.call('HSET', KEYS[5], 'bucket', ARGV[14]) end
redis.call('EXPIRE', KEYS[5], ttl)
return {'admitted', ARGV[1], stock - qty}
`;

/**
 * Takes up to n tickets out of a bucket for another bucket of its tier (the first half of a
 * move; MOVE_IN is the second). Returns what it took, or -1 when the bucket is unprimed.
 * KEYS: stock. ARGV: n.
 */
export const MOVE_OUT = `
local stock = redis.call('GET', KEYS[1])
if not stock then return -1 end
local n = math.min(tonumber(ARGV[1]), math.max(0, tonumber(stock)))
if n > 0 then redis.call('DECRBY', KEYS[1], n) end
return n
`;

/**
 * Adds n tickets to a bucket's stock, only if it is primed (an unprimed count is primed
 * from Postgres, which does not know of the move). Returns 1 when added. KEYS: stock. ARGV: n.
 */
export const MOVE_IN = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
`;

/** Gives back what ADMIT took, when the publish failed. KEYS: idem, stock, buyer, held, purchase. ARGV: purchaseId, qty, stockIdleTtlS. */
export const UNDO = `
if redis.call('HDEL', KEYS[4], ARGV[1]) == 1 then
  redis.call('INCRBY', KEYS[2], ARGV[2])
  redis.call('DECRBY', KEYS[3], ARGV[2])
  if redis.call('HLEN', KEYS[4]) == 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
end
redis.call('DEL', KEYS[1], KEYS[5])
return 1
`;

/**
 * Records one decision after the worker's commit. Idempotent: only the first settle of a
 * purchase finds it held, so a redelivered message never gives tickets back twice. A
 * rejection gives its tickets back to its bucket, except a `sold_out` one: Postgres had no
 * ticket for it, so the gate offered one too many (a purchase queued ungated took it
 * unseen), and offering it again would only admit the next buyer to the same refusal. The
 * buyer's count comes back either way. The record is made final where ADMIT
 * wrote it; the fields (JSON) come only with a purchase accepted ungated, which has no
 * record yet. A gated purchase whose record has expired gets none back: its status is read
 * from Postgres, as for any purchase the gate no longer remembers.
 * Keys: stock, buyer, held, purchase. Args: purchaseId, status, reason, qty, ttlSeconds, decidedAtIso, purchaseFieldsJson or ''.
 */
const SETTLE_ONE = `
local function settle_one(k, a, stock_idle_ttl)
  local was_held = redis.call('HDEL', k[3], a[1])
  if was_held == 1 then
    if a[2] == 'rejected' then
      if a[3] ~= 'sold_out' then redis.call('INCRBY', k[1], a[4]) end
      redis.call('DECRBY', k[2], a[4])
    end
    if redis.call('HLEN', k[3]) == 0 then redis.call('EXPIRE', k[1], stock_idle_ttl) end
  end
  if a[7] ~= '' then
    redis.call('HSET', k[4], 'status', a[2], 'reason', a[3], 'decidedAt', a[6])
    local fields = cjson.decode(a[7])
    for f, v in pairs(fields) do redis.call('HSETNX', k[4], f, tostring(v)) end
    redis.call('EXPIRE', k[4], tonumber(a[5]))
  elseif redis.call('EXISTS', k[4]) == 1 then
    redis.call('HSET', k[4], 'status', a[2], 'reason', a[3], 'decidedAt', a[6])
    redis.call('EXPIRE', k[4], tonumber(a[5]))
  end
  return was_held
end
`;

/**
 * The decisions of one shard's purchases of a committed batch in one call (one round trip
 * per shard instead of one per purchase): KEYS are the four keys of each purchase in turn;
 * ARGV the stock's idle lifetime, then the seven args of each purchase in turn. Returns how
 * many holds this call released.
 */
export const SETTLE_MANY = `${SETTLE_ONE}
local released = 0
for i = 0, #KEYS / 4 - 1 do
  released = released + settle_one({KEYS[4*i+1], KEYS[4*i+2], KEYS[4*i+3], KEYS[4*i+4]},
    {ARGV[7*i+2], ARGV[7*i+3], ARGV[7*i+4], ARGV[7*i+5], ARGV[7*i+6], ARGV[7*i+7], ARGV[7*i+8]}, ARGV[1])
end
return released
`;

/**
 * Sets a bucket's stock if the gate does not know it yet (NX: never overwrites a live
 * count); with nothing held the count starts with its idle lifetime.
 * KEYS: stock, held. ARGV: stockIdleTtlS, available.
 */
export const PRIME = `
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
return 1
`;

/**
 * Sets what a bucket offers to the target the reconciler planned from Postgres and the
 * holds it read (bucket-targets.ts), after releasing the holds named (stale holds no message
 * will ever settle: the worker decided which, see worker/src/stale-holds.ts). When the
 * tickets held, after the release, are not those the plan counted (a purchase came or was
 * settled in between), the count is left for the next pass. A count that expired with
 * nothing held is not made again (the next purchase primes it). With nothing held the
 * count keeps the lifetime it has (or starts one), so passes every few seconds do not keep
 * an idle tier alive; with tickets held it has none.
 * KEYS: stock, held. ARGV: stockIdleTtlS, target, tickets held the plan counted, then the
 * purchase ids to release.
 * Returns {previous or -1, new or -1 when not made again, holds released, 1 changed / 0 not / -1 left for the next pass}.
 */
export const RECONCILE = `${SHARED}
local released = 0
for i = 4, #ARGV do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  if v then
    local qty, buyer = parse_hold(v)
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('DECRBY', buyer, qty)
    released = released + 1
  end
end
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do held = held + parse_hold(v) end
local stock = redis.call('GET', KEYS[1])
local previous = stock and tonumber(stock) or -1
if held ~= tonumber(ARGV[3]) then return {previous, previous, released, -1} end
local target = tonumber(ARGV[2])
if held == 0 then
  if not stock then return {previous, -1, released, 0} end
  if redis.call('PTTL', KEYS[1]) > 0 then
    redis.call('SET', KEYS[1], target, 'KEEPTTL')
  else
    redis.call('SET', KEYS[1], target, 'EX', ARGV[1])
  end
else
  redis.call('SET', KEYS[1], target)
end
return {previous, target, released, previous == target and 0 or 1}
`;

/** A bucket's stock and held tickets. KEYS: stock, held. Returns {stock or -1 when unprimed, held tickets}. */
export const BUCKET_STATE = `${SHARED}
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do held = held + parse_hold(v) end
local stock = redis.call('GET', KEYS[1])
return {stock and tonumber(stock) or -1, held}
`;
