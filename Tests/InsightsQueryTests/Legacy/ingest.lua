-- Insights: atomic ingest of a batch of analytics events for one agent.
--
-- EVALSHA <sha> 1 ins:{<agent>}:stream prefix minTTL hourTTL dayTTL sessTTL n
--         <10 args per event: id ts_ms type session json rt_ms conf intent channel escalated>
--         [streamCap]
-- Returns {accepted, duplicates}.
--
-- streamCap (optional, after the events; absent or 0 = no cap): the most entries the
-- agent's stream may hold. A batch whose new events would take XLEN past it is refused
-- as a whole with the error `STREAMFULL ...` and nothing is written: the caller keeps the
-- events and retries later (HTTP 503). The stream is never trimmed here: workers trim
-- only below what the group has acknowledged, so an unread entry is never lost.
--
-- Key schema and bucket fields: docs/keys.md. Sent as `common.lua .. ingest.lua`.
-- The script runs in four phases so that a bad argument (or a wrong-typed
-- seen set or session hash) is detected before anything is written: Redis
-- does not roll back a script that fails half-way.
--   1. validate every argument          (no Redis calls)
--   2. read: TIME, seen sets, sessions  (read-only calls)
--   3. compute all effects in Lua       (no Redis calls)
--   4. write: XADD, HINCRBY, EXPIREAT, session hashes, seen set
-- Increments are summed per (key, field) and issued once each, with one
-- EXPIREAT per touched key: a batch mostly hits the same three buckets.

local FIELDS_PER_EVENT = 10
local CHUNK = 1000        -- unpack() in Lua 5.1 is limited to ~8000 values; stay far below

local EVENT_TYPES = {
  conversation_start = true, conversation_end = true,
  user_message = true, bot_response = true,
  intent_classified = true, entity_extracted = true,
  workflow_started = true, workflow_completed = true, workflow_failed = true,
  api_call = true, error = true, user_feedback = true, custom = true,
}
local MESSAGE_TYPES = { user_message = true, bot_response = true }

local LOW_CONFIDENCE = 0.7

-- Decimal number (digits, '.', optional exponent) -- tonumber alone would also
-- take hex, leading spaces, "nan" and "inf".
local function parse_decimal(s)
  if #s > 32 or not s:find('^%d*%.?%d*[eE]?[+-]?%d*$') then
    return nil
  end
  return tonumber(s)
end

---------------------------------------------------------------------------
-- Phase 1: validation (nothing is read or written before it passes)
---------------------------------------------------------------------------

if #KEYS ~= 1 then
  return fail('expected exactly 1 key')
end
if #ARGV < 6 then
  return fail('expected at least 6 arguments')
end
local prefix = ARGV[1]
if prefix == '' or KEYS[1] ~= prefix .. 'stream' then
  return fail('KEYS[1] must be ARGV[1] .. "stream"')
end

local ttl = {}
local ttl_names = { 'minute', 'hour', 'day', 'session' }
for i = 1, 4 do
  local v = parse_uint(ARGV[1 + i])
  if v == nil or v < 1 then
    return fail(ttl_names[i] .. ' TTL must be a positive integer')
  end
  ttl[i] = v
end
local minute_ttl, hour_ttl, day_ttl, session_ttl = ttl[1], ttl[2], ttl[3], ttl[4]

local n = parse_uint(ARGV[6])
if n == nil then
  return fail('event count must be a non-negative integer')
end
if #ARGV ~= 6 + FIELDS_PER_EVENT * n and #ARGV ~= 7 + FIELDS_PER_EVENT * n then
  return fail('expected ' .. int_str(6 + FIELDS_PER_EVENT * n) .. ' arguments (or one more: the stream cap) for ' ..
    int_str(n) .. ' events, got ' .. int_str(#ARGV))
end
local stream_cap = 0
if #ARGV == 7 + FIELDS_PER_EVENT * n then
  stream_cap = parse_uint(ARGV[#ARGV])
  if stream_cap == nil then
    return fail('stream cap must be a non-negative integer')
  end
end

-- Parse and check event i (0-based). Returns the event, or nil and a reason.
local function parse_event(i)
  local b = 7 + FIELDS_PER_EVENT * i
  local id, ts_s, etype, session = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local rt_s, conf_s, esc = ARGV[b + 5], ARGV[b + 6], ARGV[b + 9]

  if not valid_id(id) then
    return nil, 'event_id must match [A-Za-z0-9._:@-]{1,128}'
  end
  local ts = parse_uint(ts_s)
  if ts == nil then
    return nil, 'ts_ms must be a non-negative integer'
  end
  if not EVENT_TYPES[etype] then
    return nil, 'unknown event_type'
  end
  if not valid_id(session) then
    return nil, 'session_id must match [A-Za-z0-9._:@-]{1,128}'
  end
  local rt = nil
  if rt_s ~= '' then
    rt = parse_uint(rt_s)
    if rt == nil then
      return nil, 'response_time_ms must be empty or a non-negative integer'
    end
  end
  local conf = nil
  if conf_s ~= '' then
    conf = parse_decimal(conf_s)
    if conf == nil or not (conf >= 0 and conf <= 1) then
      return nil, 'confidence must be empty or a number in [0, 1]'
    end
  end
  if esc ~= '0' and esc ~= '1' then
    return nil, 'escalated must be "0" or "1"'
  end
  return {
    id = id, ts = ts, etype = etype, session = session, json = ARGV[b + 4],
    rt = rt, conf = conf, intent = ARGV[b + 7], channel = ARGV[b + 8], escalated = (esc == '1'),
  }
end

-- Parsed events, in argument order.
local events = {}
for i = 0, n - 1 do
  local ev, reason = parse_event(i)
  if ev == nil then
    return fail('event ' .. int_str(i) .. ': ' .. reason)
  end
  events[i + 1] = ev
end

if n == 0 then
  return { 0, 0 }
end

---------------------------------------------------------------------------
-- Phase 2: reads
---------------------------------------------------------------------------

local now = tonumber(redis.call('TIME')[1])
local today = math.floor(now / DAY)
local seen_today = prefix .. 'seen:' .. int_str(today)
local seen_yesterday = prefix .. 'seen:' .. int_str(today - 1)

-- SMISMEMBER over all ids, in chunks; returns one 0/1 per id.
local function smismember(key, ids)
  local out = {}
  for first = 1, #ids, CHUNK do
    local r = redis.call('SMISMEMBER', key, unpack(ids, first, math.min(first + CHUNK - 1, #ids)))
    for j = 1, #r do
      out[#out + 1] = r[j]
    end
  end
  return out
end

local all_ids = {}
for i = 1, n do
  all_ids[i] = events[i].id
end
local in_today = smismember(seen_today, all_ids)
local in_yesterday = smismember(seen_yesterday, all_ids)

-- Accepted events: not seen today/yesterday and not earlier in this batch.
local accepted = {}
local accepted_ids = {}
local batch_ids = {}
for i = 1, n do
  local ev = events[i]
  if in_today[i] == 0 and in_yesterday[i] == 0 and not batch_ids[ev.id] then
    batch_ids[ev.id] = true
    accepted[#accepted + 1] = ev
    accepted_ids[#accepted_ids + 1] = ev.id
  end
end
local duplicates = n - #accepted

if #accepted == 0 then
  return { 0, duplicates }
end

-- Stream cap: refuse (never trim) when the new entries would not fit.
if stream_cap > 0 then
  local len = redis.call('XLEN', KEYS[1])
  if len + #accepted > stream_cap then
    return redis.error_reply('STREAMFULL stream ' .. KEYS[1] .. ' holds ' .. int_str(len) ..
      ' entries (cap ' .. int_str(stream_cap) .. '); ' .. int_str(#accepted) .. ' new events refused, retry later')
  end
end

-- Session state cache: one HMGET per distinct session of the accepted events.
-- state = { key, t0 (number or nil when the hash does not exist), m, changed }
local sessions = {}
local session_order = {}
for _, ev in ipairs(accepted) do
  if sessions[ev.session] == nil then
    local key = prefix .. 'sf:' .. ev.session
    local r = redis.call('HMGET', key, 't0', 'm')
    local t0 = r[1] and tonumber(r[1]) or nil
    local m = (t0 and r[2]) and tonumber(r[2]) or 0
    sessions[ev.session] = { key = key, t0 = t0, m = m, changed = false }
    session_order[#session_order + 1] = ev.session
  end
end

---------------------------------------------------------------------------
-- Phase 3: compute every increment in Lua
---------------------------------------------------------------------------

-- Increments are first summed per minute (a batch mostly falls in one or two
-- minutes, so each event costs one table update per field instead of three),
-- then folded into the minute, hour and day keys (end of this phase).
-- Fields keep their first-touch order so the writes are deterministic.
local minutes = {}       -- minute start (s) -> { fields = {field...}, delta = {field -> n} }
local minute_order = {}

local function minute_of(ts_ms)
  local start = math.floor(ts_ms / 60000) * MINUTE
  local a = minutes[start]
  if a == nil then
    a = { fields = {}, delta = {} }
    minutes[start] = a
    minute_order[#minute_order + 1] = start
  end
  return a
end

-- Add delta to field of a minute accumulator. A zero delta (moving a session
-- without messages) is dropped so that it does not create a field.
local function add(a, field, delta)
  if delta == 0 then
    return
  end
  local cur = a.delta[field]
  if cur == nil then
    a.fields[#a.fields + 1] = field
    cur = 0
  end
  a.delta[field] = cur + delta
end

-- Field names built once per batch rather than concatenated per event.
local function field_cache(prefix_str)
  return setmetatable({}, { __index = function(t, k)
    local v = prefix_str .. k
    t[k] = v
    return v
  end })
end
local EV_FIELD, CH_FIELD, INTENT_FIELD, RT_FIELD =
  field_cache('ev:'), field_cache('ch:'), field_cache('intent:'), field_cache('rt:')

-- Latency histogram bin floor(4*log2(rt)) for rt >= 1. The logarithm is only a
-- first guess: it can land one bin off at exact powers of two (log(8)/log(2)
-- is 2.9999999999999996), so correct it against the bin's bounds.
local LN2 = math.log(2)
local function rt_bin(rt)
  local bin = math.floor(4 * math.log(rt) / LN2)
  while 2 ^ ((bin + 1) / 4) <= rt do
    bin = bin + 1
  end
  while 2 ^ (bin / 4) > rt do
    bin = bin - 1
  end
  return bin
end

-- Counters chosen by the event's own timestamp.
local function count_event(ev)
  local a = minute_of(ev.ts)
  local etype = ev.etype
  add(a, 'events', 1)
  add(a, EV_FIELD[etype], 1)
  if MESSAGE_TYPES[etype] then
    add(a, 'messages', 1)
  end
  -- Mean latency is over bot responses with response_time_ms > 0.
  if etype == 'bot_response' and ev.rt and ev.rt > 0 then
    add(a, 'rt_sum', ev.rt)
    add(a, 'rt_count', 1)
    add(a, RT_FIELD[rt_bin(ev.rt)], 1)
  end
  if etype == 'intent_classified' then
    if ev.intent ~= '' then
      add(a, 'intents', 1)
      add(a, INTENT_FIELD[ev.intent], 1)
    end
    if ev.conf then
      -- Average confidence ignores 0 (as the original `if e.confidence`),
      -- but a present 0 still counts as low confidence.
      if ev.conf > 0 then
        add(a, 'conf_sum_u', math.floor(ev.conf * 1e6 + 0.5))
        add(a, 'conf_count', 1)
      end
      if ev.conf < LOW_CONFIDENCE then
        add(a, 'low_conf', 1)
      end
    end
  end
  if ev.escalated then
    add(a, 'escalations', 1)
  end
  if ev.channel ~= '' then
    add(a, CH_FIELD[ev.channel], 1)
  end
end

-- Session counters live in the buckets of the session's first event (t0).
local function count_session(ev)
  local s = sessions[ev.session]
  local ts = ev.ts
  if s.t0 == nil then
    -- New session: counted once, in the buckets of its first event.
    s.t0, s.m, s.changed = ts, 0, true
    add(minute_of(ts), 'conversations', 1)
  elseif ts < s.t0 then
    -- An earlier event arrived late: move the session, with what it has
    -- accumulated so far, from the old t0 buckets to the new ones.
    local old, new = minute_of(s.t0), minute_of(ts)
    local with_msg = (s.m > 0) and 1 or 0
    add(old, 'conversations', -1)
    add(old, 'conv_msg', -with_msg)
    add(old, 'sess_msgs', -s.m)
    add(new, 'conversations', 1)
    add(new, 'conv_msg', with_msg)
    add(new, 'sess_msgs', s.m)
    s.t0, s.changed = ts, true
  end
  if MESSAGE_TYPES[ev.etype] then
    s.m, s.changed = s.m + 1, true
    local a = minute_of(s.t0)
    add(a, 'sess_msgs', 1)
    if s.m == 1 then
      add(a, 'conv_msg', 1)
    end
  end
end

for _, ev in ipairs(accepted) do
  count_event(ev)
  count_session(ev)
end

-- Fold the minute sums into the bucket keys: key -> { fields, delta, expire_at }.
-- A granularity whose bucket is already past its expiry is skipped. A field
-- whose sum is 0 (a session moved into and out of a bucket within the batch)
-- is kept, so the result equals ingesting the events one call at a time.
local buckets = {}
local bucket_order = {}
local GRANULARITIES = {
  { 'b:m:', MINUTE, minute_ttl },
  { 'b:h:', HOUR, hour_ttl },
  { 'b:d:', DAY, day_ttl },
}
for _, minute_start in ipairs(minute_order) do
  local src = minutes[minute_start]
  for _, g in ipairs(GRANULARITIES) do
    local start = math.floor(minute_start / g[2]) * g[2]
    local expire_at = start + g[2] + g[3]
    if expire_at > now then
      local key = prefix .. g[1] .. int_str(start)
      local dst = buckets[key]
      if dst == nil then
        dst = { fields = {}, delta = {}, expire_at = expire_at }
        buckets[key] = dst
        bucket_order[#bucket_order + 1] = key
      end
      for _, field in ipairs(src.fields) do
        local cur = dst.delta[field]
        if cur == nil then
          dst.fields[#dst.fields + 1] = field
          cur = 0
        end
        dst.delta[field] = cur + src.delta[field]
      end
    end
  end
end

---------------------------------------------------------------------------
-- Phase 4: writes
---------------------------------------------------------------------------

local stream_key = KEYS[1]
for _, ev in ipairs(accepted) do
  redis.call('XADD', stream_key, '*', 'j', ev.json)
end

-- One HINCRBY per distinct (key, field) and one EXPIREAT per key.
for _, key in ipairs(bucket_order) do
  local a = buckets[key]
  for _, field in ipairs(a.fields) do
    redis.call('HINCRBY', key, field, int_str(a.delta[field]))
  end
  redis.call('EXPIREAT', key, int_str(a.expire_at))
end

-- Session hashes: written only if they changed, expiry refreshed for every
-- session that had an event (the last event of the call sets the same TTL).
for _, name in ipairs(session_order) do
  local s = sessions[name]
  if s.changed then
    redis.call('HSET', s.key, 't0', int_str(s.t0), 'm', int_str(s.m))
  end
  redis.call('EXPIRE', s.key, int_str(session_ttl))
end

for first = 1, #accepted_ids, CHUNK do
  redis.call('SADD', seen_today, unpack(accepted_ids, first, math.min(first + CHUNK - 1, #accepted_ids)))
end
redis.call('EXPIREAT', seen_today, int_str((today + 2) * DAY + 3600))

return { #accepted, duplicates }
