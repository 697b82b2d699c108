-- One GCRA check (the algorithm of redis-cell and go-redis/redis_rate), atomically.
-- KEYS[1]: the bucket: its theoretical arrival time (TAT), in µs of Redis's clock.
-- ARGV[1]: emission interval (µs per request), ARGV[2]: burst.
-- Returns 0 when the request is admitted, else the µs to wait before one would be.
-- Redis's own clock, so every node measures the same time.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local wait = tat - tolerance - now
if wait > 0 then
  return string.format('%d', math.ceil(wait))
end
local next_tat = tat + interval
-- The bucket is full again at next_tat: the key can go then.
redis.call('SET', KEYS[1], string.format('%d', next_tat),
  'PX', string.format('%d', math.ceil((next_tat - now) / 1000)))
return '0'
