/**
 * The waiting room's Lua scripts: each runs atomically, so no buyer is released twice and
 * the release budget is spent once however many replicas poll at the same moment.
 *
 * Keys of an event's room: cfg (hash: on, rate per minute, max inside, opensAt ms, last:
 * the time up to which release credit was spent, released/skipped counters), line (sorted
 * set jti → place: a random number in [0, 1) for arrivals before the opening, the arrival
 * time in ms after it, so the pre-queue is served first in random order and later ones
 * first come, first served; hold: no release before this ms; since: when it was turned on
 * or put back), seen (jti → last poll ms: the heartbeat), admitted (jti →
 * pass expiry ms: the buyers inside), out (hash jti → released | skipped: who left the
 * line, so nobody is released twice and a returning token is not put back in).
 */

/** KEYS: cfg, line, seen. ARGV: jti, nowMs, randomPlace (a string in [0, 1)). Returns {'off'} or {'joined', place, rank, opensAt}. */
export const JOIN = `
local cfg = redis.call('HMGET', KEYS[1], 'on', 'opensAt')
if cfg[1] ~= '1' then return {'off'} end
local now = tonumber(ARGV[2])
local opensAt = tonumber(cfg[2]) or 0
local place = ARGV[2]
if now < opensAt then place = ARGV[3] end
redis.call('ZADD', KEYS[2], place, ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
return {'joined', place, redis.call('ZRANK', KEYS[2], ARGV[1]), tostring(opensAt)}
`;

/**
 * A poll: one release step (lazy: the room moves as long as anybody polls), then the
 * poller's own state, in one call.
 * KEYS: cfg, line, seen, admitted, out. ARGV: jti, place (from the signed token), nowMs,
 * passTtlMs, heartbeatMs.
 * Returns {'off'} | {'admitted', expiryMs} | {'left', why} | {'waiting', rank, rate, max, opensAt}.
 */
export const POLL = `
local cfg = redis.call('HMGET', KEYS[1], 'on', 'rate', 'max', 'opensAt', 'last', 'hold', 'since')
if cfg[1] ~= '1' then return {'off'} end
local jti, now = ARGV[1], tonumber(ARGV[3])
local ttl, beat = tonumber(ARGV[4]), tonumber(ARGV[5])
local rate, max, opensAt = tonumber(cfg[2]) or 0, tonumber(cfg[3]) or 0, tonumber(cfg[4]) or 0
-- The heartbeat first: a buyer polling now is present for this release step.
if redis.call('ZSCORE', KEYS[2], jti) then redis.call('ZADD', KEYS[3], now, jti) end
-- hold: a room put back after Redis lost it releases nobody until the buyers still
-- polling have had one heartbeat to take their places back.
if now >= opensAt and now >= (tonumber(cfg[6]) or 0) then
  -- Expired passes free their slots.
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  local budget = 1000
  local last = tonumber(cfg[5])
  if not last then
    -- A fresh bucket holds one buyer's credit, earned from the latest of the opening, the
    -- room turned on (or put back) and the end of a hold: a room turned on mid-sale, or
    -- put back after Redis lost it, does not open with a burst.
    last = math.max(opensAt, tonumber(cfg[6]) or 0, tonumber(cfg[7]) or 0)
    if rate > 0 then last = last - 60000 / rate end
  end
  local burst = 0
  if rate > 0 then
    -- Credit earned since last, at most two seconds' worth: a room nobody polled for a
    -- while (every replica down) does not let a crowd in at once when it comes back.
    burst = math.max(1, math.ceil(rate / 30))
    budget = math.floor((now - last) * rate / 60000 + 1e-9)
    if budget > burst then budget = burst; last = now - burst * 60000 / rate end
  end
  if max > 0 then
    local free = max - redis.call('ZCARD', KEYS[4])
    if free < budget then budget = math.max(0, free) end
  end
  local released, skipped, tries = 0, 0, 0
  while released < budget and tries < budget + 500 do
    tries = tries + 1
    local popped = redis.call('ZPOPMIN', KEYS[2])
    if #popped == 0 then break end
    local m = popped[1]
    local seen = tonumber(redis.call('ZSCORE', KEYS[3], m))
    redis.call('ZREM', KEYS[3], m)
    if seen and seen >= now - beat then
      redis.call('ZADD', KEYS[4], now + ttl, m)
      redis.call('HSET', KEYS[5], m, 'released')
      released = released + 1
    else
      redis.call('HSET', KEYS[5], m, 'skipped')
      skipped = skipped + 1
    end
  end
  if rate > 0 then
    -- Credit is spent only for buyers let in; an empty line does not bank it.
    if budget > 0 and released < budget then last = now
    else last = last + released * 60000 / rate end
    redis.call('HSET', KEYS[1], 'last', tostring(last))
  end
  if released > 0 then redis.call('HINCRBY', KEYS[1], 'released', released) end
  if skipped > 0 then redis.call('HINCRBY', KEYS[1], 'skipped', skipped) end
end
local expiry = redis.call('ZSCORE', KEYS[4], jti)
if expiry then return {'admitted', expiry} end
local out = redis.call('HGET', KEYS[5], jti)
if out then return {'left', out} end
local rank = redis.call('ZRANK', KEYS[2], jti)
if not rank then
  -- A token the line does not know (Redis lost it): its signed place puts it back.
  redis.call('ZADD', KEYS[2], ARGV[2], jti)
  rank = redis.call('ZRANK', KEYS[2], jti)
end
redis.call('ZADD', KEYS[3], now, jti)
return {'waiting', rank, tostring(rate), tostring(max), tostring(opensAt)}
`;
