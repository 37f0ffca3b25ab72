#!lua
-- Insights: finalize idle sessions as dropped. Sent prefixed by lua/common.lua and lua/worker_lib.lua.
--
-- EVALSHA <sha> 1 ins:{<agent>}:idle prefix timeoutMs chunk retentionTTL minTTL hourTTL dayTTL [graceMs]
-- Returns {finalized, scanned, next}: scanned == chunk means more may be due (call again); next is
-- in how many ms the earliest session still idle is due by the server clock (-1: none is idle, or
-- no graceMs), so a worker can leave a quiet agent alone until then (docs/worker.md, *Many agents*).
--
-- A session is due when its last event is older than (watermark − timeoutMs). The watermark is
-- the greatest event time the workers applied (`P wm`: backfilled history is finalized at once),
-- and with graceMs at least the server time − graceMs, so the last sessions of an agent that
-- stopped sending are finalized too. `P idle` is scored by a session's last event when it was
-- opened; a candidate whose session hash says it had later events (`l`, kept by ingest) is
-- re-scored instead of finalized, so ingest and apply never touch `P idle` per event. The script is
-- atomic and finalizing is guarded (only an open session has a journey `P j:<sid>`), so any number
-- of workers may sweep at once: every due session is finalized exactly once.

if #KEYS ~= 1 then
  return fail('expected exactly 1 key')
end
local prefix = ARGV[1]
if prefix == '' or KEYS[1] ~= prefix .. 'idle' then
  return fail('KEYS[1] must be ARGV[1] .. "idle"')
end
if not slot_settled(prefix) then return slot_migrating(prefix) end
local timeout, chunk = parse_uint(ARGV[2]), parse_uint(ARGV[3])
if timeout == nil or chunk == nil or chunk < 1 then
  return fail('timeout and chunk must be non-negative integers (chunk >= 1)')
end
local ttl = {}
for i = 1, 4 do
  ttl[i] = parse_uint(ARGV[3 + i])
  if ttl[i] == nil or ttl[i] < 1 then
    return fail('TTLs must be positive integers')
  end
end
local bucket_ttls = { ttl[2], ttl[3], ttl[4] }
local grace = nil
if ARGV[8] ~= nil and ARGV[8] ~= '' then
  grace = parse_uint(ARGV[8])
  if grace == nil then
    return fail('graceMs must be empty or a non-negative integer')
  end
end
if #ARGV > 8 then
  return fail('too many arguments')
end

local now_s, now_ms = server_time()
local now_ms_s, retention_s = int_str(now_ms), ARGV[4]
local wm = tonumber(redis.call('GET', prefix .. 'wm') or '')
if grace ~= nil and (wm == nil or now_ms - grace > wm) then
  wm = now_ms - grace
end
if wm == nil then
  return { 0, 0, -1 }
end
local cutoff = wm - timeout
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. int_str(cutoff), 'LIMIT', 0, chunk)
local finalized = 0
for _, sid in ipairs(due) do
  local r = redis.call('HMGET', prefix .. 's:' .. sid, 'l', 'st')
  local last = tonumber(r[1])
  if r[2] then
    redis.call('ZREM', KEYS[1], sid)  -- finalized already (a conversation_end)
  elseif last ~= nil and last >= cutoff then
    redis.call('ZADD', KEYS[1], r[1], sid)  -- it had later events: not due yet
  elseif finalize(prefix, now_s, now_ms_s, bucket_ttls, retention_s, sid) then
    finalized = finalized + 1
  else
    redis.call('ZREM', KEYS[1], sid)  -- no journey left (expired)
  end
end
counters_read()
counters_write(false)
local next_ms = -1
if grace ~= nil then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then
    next_ms = math.max(0, tonumber(first[2]) + timeout + grace - now_ms)
  end
end
return { finalized, #due, next_ms }
