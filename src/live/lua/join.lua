-- KEYS: meta, phase, players, board, members, names. ARGV: user, name, name key (lowercased)
-- Players are JSON: n name, j join seq, l left, s score, r when s was reached, c/x streak
-- count and last index (-1: none), a answered any. The board orders by s, then r.
-- Names are unique per session (domain::unique_names, the same steps): `names` holds
-- `n:KEY` for every name shown and `c:KEY`, the suffixes handed out for KEY.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local phase = cjson.decode(redis.call('GET', KEYS[2]))
if phase.status == 'finished' then return 'FINISHED' end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
local p
if raw then
  p = cjson.decode(raw)
  if not p.l then return 'SAME' end
end
if redis.call('ZCARD', KEYS[4]) >= tonumber(redis.call('HGET', KEYS[1], 'max_players')) then
  return 'FULL'
end
if not p then
  local name = ARGV[2]
  if redis.call('HSETNX', KEYS[6], 'n:' .. ARGV[3], 1) == 0 then
    local n
    repeat
      n = redis.call('HINCRBY', KEYS[6], 'c:' .. ARGV[3], 1) + 1
    until redis.call('HSETNX', KEYS[6], 'n:' .. ARGV[3] .. ' (' .. n .. ')', 1) == 1
    name = name .. ' (' .. n .. ')'
  end
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  p = { n = name, j = seq, l = false, s = 0, r = seq, c = 0, x = -1, a = false }
end
p.l = false
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(p))
redis.call('ZADD', KEYS[4], p.s * 4294967296 + (4294967295 - p.r), ARGV[1])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 1000, '*', 'o', 'join', 'u', ARGV[1], 'n', p.n)
return 'CHANGED'
