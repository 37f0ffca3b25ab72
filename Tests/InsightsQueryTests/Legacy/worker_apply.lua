-- Insights: apply a batch of stream entries to journeys and sessions, and
-- acknowledge them, atomically. Sent prefixed by lua/worker_lib.lua.
--
-- EVALSHA <sha> 1 ins:{<agent>}:stream prefix group retentionTTL minTTL hourTTL dayTTL n
--         <9 args per entry: kind entry_id event_id session ts_ms type intent escalated payload>
--   kind 'A' (apply):       payload = the event's JSON (the stream entry's `j`);
--                           intent = data.intent of intent_classified events, else '';
--                           escalated = '1' if data.escalated_to_human is true, else '0'.
--   kind 'D' (dead letter): intent = the reason, payload = the raw `j` (may be '');
--                           event_id, session, ts, type, escalated are ignored ('' is fine).
-- Returns {applied, already_acked, dead_lettered, finalized, duplicates}.
-- duplicates: acknowledged entries whose JSON was already in the journey (the same
-- event written to the stream twice, e.g. re-sent after the ingest dedupe window):
-- they are acknowledged without touching the session again.
--
-- Per entry, XACK comes first: 0 means another consumer already handled the
-- entry (it was claimed from us), so its effects are skipped. Applying and
-- acknowledging in one script means a crash can neither lose an entry nor
-- count it twice.

local FIELDS = 9

if #KEYS ~= 1 then
  return fail('expected exactly 1 key')
end
local prefix, group = ARGV[1], ARGV[2]
if prefix == '' or KEYS[1] ~= prefix .. 'stream' then
  return fail('KEYS[1] must be ARGV[1] .. "stream"')
end
local ttl = {}
for i = 1, 4 do
  ttl[i] = parse_uint(ARGV[2 + i])
  if ttl[i] == nil or ttl[i] < 1 then
    return fail('TTLs must be positive integers')
  end
end
local retention = ttl[1]
local bucket_ttls = { ttl[2], ttl[3], ttl[4] }
local n = parse_uint(ARGV[7])
if n == nil or #ARGV ~= 7 + FIELDS * n then
  return fail('argument count does not match the entry count')
end

-- Phase 1: validate every entry before writing anything.
local entries = {}
for i = 0, n - 1 do
  local b = 8 + FIELDS * i
  local e = {
    kind = ARGV[b], id = ARGV[b + 1], event_id = ARGV[b + 2], session = ARGV[b + 3],
    ts = ARGV[b + 4], etype = ARGV[b + 5], intent = ARGV[b + 6], esc = ARGV[b + 7], payload = ARGV[b + 8],
  }
  if not e.id:find('^%d+%-%d+$') then
    return fail('entry ' .. int_str(i) .. ': bad entry id')
  end
  if e.kind == 'A' then
    e.ts = parse_uint(e.ts)
    if e.ts == nil then
      return fail('entry ' .. int_str(i) .. ': ts must be a non-negative integer')
    end
    if not valid_id(e.session) then
      return fail('entry ' .. int_str(i) .. ': bad session id')
    end
    if e.esc ~= '0' and e.esc ~= '1' then
      return fail('entry ' .. int_str(i) .. ': escalated must be 0 or 1')
    end
  elseif e.kind ~= 'D' then
    return fail('entry ' .. int_str(i) .. ': kind must be A or D')
  end
  entries[i + 1] = e
end

local now = tonumber(redis.call('TIME')[1])
local stream = KEYS[1]
local applied, skipped, dead, finalized, dups = 0, 0, 0, 0, 0

-- Session states touched by this batch, loaded once.
local sessions, order = {}, {}
-- Journey keys written by this batch: one EXPIRE each, after the loop (not one per entry).
local journeys, journey_order = {}, {}
local wm_key = prefix .. 'wm'
local wm = tonumber(redis.call('GET', wm_key) or '-1')
local wm_changed = false

for _, e in ipairs(entries) do
  if redis.call('XACK', stream, group, e.id) == 0 then
    skipped = skipped + 1
  elseif e.kind == 'D' then
    -- Capped (approximately, at least the newest 10 000 kept): a flood of bad entries cannot grow it without bound.
    redis.call('XADD', prefix .. 'deadletter', 'MAXLEN', '~', '10000', '*', 'id', e.id, 'reason', e.intent, 'j', e.payload)
    dead = dead + 1
  else
    local jkey = prefix .. 'journey:' .. e.session
    local added = redis.call('ZADD', jkey, e.ts, e.payload)
    if not journeys[jkey] then
      journeys[jkey] = true
      journey_order[#journey_order + 1] = jkey
    end
    if added == 0 then
      dups = dups + 1
    else
      applied = applied + 1
      local s = sessions[e.session]
      if s == nil then
        local key = prefix .. 'sess:' .. e.session
        s = load_session(key) or {}
        s.key = key
        sessions[e.session] = s
        order[#order + 1] = e.session
      end
      local ts = e.ts
      if s.first == nil or ts < s.first then s.first = ts end
      if s.last == nil or ts > s.last then s.last = ts end
      s.turns = s.turns or 0
      s.escalated = s.escalated or 0
      s.ended = s.ended or 0
      if e.etype == 'user_message' then
        s.turns = s.turns + 1
      elseif e.etype == 'intent_classified' and e.intent ~= '' then
        -- Greatest event time wins; ties go to the greater intent name (deterministic).
        local cur = s.last_intent_ts
        if cur == nil or ts > cur or (ts == cur and e.intent > (s.last_intent or '')) then
          s.last_intent, s.last_intent_ts = e.intent, ts
        end
      elseif e.etype == 'conversation_end' then
        s.ended = 1
      elseif e.etype == 'workflow_started' then
        s.wf_started = (s.wf_started or 0) + 1
      elseif e.etype == 'workflow_completed' then
        s.wf_completed = (s.wf_completed or 0) + 1
      elseif e.etype == 'workflow_failed' then
        s.wf_failed = (s.wf_failed or 0) + 1
      end
      if e.esc == '1' then
        s.escalated = 1
      end
      if ts > wm then
        wm, wm_changed = ts, true
      end
    end
  end
end

for _, jkey in ipairs(journey_order) do
  redis.call('EXPIRE', jkey, retention)
end

for _, sid in ipairs(order) do
  local s = sessions[sid]
  if s.finalized == 1 then
    correct(prefix, now, bucket_ttls, s)
  elseif s.ended == 1 then
    if finalize(prefix, now, bucket_ttls, sid, s) then
      finalized = finalized + 1
    end
  else
    redis.call('ZADD', prefix .. 'idle', s.last, sid)
  end
  save_session(s.key, s, retention)
end
flush_buckets()
if wm_changed then
  redis.call('SET', wm_key, int_str(wm))
end

return { applied, skipped, dead, finalized, dups }
