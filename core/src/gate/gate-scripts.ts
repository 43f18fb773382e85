/**
 * The admission gate's Lua scripts. Each runs atomically in Redis, so no two buyers
 * can take the same ticket from the gate and no retry is counted twice.
 *
 * Keys of a tier: stock (tickets the gate still offers), held (hash purchaseId →
 * "qty|acceptedAtMs|buyerKey": tickets the gate gave out that no decision has settled).
 * The stock key has a lifetime only while nothing is held: every script that empties the
 * held hash starts it, ADMIT (the one that fills it) removes it. So a stock count expires
 * only when every ticket it gave out is decided in Postgres, where capacity − sold is
 * then the same figure, and priming again from it offers nothing twice.
 * Keys of a request: idempotency key → "purchaseId|fingerprint", buyer's running count,
 * purchase status hash.
 */

/** KEYS: idem, stock, buyer, held, purchase. ARGV: purchaseId, fingerprint, qty, buyerLimit, ttlSeconds, nowMs, eventId, tierId, buyerId, requestId, acceptedBy, acceptedAtIso, idempotencyKey. */
export const ADMIT = `
local existing = redis.call('GET', KEYS[1])
if existing then
  local sep = string.find(existing, '|', 1, true)
  local pid = string.sub(existing, 1, sep - 1)
  if string.sub(existing, sep + 1) == ARGV[2] then return {'duplicate', pid} end
  return {'key_reused', pid}
end
local stock = redis.call('GET', KEYS[2])
if not stock then return {'unprimed', ''} end
local qty = tonumber(ARGV[3])
if tonumber(stock) < qty then return {'sold_out', ''} end
local bought = tonumber(redis.call('GET', KEYS[3]) or '0')
if bought + qty > tonumber(ARGV[4]) then return {'limit_exceeded', ''} end
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
redis.call('EXPIRE', KEYS[5], ttl)
return {'admitted', ARGV[1]}
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
 * purchase finds it held, so a redelivered message never gives tickets back twice.
 * Keys: stock, buyer, held, purchase. Args: purchaseId, status, reason, qty, ttlSeconds, decidedAtIso, purchaseFieldsJson.
 */
const SETTLE_ONE = `
local function settle_one(k, a, stock_idle_ttl)
  local was_held = redis.call('HDEL', k[3], a[1])
  if a[2] == 'rejected' and was_held == 1 then
    redis.call('INCRBY', k[1], a[4])
    redis.call('DECRBY', k[2], a[4])
  end
  if was_held == 1 and redis.call('HLEN', k[3]) == 0 then redis.call('EXPIRE', k[1], stock_idle_ttl) end
  redis.call('HSET', k[4], 'status', a[2], 'reason', a[3], 'decidedAt', a[6])
  local fields = cjson.decode(a[7])
  for f, v in pairs(fields) do redis.call('HSETNX', k[4], f, tostring(v)) end
  redis.call('EXPIRE', k[4], tonumber(a[5]))
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
 * Sets a tier's stock if the gate does not know it yet (NX: never overwrites a live count)
 * and registers the tier in the gate's tier set. With nothing held the count starts with
 * its idle lifetime. KEYS: stock, held, tiers. ARGV: tierId, available, stockIdleTtlS.
 */
export const PRIME = `
redis.call('SADD', KEYS[3], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
return 1
`;

/**
 * Sets what the gate offers to what Postgres has left minus what is still held, after
 * releasing the holds named in ARGV[4..] (stale holds no message will ever settle: the
 * worker decided which, see worker/src/stale-holds.ts). Run only when the queue is idle.
 * A count that expired with nothing held is not made again (the next purchase primes it)
 * and the tier leaves the tier set. With nothing held the count keeps the lifetime it has
 * (or starts one), so passes every few seconds do not keep an idle tier alive; with
 * tickets held it has none.
 * KEYS: stock, held, tiers. ARGV: available, tierId, stockIdleTtlS, purchase ids to release.
 * Returns {previous stock or -1, new stock or -1 when not made again, holds released}.
 */
export const RECONCILE = `
local released = 0
for i = 4, #ARGV do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  if v then
    local a = string.find(v, '|', 1, true)
    local b = string.find(v, '|', a + 1, true)
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('DECRBY', string.sub(v, b + 1), tonumber(string.sub(v, 1, a - 1)))
    released = released + 1
  end
end
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do
  held = held + tonumber(string.sub(v, 1, string.find(v, '|', 1, true) - 1))
end
local previous = tonumber(redis.call('GET', KEYS[1]) or '-1')
local nothing_held = redis.call('HLEN', KEYS[2]) == 0
if previous < 0 and nothing_held then
  redis.call('SREM', KEYS[3], ARGV[2])
  return {previous, -1, released}
end
local target = tonumber(ARGV[1]) - held
if target < 0 then target = 0 end
if not nothing_held then
  redis.call('SET', KEYS[1], target)
elseif redis.call('PTTL', KEYS[1]) > 0 then
  redis.call('SET', KEYS[1], target, 'KEEPTTL')
else
  redis.call('SET', KEYS[1], target, 'EX', ARGV[3])
end
return {previous, target, released}
`;
