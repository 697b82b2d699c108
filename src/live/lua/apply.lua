-- Moves the phase (compare-and-set on the phase the caller computed from) and appends the
-- log entries. A question_closed payload is built here, so its counts include every answer
-- accepted before the close.
-- In an `at_reveal` session, opening a question freezes what views show (the board, the
-- players and the board's version) until it closes, in the same step as the log entry, so
-- every node agrees on when the standings move.
-- KEYS: meta, phase, log, counts, board, players, frozen board, frozen players.
-- ARGV: expected phase, new phase, then pairs of (event, data); for question_closed the
-- data is "question_id|correct_choice|choices|index".
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return { 'RETRY' } end
redis.call('SET', KEYS[2], ARGV[2])
local out = { 'OK' }
for i = 3, #ARGV, 2 do
  local event, data = ARGV[i], ARGV[i + 1]
  if event == 'question_opened' then
    redis.call('DEL', KEYS[7], KEYS[8])
    if redis.call('HGET', KEYS[1], 'feedback') == 'at_reveal' then
      redis.call('COPY', KEYS[5], KEYS[7])
      redis.call('COPY', KEYS[6], KEYS[8])
      redis.call('HSET', KEYS[1], 'fseq', redis.call('HGET', KEYS[1], 'seq'))
    end
  elseif event == 'question_closed' then
    redis.call('DEL', KEYS[7], KEYS[8])
    local qid, correct, choices, index = string.match(data, '^([^|]+)|(%d+)|(%d+)|(%d+)$')
    local counts = {}
    for c = 0, tonumber(choices) - 1 do
      counts[#counts + 1] = tonumber(redis.call('HGET', KEYS[4], index .. ':' .. c) or '0')
    end
    local answered = tonumber(redis.call('HGET', KEYS[4], index .. ':n') or '0')
    data = '{"question_id":"' .. qid .. '","correct_choice":' .. correct ..
      ',"answer_counts":[' .. table.concat(counts, ',') .. '],"answered":' .. answered ..
      ',"players":' .. redis.call('ZCARD', KEYS[5]) .. '}'
  else
    redis.call('DEL', KEYS[7], KEYS[8])
  end
  local seq = redis.call('HINCRBY', KEYS[1], 'logseq', 1)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 10000, seq .. '-1', 'e', event, 'd', data)
  out[#out + 1] = tostring(seq)
  out[#out + 1] = event
  out[#out + 1] = data
end
return out
