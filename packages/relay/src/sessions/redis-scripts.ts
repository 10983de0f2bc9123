// Lua run atomically inside Redis. Key layout under a prefix p (default "fhe-llm:"):
//   p..session:<id>      hash of the SessionRecord, PEXPIREAT its expiresAt
//   p..sessions          sorted set id -> expiresAt (count without scanning)
//   p..keys:<hash>       the serialized Galois keys, stored once per hash
//   p..keyusers:<hash>   sorted set session id -> expiresAt of the sessions using the blob
//   p..blobs             sorted set hash -> the blob's expiry; p..blobbytes: hash -> size
//   p..owned:<owner>     sorted set session id -> expiresAt of one client's sessions (quota)
//   p..budget:window:<principal>  vectors charged in the current window, PEXPIRE at its end
//   p..budget:total:<principal>   vectors charged ever (no expiry: a total budget must not reset)
// A blob expires with the longest-lived session using it and is deleted as
// soon as its last session is deleted. Scripts derive the blob's keys from the
// session, so they need one Redis (standalone or Sentinel), not Redis Cluster.

/** Forget users that expired; drop the blob when none is left, else push its expiry to the last user's. */
const REFRESH_BLOB = `
local function refresh(p, hash, now)
  local users, blob = p .. 'keyusers:' .. hash, p .. 'keys:' .. hash
  redis.call('ZREMRANGEBYSCORE', users, '-inf', now)
  local last = redis.call('ZRANGE', users, -1, -1, 'WITHSCORES')[2]
  if not last then
    redis.call('DEL', blob, users)
    redis.call('ZREM', p .. 'blobs', hash)
    redis.call('HDEL', p .. 'blobbytes', hash)
    return
  end
  redis.call('PEXPIREAT', blob, last)
  redis.call('PEXPIREAT', users, last)
  redis.call('ZADD', p .. 'blobs', last, hash)
end
`;

/** ARGV: p, id, secretHash, model, keysHash, keyBytes, createdAt, expiresAt, now, blob, principal, owner ('' for none). */
export const CREATE_SESSION = `${REFRESH_BLOB}
local p, id, hash, expires = ARGV[1], ARGV[2], ARGV[5], ARGV[8]
local session, blob = p .. 'session:' .. id, p .. 'keys:' .. hash
redis.call('HSET', session, 'secretHash', ARGV[3], 'model', ARGV[4], 'keysHash', hash, 'keyBytes', ARGV[6], 'createdAt', ARGV[7], 'expiresAt', expires, 'principal', ARGV[11], 'owner', ARGV[12])
if ARGV[12] ~= '' then
  redis.call('ZADD', p .. 'owned:' .. ARGV[12], expires, id)
  redis.call('PEXPIREAT', p .. 'owned:' .. ARGV[12], expires)
end
redis.call('PEXPIREAT', session, expires)
redis.call('ZADD', p .. 'sessions', expires, id)
if redis.call('EXISTS', blob) == 0 then redis.call('SET', blob, ARGV[10]) end
redis.call('HSET', p .. 'blobbytes', hash, redis.call('STRLEN', blob))
redis.call('ZADD', p .. 'keyusers:' .. hash, expires, id)
refresh(p, hash, ARGV[9])
return 1
`;

/** ARGV: p, id, expiresAt, now. Returns the session's fields (HGETALL) or nil when it is gone. */
export const TOUCH_SESSION = `${REFRESH_BLOB}
local p, id = ARGV[1], ARGV[2]
local session = p .. 'session:' .. id
local current = redis.call('HMGET', session, 'expiresAt', 'keysHash', 'owner')
if not current[1] then return false end
local expires = current[1]
if tonumber(ARGV[3]) > tonumber(expires) then expires = ARGV[3] end
redis.call('HSET', session, 'expiresAt', expires)
if current[3] and current[3] ~= '' then
  local owned = p .. 'owned:' .. current[3]
  redis.call('ZADD', owned, expires, id)
  if tonumber(redis.call('PTTL', owned)) < tonumber(expires) - tonumber(ARGV[4]) then redis.call('PEXPIREAT', owned, expires) end
end
redis.call('PEXPIREAT', session, expires)
redis.call('ZADD', p .. 'sessions', expires, id)
redis.call('ZADD', p .. 'keyusers:' .. current[2], expires, id)
refresh(p, current[2], ARGV[4])
return redis.call('HGETALL', session)
`;

/** ARGV: p, id, now. Returns 1 when the session existed. */
export const DELETE_SESSION = `${REFRESH_BLOB}
local p, id = ARGV[1], ARGV[2]
local session = p .. 'session:' .. id
local hash = redis.call('HGET', session, 'keysHash')
local owner = redis.call('HGET', session, 'owner')
redis.call('ZREM', p .. 'sessions', id)
if not hash then return 0 end
if owner and owner ~= '' then redis.call('ZREM', p .. 'owned:' .. owner, id) end
redis.call('DEL', session)
redis.call('ZREM', p .. 'keyusers:' .. hash, id)
refresh(p, hash, ARGV[3])
return 1
`;

/** ARGV: p, now. Live sessions (expired index entries are pruned on the way). */
export const COUNT_SESSIONS = `
redis.call('ZREMRANGEBYSCORE', ARGV[1] .. 'sessions', '-inf', ARGV[2])
return redis.call('ZCARD', ARGV[1] .. 'sessions')
`;

/** ARGV: p, now. Bytes of live key blobs, each once. */
export const KEY_BYTES = `
local p, now = ARGV[1], ARGV[2]
for _, hash in ipairs(redis.call('ZRANGEBYSCORE', p .. 'blobs', '-inf', now)) do redis.call('HDEL', p .. 'blobbytes', hash) end
redis.call('ZREMRANGEBYSCORE', p .. 'blobs', '-inf', now)
local total = 0
for _, size in ipairs(redis.call('HVALS', p .. 'blobbytes')) do total = total + tonumber(size) end
return total
`;

/** ARGV: p, owner, now. Live sessions of one client. */
export const COUNT_OWNED = `
local owned = ARGV[1] .. 'owned:' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', owned, '-inf', ARGV[3])
return redis.call('ZCARD', owned)
`;

/**
 * ARGV: p, principal, vectors, perWindow, windowMs, total (0 = no limit).
 * Check both limits and count in one step, so replicas sharing the Redis
 * cannot each take the last vectors. Returns {allowed 0|1, windowUsed,
 * window ms left, totalUsed}. The window keeps its end (SET ... PX of the
 * remaining time) however often it is charged.
 */
export const CHARGE_QUERY_BUDGET = `
local p, principal = ARGV[1], ARGV[2]
local n, perWindow, windowMs, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local window, totalKey = p .. 'budget:window:' .. principal, p .. 'budget:total:' .. principal
local left = redis.call('PTTL', window)
local used = 0
if left > 0 then used = tonumber(redis.call('GET', window) or '0') else left = windowMs end
local total = tonumber(redis.call('GET', totalKey) or '0')
local allowed = 1
if perWindow > 0 and used + n > perWindow then allowed = 0 end
if limit > 0 and total + n > limit then allowed = 0 end
if allowed == 1 then
  used = used + n
  total = total + n
  redis.call('SET', window, used, 'PX', left)
  redis.call('SET', totalKey, total)
end
return {allowed, used, left, total}
`;
