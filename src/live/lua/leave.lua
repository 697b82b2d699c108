-- KEYS: meta, players, board, members. ARGV: user
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOTFOUND' end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 'SAME' end
local p = cjson.decode(raw)
if p.l then return 'SAME' end
p.l = true
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(p))
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000, '*', 'o', 'leave', 'u', ARGV[1], 'n', p.n)
return 'CHANGED'
