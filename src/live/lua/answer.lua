-- Records one answer, exactly once. The caller scored it from what it read before; this
-- checks that nothing it relied on has changed (else RETRY) and applies it atomically.
-- KEYS: meta, phase, players, board, answers, counts, score
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
record.result.score = p.s
record.result.rank = rank
record.result.version = seq
local out = cjson.encode(record)
redis.call('HSET', KEYS[5], key, out)
local snap = cjson.decode(ARGV[12])
snap.score = p.s
snap.rank = rank
redis.call('SET', KEYS[7], cjson.encode(snap))
return { 'OK', out, answered, redis.call('ZCARD', KEYS[4]) }
