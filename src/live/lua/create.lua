-- KEYS: meta, phase. ARGV: quiz_id, host_id, auto_advance, max_players, epoch, created_at,
-- phase, deal_seed, feedback
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'quiz_id', ARGV[1], 'host_id', ARGV[2], 'auto_advance', ARGV[3],
  'max_players', ARGV[4], 'epoch', ARGV[5], 'created_at', ARGV[6], 'seq', 0, 'logseq', 0,
  'deal_seed', ARGV[8], 'feedback', ARGV[9], 'locked', 0)
redis.call('SET', KEYS[2], ARGV[7])
return 1
