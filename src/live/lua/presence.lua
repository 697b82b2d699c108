-- Records this node's connected users and returns everyone online on a node not known dead.
-- KEYS: presence. ARGV: instance, m, m dead instances, then "+user" (connected here) or
-- "-user" (gone). Members are "instance|user": nothing is renewed per user; an entry counts
-- until its instance's heartbeat (`heartbeat.lua`) has lapsed, and is then removed. An
-- instance not heard of yet counts: it has just started.
local instance = ARGV[1]
local dead = {}
local m = tonumber(ARGV[2])
for j = 1, m do dead[ARGV[2 + j]] = true end
dead[instance] = nil
for k = 3 + m, #ARGV do
  local op, user = string.sub(ARGV[k], 1, 1), string.sub(ARGV[k], 2)
  if op == '+' then
    redis.call('ZADD', KEYS[1], 0, instance .. '|' .. user)
  else
    redis.call('ZREM', KEYS[1], instance .. '|' .. user)
  end
end
local seen, out = {}, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local node, user = string.match(member, '^([^|]*)|(.*)$')
  if node and dead[node] then
    redis.call('ZREM', KEYS[1], member)
  elseif node and not seen[user] then
    seen[user] = true
    out[#out + 1] = user
  end
end
return out
