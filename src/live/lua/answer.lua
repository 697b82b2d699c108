-- Records one answer, exactly once. The caller scored it from what it read before; this
-- checks that nothing it relied on has changed (else RETRY) and applies it atomically.
-- In an `at_reveal` session the reply tells nothing of how it scored: `correct` and
-- `awarded_points` are null, standing as of the last reveal (the frozen board and players,
-- see apply.lua), and no `score` snapshot is written until the close.
-- KEYS: meta, phase, players, board, answers, counts, score, frozen board, frozen players
-- ARGV: user, index, choice, now, record (JSON), points, streak count after,
--       streak index after, expected streak count, expected streak index, expected opened_at,
--       score snapshot (JSON, score and rank filled in here)
local key = ARGV[2] .. ':' .. ARGV[1]
local existing = redis.call('HGET', KEYS[5], key)
if existing then return { 'EXISTING', existing } end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return { 'NOTPLAYER' } end
local p = cjson.decode(raw)
if p.l then return { 'NOTPLAYER' } end
local phase = cjson.decode(redis.call('GET', KEYS[2]))
local index = tonumber(ARGV[2])
if phase.status ~= 'question' or phase.question_index ~= index
    or tonumber(ARGV[4]) >= phase.closes_at then
  return { 'NOTOPEN' }
end
if phase.opened_at ~= tonumber(ARGV[11]) or p.c ~= tonumber(ARGV[9])
    or p.x ~= tonumber(ARGV[10]) then
  return { 'RETRY' }
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local points = tonumber(ARGV[6])
p.s = p.s + points
if points > 0 then p.r = seq end
p.c = tonumber(ARGV[7])
p.x = tonumber(ARGV[8])
p.a = true
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(p))
redis.call('ZADD', KEYS[4], p.s * 4294967296 + (4294967295 - p.r), ARGV[1])
redis.call('HINCRBY', KEYS[6], index .. ':' .. ARGV[3], 1)
local answered = redis.call('HINCRBY', KEYS[6], index .. ':n', 1)
local rank = 1 + redis.call('ZCOUNT', KEYS[4], (p.s + 1) * 4294967296, '+inf')
local record = cjson.decode(ARGV[5])
record.seq = seq
record.result.version = seq
local hidden = redis.call('HGET', KEYS[1], 'feedback') == 'at_reveal'
if hidden then
  local fs, fc, fx = 0, 0, -1
  local f = redis.call('HGET', KEYS[9], ARGV[1])
  if f then
    f = cjson.decode(f)
    fs, fc, fx = f.s, f.c, f.x
  end
  record.result.correct = cjson.null
  record.result.awarded_points = cjson.null
  record.result.score = fs
  record.result.rank = 1 + redis.call('ZCOUNT', KEYS[8], (fs + 1) * 4294967296, '+inf')
  if fx == index - 1 then record.result.streak = fc else record.result.streak = 0 end
else
  record.result.score = p.s
  record.result.rank = rank
end
local out = cjson.encode(record)
redis.call('HSET', KEYS[5], key, out)
if not hidden then
  local snap = cjson.decode(ARGV[12])
  snap.score = p.s
  snap.rank = rank
  redis.call('SET', KEYS[7], cjson.encode(snap))
end
return { 'OK', out, answered, redis.call('ZCARD', KEYS[4]) }
