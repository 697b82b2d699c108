-- Locks or unlocks a session to new players. KEYS: meta. ARGV: 1 (locked) or 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'locked', ARGV[1])
return 1
