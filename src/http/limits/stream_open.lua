-- Takes one of a user's stream slots across all nodes, if one is free.
-- KEYS[1]: sorted set of the user's open streams: slot id → expiry (ms of Redis's clock).
-- ARGV[1]: the new slot's id, ARGV[2]: the cap, ARGV[3]: slot lifetime (ms),
-- ARGV[4..]: slots this node has closed but not yet removed (they go first).
-- Returns 1 when the slot is taken, 0 when the user is at the cap.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 4, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
end
-- Slots of dead nodes expire: nobody renews them.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
