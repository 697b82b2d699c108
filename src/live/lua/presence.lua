-- Records this node's connected users and returns everyone online on any node.
-- KEYS: presence. ARGV: now, expires_at, node, then "+user" (connected) or "-user" (gone).
-- Members are "node|user" scored by expiry, so a dead node's users fade out by themselves.
local now = tonumber(ARGV[1])
for i = 4, #ARGV do
  local op, user = string.sub(ARGV[i], 1, 1), string.sub(ARGV[i], 2)
  if op == '+' then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3] .. '|' .. user)
  else
    redis.call('ZREM', KEYS[1], ARGV[3] .. '|' .. user)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local seen, out = {}, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local user = string.match(member, '^[^|]*|(.*)$')
  if user and not seen[user] then
    seen[user] = true
    out[#out + 1] = user
  end
end
return out
