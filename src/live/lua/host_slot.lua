-- KEYS: the host's sorted set of unfinished sessions (code -> created at).
-- ARGV: code, now, max, stale_before, ttl_ms
-- Counts the code among the host's sessions unless they already hold `max`. Members older
-- than `stale_before` are sessions that vanished without finishing (their keys expired).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
