-- Consistent reads. KEYS: meta, phase, players, board, answers, log, counts, frozen board,
-- frozen players. ARGV[1] is the mode.
-- While an `at_reveal` question is open, views read the frozen board and players (see
-- apply.lua) unless the caller asks for the live ones ('live').
local mode = ARGV[1]
local function frozen(phase)
  return redis.call('HGET', KEYS[1], 'feedback') == 'at_reveal' and phase.status == 'question'
end
local function rank_of(board, score)
  return 1 + redis.call('ZCOUNT', board, (score + 1) * 4294967296, '+inf')
end
local function page(board, version, offset, limit)
  local rows = redis.call('ZREVRANGE', board, offset, offset + limit - 1, 'WITHSCORES')
  local users = {}
  for i = 1, #rows, 2 do users[#users + 1] = rows[i] end
  local names = {}
  if #users > 0 then
    for i, raw in ipairs(redis.call('HMGET', KEYS[3], unpack(users))) do
      names[i] = raw and cjson.decode(raw).n or ''
    end
  end
  local first = 0
  if #rows > 0 then first = rank_of(board, math.floor(tonumber(rows[2]) / 4294967296)) end
  return { redis.call('ZCARD', board), first, rows, names, tonumber(version) }
end
-- The board views show and its version.
local function shown(phase, live)
  if not live and frozen(phase) then
    return KEYS[8], redis.call('HGET', KEYS[1], 'fseq') or '0'
  end
  return KEYS[4], redis.call('HGET', KEYS[1], 'seq')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if mode == 'page' then
  local board, version = shown(cjson.decode(redis.call('GET', KEYS[2])), ARGV[4] == 'live')
  return page(board, version, tonumber(ARGV[2]), tonumber(ARGV[3]))
elseif mode == 'viewer' then
  -- phase, the viewer's player record, rank, answers at the open and previous index, top 10,
  -- log position, locked, and during a reveal the revealed question's counts.
  -- ARGV: user, with top ('1'), live ('live'), most choices per question.
  local raw_phase = redis.call('GET', KEYS[2])
  local phase = cjson.decode(raw_phase)
  local board, version = shown(phase, ARGV[4] == 'live')
  local hide = board == KEYS[8]
  local raw = redis.call('HGET', KEYS[3], ARGV[2]) or false
  local rank, now_answer, prev_answer = 0, false, false
  if raw then
    local index = phase.question_index
    if hide then
      -- Standing as of the last reveal; whether the player is in now is current.
      local p = cjson.decode(raw)
      local f = redis.call('HGET', KEYS[9], ARGV[2])
      if f then
        f = cjson.decode(f)
      else
        f = { s = 0, r = p.j, c = 0, x = -1, a = false }
      end
      f.n, f.j, f.l, f.k = p.n, p.j, p.l, p.k
      raw = cjson.encode(f)
    elseif index ~= cjson.null then
      now_answer = redis.call('HGET', KEYS[5], index .. ':' .. ARGV[2]) or false
    end
    rank = rank_of(board, cjson.decode(raw).s)
    if index ~= cjson.null and index > 0 then
      prev_answer = redis.call('HGET', KEYS[5], (index - 1) .. ':' .. ARGV[2]) or false
    end
  end
  local top = ARGV[3] == '1' and page(board, version, 0, 10) or false
  local counts = false
  if phase.status == 'reveal' then
    counts = {}
    for c = 0, tonumber(ARGV[5] or '0') - 1 do
      counts[#counts + 1] =
        tonumber(redis.call('HGET', KEYS[7], phase.question_index .. ':' .. c) or '0')
    end
  end
  return { raw_phase, raw, rank, now_answer, prev_answer, top,
    redis.call('HGET', KEYS[1], 'logseq'), redis.call('HGET', KEYS[1], 'locked') or '0', counts }
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
