#!lua
-- Insights: apply a batch of an agent's stream entries to journeys and sessions, and acknowledge
-- them, in one atomic call. Sent prefixed by lua/common.lua and lua/worker_lib.lua.
--
-- EVALSHA <sha> 1 ins:{<agent>}:stream prefix group retentionTTL minTTL hourTTL dayTTL ns nd na
--         <4 args per session: sid records last_ts ended>
--         <3 args per dead letter: entry_id reason j>
--         <na entry ids to acknowledge (the dead letters are acknowledged with their own)>
-- Returns {finalized, dead_lettered, acknowledged}: acknowledged counts the entries this call took
-- off the pending list (0 for entries another consumer had claimed and acknowledged already).
--
-- The worker (Sources/InsightsWorker) read the entries (XREADGROUP / XAUTOCLAIM), checked their
-- shape (fields `s`: session id, `r`: journey record, as ingest wrote them) and grouped them by
-- session: `records` is the concatenation of a session's records in stream order, `last_ts` the
-- greatest of their times, `ended` '1' if one is a conversation_end. Entries it could not read
-- and that were delivered maxDeliveries times come as dead letters (moved to `P deadletter`).
--
-- Per session: its records are appended to `P j:<sid>` (one APPEND). A journey created by that
-- APPEND is a new session (added to `P idle`) or, if the session is finalized already, late events
-- (worker_lib.apply_late); a conversation_end finalizes it. Applying is idempotent per event id (a
-- journey counts each id once when it is finalized, a finalized session folds an id once), so an
-- entry applied twice -- by a slow consumer and by the one that claimed it -- counts once; and as
-- applying and acknowledging are one call, a crash can neither apply an entry without
-- acknowledging it nor the reverse.

if #KEYS ~= 1 or #ARGV < 9 then
  return fail('expected 1 key and at least 9 arguments')
end
local prefix, group = ARGV[1], ARGV[2]
if prefix == '' or KEYS[1] ~= prefix .. 'stream' then
  return fail('KEYS[1] must be ARGV[1] .. "stream"')
end
if not slot_settled(prefix) then return slot_migrating(prefix) end
local ttl = {}
for i = 1, 4 do
  ttl[i] = parse_uint(ARGV[2 + i])
  if ttl[i] == nil or ttl[i] < 1 then
    return fail('TTLs must be positive integers')
  end
end
local retention, retention_s = ttl[1], ARGV[3]
local bucket_ttls = { ttl[2], ttl[3], ttl[4] }
local ns, nd, na = parse_uint(ARGV[7]), parse_uint(ARGV[8]), parse_uint(ARGV[9])
if ns == nil or nd == nil or na == nil or #ARGV ~= 9 + 4 * ns + 3 * nd + na then
  return fail('argument count does not match the session, dead letter and ack counts')
end

local now_s, now_ms = server_time()
local now_ms_s = int_str(now_ms)
local wm_key = prefix .. 'wm'
local wm = tonumber(redis.call('GET', wm_key) or '-1')
local wm_changed = false
local finalized = 0

for i = 0, ns - 1 do
  local b = 10 + 4 * i
  local sid, blob, last = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  local jkey = prefix .. 'j:' .. sid
  local open = true
  if redis.call('APPEND', jkey, blob) == #blob then
    -- The journey did not exist: a new session, or a finalized one receiving late events.
    local skey = prefix .. 's:' .. sid
    local fin = redis.call('HEXISTS', skey, 'st') == 1
    if not fin then
      local header = compact_header(prefix, sid)
      if header then
        call_chunked('HSET', skey, {}, header_fields(header, {}))  -- reopen the compacted session
        redis.call('EXPIRE', skey, retention_s)
        fin = true
      end
    end
    if fin then
      open = false
      redis.call('DEL', jkey)
      apply_late(prefix, now_s, now_ms_s, bucket_ttls, retention_s, sid, blob)
    else
      redis.call('EXPIRE', jkey, retention_s)
      redis.call('ZADD', prefix .. 'idle', ARGV[b + 2], sid)
    end
  end
  if open and ARGV[b + 3] == '1' and finalize(prefix, now_s, now_ms_s, bucket_ttls, retention_s, sid) then
    finalized = finalized + 1
  end
  if last > wm then
    wm, wm_changed = last, true
  end
end

-- Dead letters: fields id, reason, j (the entry's `j`, for entries of the format before issue 13, or '').
-- Capped (approximately, at least the newest 10 000 kept): a flood of bad entries cannot grow it.
-- Each one once: only if it is still pending (two workers may both have claimed it).
local dl_base = 10 + 4 * ns
local dead = 0
for i = 0, nd - 1 do
  local b = dl_base + 3 * i
  if redis.call('XACK', KEYS[1], group, ARGV[b]) == 1 then
    redis.call('XADD', prefix .. 'deadletter', 'MAXLEN', '~', '10000', '*', 'id', ARGV[b], 'reason', ARGV[b + 1], 'j', ARGV[b + 2])
    dead = dead + 1
  end
end

counters_read()
counters_write(false)
if wm_changed then
  redis.call('SET', wm_key, int_str(wm))
end
local ack_base = dl_base + 3 * nd
local acked = dead
for first = ack_base, ack_base + na - 1, CHUNK do
  acked = acked + redis.call('XACK', KEYS[1], group, unpack(ARGV, first, math.min(first + CHUNK - 1, ack_base + na - 1)))
end
return { finalized, dead, acked }
