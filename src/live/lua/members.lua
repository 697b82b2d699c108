-- Joins and leaves after a stream id. KEYS: members. ARGV: last id ("" for the newest id only).
-- Returns { newest id, then op, user, name triples }.
if ARGV[1] == '' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last == 0 then return { '0-0' } end
  return { last[1][1] }
end
local out = { ARGV[1] }
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', 1000)) do
  out[1] = entry[1]
  local f = entry[2]
  local op, user, name
  for i = 1, #f, 2 do
    if f[i] == 'o' then op = f[i + 1] elseif f[i] == 'u' then user = f[i + 1]
    elseif f[i] == 'n' then name = f[i + 1] end
  end
  out[#out + 1] = op
  out[#out + 1] = user
  out[#out + 1] = name
end
return out
