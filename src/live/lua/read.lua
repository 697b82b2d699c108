-- Consistent reads. KEYS: meta, phase, players, board, answers, log, counts.
-- ARGV[1] is the mode.
local mode = ARGV[1]
local function rank_of(score)
  return 1 + redis.call('ZCOUNT', KEYS[4], (score + 1) * 4294967296, '+inf')
end
local function page(offset, limit)
  local rows = redis.call('ZREVRANGE', KEYS[4], offset, offset + limit - 1, 'WITHSCORES')
  local users = {}
  for i = 1, #rows, 2 do users[#users + 1] = rows[i] end
  local names = {}
  if #users > 0 then
    for i, raw in ipairs(redis.call('HMGET', KEYS[3], unpack(users))) do
      names[i] = raw and cjson.decode(raw).n or ''
    end
  end
  local first = 0
  if #rows > 0 then first = rank_of(math.floor(tonumber(rows[2]) / 4294967296)) end
  return { redis.call('ZCARD', KEYS[4]), first, rows, names,
    tonumber(redis.call('HGET', KEYS[1], 'seq')) }
end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if mode == 'page' then
  return page(tonumber(ARGV[2]), tonumber(ARGV[3]))
elseif mode == 'viewer' then
  -- phase, top 10, the viewer's player record, rank, answers at the open and previous index
  local phase = redis.call('GET', KEYS[2])
  local raw = redis.call('HGET', KEYS[3], ARGV[2]) or false
  local rank, now_answer, prev_answer = 0, false, false
  if raw then
    rank = rank_of(cjson.decode(raw).s)
    local index = cjson.decode(phase).question_index
    if index ~= cjson.null then
      now_answer = redis.call('HGET', KEYS[5], index .. ':' .. ARGV[2]) or false
      if index > 0 then
        prev_answer = redis.call('HGET', KEYS[5], (index - 1) .. ':' .. ARGV[2]) or false
      end
    end
  end
  local top = ARGV[3] == '1' and page(0, 10) or false
  return { phase, raw, rank, now_answer, prev_answer, top, redis.call('HGET', KEYS[1], 'logseq') }
elseif mode == 'log' then
  local after = tonumber(ARGV[2])
  local last = tonumber(redis.call('HGET', KEYS[1], 'logseq'))
  if after > last then return { 'AHEAD' } end
  local first = redis.call('XRANGE', KEYS[6], '-', '+', 'COUNT', 1)
  if #first > 0 and tonumber(string.match(first[1][1], '^(%d+)')) > after + 1 then
    return { 'TRIMMED' }
  end
  local out = { 'OK' }
  for _, entry in ipairs(redis.call('XRANGE', KEYS[6], '(' .. after .. '-1', '+')) do
    local fields = entry[2]
    local e, d
    for i = 1, #fields, 2 do
      if fields[i] == 'e' then e = fields[i + 1] elseif fields[i] == 'd' then d = fields[i + 1] end
    end
    out[#out + 1] = string.match(entry[1], '^(%d+)')
    out[#out + 1] = e
    out[#out + 1] = d
  end
  return out
elseif mode == 'counts' then
  local counts = {}
  for c = 0, tonumber(ARGV[3]) - 1 do
    counts[#counts + 1] = tonumber(redis.call('HGET', KEYS[7], ARGV[2] .. ':' .. c) or '0')
  end
  return { counts, tonumber(redis.call('HGET', KEYS[7], ARGV[2] .. ':n') or '0'),
    redis.call('ZCARD', KEYS[4]) }
elseif mode == 'all' then
  return { redis.call('GET', KEYS[2]), redis.call('HGETALL', KEYS[3]),
    redis.call('HGETALL', KEYS[5]) }
end
return redis.error_reply('unknown mode')
