/**
 * The admission gate's Lua scripts. Each runs atomically in Redis, so no two buyers
 * can take the same ticket from the gate and no retry is counted twice.
 *
 * Keys of a tier: stock (tickets the gate still offers), held (hash purchaseId →
 * "qty|acceptedAtMs|buyerKey": tickets the gate gave out that no decision has settled).
 * A tier split into K buckets in Postgres (docs/architecture.md, "A hot tier in buckets")
 * keeps its stock as a hash bucket → count under the same key, and its held values name the
 * bucket a purchase took from: "qty|acceptedAtMs|bucket|buyerKey". A tier that is not split
 * keeps the plain count and the three-part value, as before buckets existed.
 * The stock key has a lifetime only while nothing is held: every script that empties the
 * held hash starts it, ADMIT (the one that fills it) removes it. So a stock count expires
 * only when every ticket it gave out is decided in Postgres, where capacity − sold is
 * then the same figure, and priming again from it offers nothing twice.
 * Keys of a request: idempotency key → "purchaseId|fingerprint", buyer's running count,
 * purchase status hash.
 */

/**
 * Helpers the scripts share. `stock_of`: a tier's stock as {total, per-bucket table (index
 * 0..K-1), K}, or nil when unprimed; K is 1 for a plain count. `parse_hold`: a held value as
 * qty, bucket (0 when it names none), buyer key.
 */
const SHARED = `
local function stock_of(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'string' then
    local n = tonumber(redis.call('GET', key))
    return {total = n, buckets = {[0] = n}, k = 1, split = false}
  end
  if kind ~= 'hash' then return nil end
  local flat = redis.call('HGETALL', key)
  local s = {total = 0, buckets = {}, k = #flat / 2, split = true}
  for i = 1, #flat, 2 do
    local n = tonumber(flat[i + 1])
    s.buckets[tonumber(flat[i])] = n
    s.total = s.total + n
  end
  return s
end
local function parse_hold(v)
  local a = string.find(v, '|', 1, true)
  local b = string.find(v, '|', a + 1, true)
  local rest = string.sub(v, b + 1)
  local bucket, buyer = string.match(rest, '^(%d+)|(.*)$')
  if bucket then return tonumber(string.sub(v, 1, a - 1)), tonumber(bucket), buyer end
  return tonumber(string.sub(v, 1, a - 1)), 0, rest
end
local function give_back(key, bucket, qty)
  if redis.call('TYPE', key)['ok'] == 'hash' then
    redis.call('HINCRBY', key, bucket % redis.call('HLEN', key), qty)
  else
    redis.call('INCRBY', key, qty)
  end
end
`;

/**
 * On a split tier, ADMIT takes from the purchase's home bucket (its id's first 32 bits mod K,
 * homeBucket in purchase-message.ts); a home bucket short of the quantity first draws the
 * shortfall from the other buckets in bucket order, each giving what it has — the rule of
 * the Postgres spill (plan-batch.ts, drawsFor) — so the gate refuses only when the whole
 * tier is short. Returns {outcome, purchaseId, bucket taken from}.
 * KEYS: idem, stock, buyer, held, purchase. ARGV: purchaseId, fingerprint, qty, buyerLimit, ttlSeconds, nowMs, eventId, tierId, buyerId, requestId, acceptedBy, acceptedAtIso, idempotencyKey.
 */
export const ADMIT = `${SHARED}
local existing = redis.call('GET', KEYS[1])
if existing then
  local sep = string.find(existing, '|', 1, true)
  local pid = string.sub(existing, 1, sep - 1)
  if string.sub(existing, sep + 1) == ARGV[2] then return {'duplicate', pid} end
  return {'key_reused', pid}
end
local stock = stock_of(KEYS[2])
if not stock then return {'unprimed', ''} end
local qty = tonumber(ARGV[3])
if stock.total < qty then return {'sold_out', ''} end
local bought = tonumber(redis.call('GET', KEYS[3]) or '0')
if bought + qty > tonumber(ARGV[4]) then return {'limit_exceeded', ''} end
local ttl = tonumber(ARGV[5])
local bucket = 0
local hold = ARGV[3] .. '|' .. ARGV[6] .. '|' .. KEYS[3]
if stock.split then
  bucket = tonumber(string.sub(ARGV[1], 1, 8), 16) % stock.k
  local need = qty - (stock.buckets[bucket] or 0)
  local moved = 0
  for b = 0, stock.k - 1 do
    if need <= 0 then break end
    if b ~= bucket then
      local n = math.min(need, math.max(0, stock.buckets[b] or 0))
      if n > 0 then
        redis.call('HINCRBY', KEYS[2], b, -n)
        need = need - n
        moved = moved + n
      end
    end
  end
  redis.call('HINCRBY', KEYS[2], bucket, moved - qty)
  hold = ARGV[3] .. '|' .. ARGV[6] .. '|' .. bucket .. '|' .. KEYS[3]
else
  redis.call('DECRBY', KEYS[2], qty)
end
redis.call('PERSIST', KEYS[2])
redis.call('INCRBY', KEYS[3], qty)
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ttl)
redis.call('HSET', KEYS[4], ARGV[1], hold)
redis.call('HSET', KEYS[5], 'status', 'queued', 'eventId', ARGV[7], 'tierId', ARGV[8], 'buyerId', ARGV[9],
  'quantity', ARGV[3], 'idempotencyKey', ARGV[13],
  'requestId', ARGV[10], 'acceptedBy', ARGV[11], 'acceptedAt', ARGV[12], 'gated', '1')
if stock.split then redis.call('HSET', KEYS[5], 'bucket', bucket) end
redis.call('EXPIRE', KEYS[5], ttl)
return {'admitted', ARGV[1], bucket}
`;

/** Gives back what ADMIT took (to the bucket it took from), when the publish failed. KEYS: idem, stock, buyer, held, purchase. ARGV: purchaseId, qty, stockIdleTtlS. */
export const UNDO = `${SHARED}
local v = redis.call('HGET', KEYS[4], ARGV[1])
if v then
  redis.call('HDEL', KEYS[4], ARGV[1])
  local _, bucket = parse_hold(v)
  give_back(KEYS[2], bucket, ARGV[2])
  redis.call('DECRBY', KEYS[3], ARGV[2])
  if redis.call('HLEN', KEYS[4]) == 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
end
redis.call('DEL', KEYS[1], KEYS[5])
return 1
`;

/**
 * Records one decision after the worker's commit. Idempotent: only the first settle of a
 * purchase finds it held, so a redelivered message never gives tickets back twice. A
 * rejection gives its tickets back to the bucket the hold names. The record is made final
 * where ADMIT wrote it; the fields (JSON) come only with a purchase accepted ungated, which
 * has no record yet. A gated purchase whose record has expired gets none back: its status
 * is read from Postgres, as for any purchase the gate no longer remembers.
 * Keys: stock, buyer, held, purchase. Args: purchaseId, status, reason, qty, ttlSeconds, decidedAtIso, purchaseFieldsJson or ''.
 */
const SETTLE_ONE = `${SHARED}
local function settle_one(k, a, stock_idle_ttl)
  local v = redis.call('HGET', k[3], a[1])
  local was_held = 0
  if v then
    was_held = redis.call('HDEL', k[3], a[1])
    if a[2] == 'rejected' then
      local _, bucket = parse_hold(v)
      give_back(k[1], bucket, a[4])
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
 * The decisions of a committed batch in one call (one round trip per batch instead of one
 * per purchase): KEYS are the four keys of each purchase in turn; ARGV the stock's idle
 * lifetime, then the seven args of each purchase in turn. Returns how many holds this call released.
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
 * Sets a tier's stock if the gate does not know it yet (never overwrites a live count) and
 * registers the tier in the gate's tier set: one available figure is a plain count (`SET
 * NX`), K figures a split tier's buckets. With nothing held the count starts with its idle
 * lifetime. KEYS: stock, held, tiers. ARGV: tierId, stockIdleTtlS, available of each bucket.
 */
export const PRIME = `
redis.call('SADD', KEYS[3], ARGV[1])
if #ARGV == 3 then
  if redis.call('HLEN', KEYS[2]) == 0 then
    redis.call('SET', KEYS[1], ARGV[3], 'NX', 'EX', ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[3], 'NX')
  end
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
for i = 3, #ARGV do redis.call('HSET', KEYS[1], i - 3, ARGV[i]) end
if redis.call('HLEN', KEYS[2]) == 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/**
 * Sets what the gate offers to what Postgres has left minus what is still held, bucket by
 * bucket, after releasing the holds named (stale holds no message will ever settle: the
 * worker decided which, see worker/src/stale-holds.ts). Run only when the queue is idle.
 * A bucket holding more than Postgres has left in it (the gate moved stock in that Postgres
 * has not moved yet: its spill will) takes the difference from the other buckets in bucket
 * order, as ADMIT does, so the buckets sum to the tier's free − held and nothing is offered
 * twice. The count takes the shape Postgres gives (K figures: a hash; one: a plain count),
 * whatever it had. A count that expired with nothing held is not made again (the next
 * purchase primes it) and the tier leaves the tier set. With nothing held the count keeps
 * the lifetime it has (or starts one), so passes every few seconds do not keep an idle tier
 * alive; with tickets held it has none.
 * KEYS: stock, held, tiers. ARGV: tierId, stockIdleTtlS, K, the available of each of the K
 * buckets, then the purchase ids to release.
 * Returns {previous total or -1, new total or -1 when not made again, holds released, 1 when any bucket changed}.
 */
export const RECONCILE = `${SHARED}
local k = tonumber(ARGV[3])
local released = 0
for i = 4 + k, #ARGV do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  if v then
    local qty, _, buyer = parse_hold(v)
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('DECRBY', buyer, qty)
    released = released + 1
  end
end
local target = {}
for b = 0, k - 1 do target[b] = tonumber(ARGV[4 + b]) end
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  local qty, bucket = parse_hold(v)
  target[bucket % k] = target[bucket % k] - qty
end
local stock = stock_of(KEYS[1])
local previous = stock and stock.total or -1
local nothing_held = redis.call('HLEN', KEYS[2]) == 0
if not stock and nothing_held then
  redis.call('SREM', KEYS[3], ARGV[1])
  return {previous, -1, released, 0}
end
for b = 0, k - 1 do
  for d = 0, k - 1 do
    if target[b] >= 0 then break end
    if d ~= b and target[d] > 0 then
      local n = math.min(-target[b], target[d])
      target[d] = target[d] - n
      target[b] = target[b] + n
    end
  end
  if target[b] < 0 then target[b] = 0 end
end
local total, changed = 0, 0
for b = 0, k - 1 do
  total = total + target[b]
  if not stock or stock.k ~= k or stock.buckets[b] ~= target[b] then changed = 1 end
end
if k == 1 and not (stock and stock.split) then
  if not nothing_held then
    redis.call('SET', KEYS[1], total)
  elseif redis.call('PTTL', KEYS[1]) > 0 then
    redis.call('SET', KEYS[1], total, 'KEEPTTL')
  else
    redis.call('SET', KEYS[1], total, 'EX', ARGV[2])
  end
  return {previous, total, released, changed}
end
local pttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
if k == 1 then
  redis.call('SET', KEYS[1], total)
else
  for b = 0, k - 1 do redis.call('HSET', KEYS[1], b, target[b]) end
end
if nothing_held then
  if pttl > 0 then redis.call('PEXPIRE', KEYS[1], pttl) else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
end
return {previous, total, released, changed}
`;

/**
 * A tier's stock and held tickets as the gate holds them, whichever shape its count has.
 * KEYS: stock, held. Returns {total stock or -1 when unprimed, held tickets, stock of each bucket…}.
 */
export const TIER_STATE = `${SHARED}
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do held = held + (parse_hold(v) or 0) end
local stock = stock_of(KEYS[1])
if not stock then return {-1, held} end
local out = {stock.total, held}
if stock.split then
  for b = 0, stock.k - 1 do out[#out + 1] = stock.buckets[b] or 0 end
end
return out
`;
