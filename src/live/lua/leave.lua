-- A player leaves, or the host removes them for good.
-- KEYS: meta, players, board, members, frozen board. ARGV: user, 'leave' or 'remove'
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then
  if ARGV[2] == 'remove' then return 'NOPLAYER' end
  return 'SAME'
end
local p = cjson.decode(raw)
if ARGV[2] == 'remove' then
  if p.k then return 'SAME' end
  p.k = true
elseif p.l then
  return 'SAME'
end
p.l = true
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(p))
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000, '*', 'o', ARGV[2], 'u', ARGV[1], 'n', p.n)
return 'CHANGED'
