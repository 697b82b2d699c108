-- A node's heartbeat. KEYS: nodes (instance -> expiry ms). ARGV: instance, now, expires_at,
-- forget_before. Renews the instance, forgets instances dead since before forget_before,
-- and returns whether this instance was alive until now (1) or not (0: new, or lapsed, so
-- others may have dropped its presence entries), then every instance with its expiry.
local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
local was_alive = 0
if before and tonumber(before) > tonumber(ARGV[2]) then was_alive = 1 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
local out = { tostring(was_alive) }
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for k = 1, #all do out[#out + 1] = all[k] end
return out
