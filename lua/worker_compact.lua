#!lua
-- Insights: hand finalized sessions to a worker for compaction, and store what it made.
-- Sent prefixed by lua/common.lua. The worker (Sources/InsightsWorker, Worker+Compaction.swift)
-- merges a session's hash, its finalized records and any earlier compacted journey into one
-- CompactJourney value (deflate needs Swift: Redis' Lua has no zlib).
--
-- EVALSHA <sha> 1 ins:{<agent>}:cq prefix 'lease' count leaseMs
--   Sessions due in `P cq` (score <= now), at most count: each is leased (re-scored to now + leaseMs,
--   so a worker that dies mid-way only delays it) and returned after a first element: in how many ms
--   the earliest session left in the queue is due (-1: none), so that a worker looks at a quiet
--   agent's queue again then (docs/worker.md, *Many agents*). The worker then reads what it
--   compacts (HGETALL P s:<sid>, GET P jf:<sid>, GET P jz:<sid>) in one pipeline.
-- EVALSHA <sha> 1 ins:{<agent>}:cq prefix 'store' retentionTTL n <per session: sid state jflen blob k id_1 .. id_k>
--   For each session whose hash and finalized records are unchanged since the compactor read them
--   (state: its t0, m, l and st joined by NUL bytes, as read; jflen: the finalized records' length,
--   which only ever grows by APPEND; ingest overwrites t0, m and l, so their values are compared,
--   not the hash's length), SET P jz:<sid> blob with the retention,
--   DEL the hash and the finalized records, and take the session's k event ids (their stored
--   forms, one argument each) out of the agent's de-dup sets of today and yesterday:
--   the compacted journey holds them now (lua/ingest.lua checks it). Else leave it queued (its
--   lease expires and it is compacted again). An empty blob only takes the session off the queue
--   (nothing was left to compact). Returns the number stored.

if #KEYS ~= 1 then
  return fail('expected exactly 1 key')
end
local prefix, op = ARGV[1], ARGV[2]
if prefix == '' or KEYS[1] ~= prefix .. 'cq' then
  return fail('KEYS[1] must be ARGV[1] .. "cq"')
end
if not slot_settled(prefix) then return slot_migrating(prefix) end
local _, now_ms = server_time()

if op == 'lease' then
  local count, lease = parse_uint(ARGV[3]), parse_uint(ARGV[4])
  if count == nil or count < 1 or lease == nil then
    return fail('lease needs count and leaseMs')
  end
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int_str(now_ms), 'LIMIT', 0, count)
  local until_s = int_str(now_ms + lease)
  for _, sid in ipairs(due) do
    redis.call('ZADD', KEYS[1], until_s, sid)
  end
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local reply = { first[2] and math.max(0, tonumber(first[2]) - now_ms) or -1 }
  for i, sid in ipairs(due) do reply[i + 1] = sid end
  return reply
elseif op == 'store' then
  local function now_state(skey)
    local r = redis.call('HMGET', skey, 't0', 'm', 'l', 'st')
    return (r[1] or '') .. '\0' .. (r[2] or '') .. '\0' .. (r[3] or '') .. '\0' .. (r[4] or '')
  end
  local retention, n = parse_uint(ARGV[3]), parse_uint(ARGV[4])
  if retention == nil or retention < 1 or n == nil then
    return fail('store needs retentionTTL and n')
  end
  local today = math.floor(now_ms / 86400000)
  local day_keys = { prefix .. 'd:' .. int_str(today), prefix .. 'd:' .. int_str(today - 1) }
  -- Check the layout before writing anything.
  local sessions, b = {}, 5
  for i = 1, n do
    local k = parse_uint(ARGV[b + 4])
    if k == nil or b + 4 + k > #ARGV then
      return fail('store: session ' .. int_str(i) .. ' has no valid id count')
    end
    sessions[i] = b
    b = b + 5 + k
  end
  if b ~= #ARGV + 1 then
    return fail('store: argument count does not match the sessions')
  end
  local stored, gone = 0, {}
  for i = 1, n do
    local b = sessions[i]
    local sid, state, jflen, blob = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2]), ARGV[b + 3]
    local skey, fkey = prefix .. 's:' .. sid, prefix .. 'jf:' .. sid
    if blob == '' then
      redis.call('ZREM', KEYS[1], sid)  -- nothing to compact (the session expired meanwhile)
    elseif redis.call('STRLEN', fkey) == jflen and now_state(skey) == state then
      redis.call('SET', prefix .. 'jz:' .. sid, blob, 'EX', ARGV[3])
      redis.call('DEL', skey, fkey)
      redis.call('ZREM', KEYS[1], sid)
      for f = b + 5, b + 4 + tonumber(ARGV[b + 4]) do
        gone[#gone + 1] = ARGV[f]
      end
      stored = stored + 1
    end
  end
  for _, key in ipairs(day_keys) do
    if #gone > 0 and redis.call('EXISTS', key) == 1 then  -- yesterday's set is mostly gone (lua/ingest.lua)
      for first = 1, #gone, CHUNK do
        redis.call('SREM', key, unpack(gone, first, math.min(first + CHUNK - 1, #gone)))
      end
    end
  end
  return stored
end
return fail('op must be lease or store')
