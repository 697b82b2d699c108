-- KEYS: meta, phase, players, board, members, names, frozen board, frozen players.
-- ARGV: user, name, name key (lowercased)
-- Players are JSON: n name, j join seq, l left, k removed by the host, s score, r when s
-- was reached, c/x streak count and last index (-1: none), a answered any. The board orders
-- by s, then r.
-- Names are unique per session (domain::unique_names, the same steps): `names` holds
-- `n:KEY` for every name shown and `c:KEY`, the suffixes handed out for KEY.
-- While an `at_reveal` question is open, views read the frozen board (apply.lua): a player
-- joins it at their standing when the question opened (0 if they were not in then).
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local phase = cjson.decode(redis.call('GET', KEYS[2]))
if phase.status == 'finished' then return 'FINISHED' end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
local p
if raw then
  p = cjson.decode(raw)
  if p.k then return 'REMOVED' end
  if not p.l then return 'SAME' end
elseif redis.call('HGET', KEYS[1], 'locked') == '1' then
  return 'LOCKED'
end
if redis.call('ZCARD', KEYS[4]) >= tonumber(redis.call('HGET', KEYS[1], 'max_players')) then
  return 'FULL'
end
local was = p
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
  p = { n = name, j = seq, l = false, k = false, s = 0, r = seq, c = 0, x = -1, a = false }
end
p.l = false
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(p))
redis.call('ZADD', KEYS[4], p.s * 4294967296 + (4294967295 - p.r), ARGV[1])
if phase.status == 'question' and redis.call('HGET', KEYS[1], 'feedback') == 'at_reveal' then
  local fs, fr = 0, p.j
  if was then
    local f = redis.call('HGET', KEYS[8], ARGV[1])
    if f then
      f = cjson.decode(f)
      fs, fr = f.s, f.r
    end
  end
  redis.call('ZADD', KEYS[7], fs * 4294967296 + (4294967295 - fr), ARGV[1])
end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 1000, '*', 'o', 'join', 'u', ARGV[1], 'n', p.n)
return 'CHANGED'
