-- Insights: finalize idle sessions as dropped. Sent prefixed by lua/worker_lib.lua.
--
-- EVALSHA <sha> 1 ins:{<agent>}:idle prefix timeoutMs chunk retentionTTL minTTL hourTTL dayTTL [graceMs]
-- Returns {finalized, scanned}: scanned == chunk means more may be due (call again).
--
-- A session is due when its last event ts < wm - timeoutMs (event time: `P wm`
-- is the greatest event ts the workers have applied). With graceMs (optional,
-- off when absent or ''), wm is at least server time - graceMs, so the last
-- sessions of an agent that stopped sending are finalized too. The script is atomic and
-- finalize() checks and sets `finalized`, so any number of workers may sweep
-- at once: every due session is finalized exactly once.

if #KEYS ~= 1 then
  return fail('expected exactly 1 key')
end
local prefix = ARGV[1]
if prefix == '' or KEYS[1] ~= prefix .. 'idle' then
  return fail('KEYS[1] must be ARGV[1] .. "idle"')
end
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
local retention = ttl[1]
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

local time = redis.call('TIME')
local now = tonumber(time[1])
local wm = tonumber(redis.call('GET', prefix .. 'wm') or '')
if grace ~= nil then
  local wall = now * 1000 + math.floor(tonumber(time[2]) / 1000) - grace
  if wm == nil or wall > wm then
    wm = wall
  end
end
if wm == nil then
  return { 0, 0 }
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. int_str(wm - timeout), 'LIMIT', 0, chunk)
local finalized = 0
for _, sid in ipairs(due) do
  local key = prefix .. 'sess:' .. sid
  local s = load_session(key)
  if s == nil or s.finalized == 1 then
    redis.call('ZREM', KEYS[1], sid)  -- expired or already finalized
  else
    s.turns = s.turns or 0
    s.escalated = s.escalated or 0
    s.ended = s.ended or 0
    if finalize(prefix, now, bucket_ttls, sid, s) then
      finalized = finalized + 1
    end
    save_session(key, s, retention)
  end
end
flush_buckets()
return { finalized, #due }
