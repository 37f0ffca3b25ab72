#!lua
-- Insights: atomic ingest of a batch of analytics events for one agent.
--
-- EVALSHA <sha> 1 ins:{<agent>}:stream prefix minTTL hourTTL dayTTL sessTTL n counters
--         <7 args per event: idfield session ts_ms type record contribution dims> [streamCap]
-- Returns {accepted, duplicates}.
--
-- The caller (EventIngestor, Sources/InsightsTracker) decoded and validated every event once, and
-- derived from it all that is stored: idfield is the event id's stored form (StoredEventID),
-- type the event type's code (EventType.code: 2 user_message, 3 bot_response, 1 conversation_end, …),
-- record the journey record (JourneyRecord) the stream entry carries, contribution
-- the event's own bucket counters (EventCounters, a MessagePack map field code (CounterCode) -> delta; with key '@'
-- the share of its dimension slices), dims its breakdown values (EventCounters.dims: '' or channel,
-- platform, location joined by \31), and counters the sum of all contributions of the batch per
-- minute (MessagePack: minute start -> {field -> delta}) and per hour, dimension and value
-- ('<hour>\31<dim>\31<value>' -> {field -> delta}, slice fields only). The script checks what it
-- relies on (counts, numbers), not the events again: it adds the counters, minus the
-- contributions of events that turn out to be duplicates.
--
-- streamCap (optional, after the events; absent or 0 = no cap): the most entries the agent's
-- stream may hold. A batch whose new events would take XLEN past it is refused as a whole with
-- the error `STREAMFULL ...` and nothing is written: the caller keeps the events and retries later
-- (HTTP 503). The stream is never trimmed here.
--
-- De-dup (docs/keys.md, "De-dup sets"): an event is a duplicate if its id is in its session's
-- compacted journey or among the ids its finalized state applied, or in the agent's set of ids accepted on today's or yesterday's arrival day
-- (`P d:<day>`, server time; a window between 24 and 49 hours) and not yet compacted, or earlier
-- in the batch. Exact: ids, never digests. The workers take a session's ids out of the day sets
-- when they compact it (its compacted journey keeps them), so the sets hold the ids of sessions
-- still open: a re-sent event is always caught within its session (for as long as the session is
-- kept); the same id in another session only while the first one is not compacted.
-- Session counters live in the session hash `P s:<sid>` (t0, m, l, x), and the live state
-- (docs/metrics.md, *Live state*): lu / lb, the times of its latest user_message and bot_response,
-- lt the type code of its latest event; a session not ended nor finalized is in `P act` (scored
-- by its latest event), and in `P wait` (scored by its latest user_message) while that
-- user_message has no bot_response at or after it.
-- Sent as `common.lua .. ingest.lua`.
--
-- Phases, so that a bad argument or a wrong-typed key is found before anything is written (Redis
-- does not roll back a script that fails half-way): 1. validate the arguments, 2. read (TIME,
-- de-dup sets, sessions, counters), 3. compute in Lua, 4. write (XADD, counters, sets, sessions).
-- Number to string conversions are what costs most in a script: values are passed on as the
-- strings they arrived as wherever they can be.

local FIELDS_PER_EVENT = 7
local BASE = 8 - FIELDS_PER_EVENT  -- event i's arguments start at ARGV[BASE + FIELDS_PER_EVENT * i]
-- The fields of a slice also counted, per dimension value, in the breakdown summary (`P c:…:b`).
local SUMMARY = { FIELD.conversations, FIELD.messages, FIELD.rt_sum, FIELD.rt_count, FIELD.intents, FIELD_INTENT .. 'fallback' }

---------------------------------------------------------------------------
-- Phase 1: validation
---------------------------------------------------------------------------

if #KEYS ~= 1 or #ARGV < 7 then
  return fail('expected 1 key and at least 7 arguments')
end
local prefix = ARGV[1]
if prefix == '' or KEYS[1] ~= prefix .. 'stream' then
  return fail('KEYS[1] must be ARGV[1] .. "stream"')
end
if not slot_settled(prefix) then return slot_migrating(prefix) end
local ttl = {}
for i = 1, 4 do
  ttl[i] = parse_uint(ARGV[1 + i])
  if ttl[i] == nil or ttl[i] < 1 then
    return fail('TTLs must be positive integers')
  end
end
local session_ttl = ttl[4]
local n = parse_uint(ARGV[6])
if n == nil or (#ARGV ~= 7 + FIELDS_PER_EVENT * n and #ARGV ~= 8 + FIELDS_PER_EVENT * n) then
  return fail('expected ' .. int_str(7 + FIELDS_PER_EVENT * (n or 0)) .. ' arguments (or one more: the stream cap)')
end
local stream_cap = 0
if #ARGV == 8 + FIELDS_PER_EVENT * n then
  stream_cap = parse_uint(ARGV[#ARGV])
  if stream_cap == nil then
    return fail('stream cap must be a non-negative integer')
  end
end
if n == 0 then
  return { 0, 0 }
end
local ok, batch_counters = pcall(cmsgpack.unpack, ARGV[7])
if not ok or type(batch_counters) ~= 'table' then
  return fail('counters must be a MessagePack map')
end

-- Event i (1-based) is ARGV[BASE + FIELDS_PER_EVENT * i ..]: idfield, session, ts, type, record,
-- contribution, dims. No table per event (making one costs more than the rest of this loop): its id and
-- time are kept in arrays, the rest read from ARGV where needed.
local ids, tss = {}, {}
for i = 1, n do
  local b = (BASE + FIELDS_PER_EVENT * i)
  local idf, ts = ARGV[b], tonumber(ARGV[b + 2])
  local kind = string.byte(idf, 1)
  if ts == nil or ARGV[b + 1] == '' or #ARGV[b + 4] < 13 or not ((kind == 1 and #idf == 17) or (kind == 35 and #idf > 1)) then
    return fail('event ' .. int_str(i - 1) .. ': malformed arguments')
  end
  ids[i], tss[i] = idf, ts
end

---------------------------------------------------------------------------
-- Phase 2: reads
---------------------------------------------------------------------------

local now = server_time()

-- De-dup: one SMISMEMBER per day set for all ids of the batch. Yesterday's set is read only if it
-- exists: compaction empties it within minutes of midnight but for sessions still open (an empty
-- set is no key), so most batches skip it.
local today = math.floor(now / DAY)
local today_key, yesterday_key = prefix .. 'd:' .. int_str(today), prefix .. 'd:' .. int_str(today - 1)
local check_yesterday = redis.call('EXISTS', yesterday_key) == 1
local seen_today, seen_yesterday = {}, {}
for first = 1, n, CHUNK do
  local last = math.min(first + CHUNK - 1, n)
  local a = redis.call('SMISMEMBER', today_key, unpack(ids, first, last))
  for j = 1, #a do seen_today[first + j - 1] = a[j] end
  if check_yesterday then
    local b = redis.call('SMISMEMBER', yesterday_key, unpack(ids, first, last))
    for j = 1, #b do seen_yesterday[first + j - 1] = b[j] end
  end
end

-- Sessions of the batch: one HMGET each. A session without a hash may be compacted: its header has
-- the same counters and its events' ids (a re-sent event of it is a duplicate), and is written
-- back if an event is new (a late event reopens it).
local sessions, session_order = {}, {}
for i = 1, n do
  local sid = ARGV[(BASE + FIELDS_PER_EVENT * i) + 1]
  local s = sessions[sid]
  if s == nil then
    s = { key = prefix .. 's:' .. sid, m = 0 }
    sessions[sid] = s
    local r = redis.call('HMGET', s.key, 't0', 'm', 'l', 'x', 'iu', 'it', 'st', 'lu', 'lb', 'dm')
    s.lu, s.lb = tonumber(r[8] or '-1'), tonumber(r[9] or '-1')
    s.final = r[7] and true or false
    if r[1] then
      s.t0, s.t0_s, s.m, s.m_s, s.l, s.l_s, s.x = tonumber(r[1]), r[1], tonumber(r[2] or '0'), r[2], tonumber(r[3]), r[3], tonumber(r[4])
      s.dm = r[10] or ''
      if r[7] then
        -- Finalized: the ids it applied are its records' (`jf:`), and those of its compacted
        -- header if it was reopened (`iu`/`it`: no longer in the day sets).
        s.iu, s.it, s.applied = r[5], r[6], record_ids(redis.call('GET', prefix .. 'jf:' .. sid))
      end
    else
      local header = compact_header(prefix, sid)
      if header then
        local h = header.h or {}
        s.header, s.t0, s.t0_s, s.m, s.l, s.l_s = header, tonumber(h.t0), h.t0, tonumber(h.m or '0'), tonumber(h.l), h.l
        s.dm = h.dm or ''
        if header.i then  -- version 1: a list of stored ids
          s.compacted_ids = {}
          for _, id in ipairs(header.i) do s.compacted_ids[id] = true end
        else
          s.compacted_u, s.compacted_t = header.u or '', header.t or '\n'
        end
        s.final = true
      end
    end
    s.dm = s.dm or ''
    s.m0, s.lu0, s.lb0, s.dm0 = s.m, s.lu, s.lb, s.dm
  end
end

-- Accepted events: not in a day set, not in their compacted session, not earlier in this batch.
local accepted, accepted_ids, batch_ids, dups = {}, {}, {}, {}
for i = 1, n do
  local idf, sid = ids[i], ARGV[(BASE + FIELDS_PER_EVENT * i) + 1]
  local s = sessions[sid]
  if seen_today[i] == 1 or seen_yesterday[i] == 1 or batch_ids[idf] or (s.compacted_ids and s.compacted_ids[idf])
      or (s.compacted_u and id_in(s.compacted_u, s.compacted_t, idf))
      or (s.applied and (s.applied[idf] or id_in(s.iu, s.it, idf))) then
    dups[#dups + 1] = i
  else
    batch_ids[idf] = true
    accepted[#accepted + 1] = i
    accepted_ids[#accepted_ids + 1] = idf
    if s.first_accepted == nil then
      s.first_accepted = true
      session_order[#session_order + 1] = sid
    end
  end
end
local duplicates = #dups
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

---------------------------------------------------------------------------
-- Phase 3: compute
---------------------------------------------------------------------------

-- Names capped per agent and kind (docs/keys.md, *Counter families*): a name is counted by name
-- if it is in the agent's registry `P nm:<kind>` or the registry has room for it (it is then
-- added, with the other writes), else as 'other'. Each kind is resolved once per call.
local admitted = {}    -- kind -> names to add to its registry
local function resolve(kind, set)
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  table.sort(names)  -- which names get the last places does not depend on hash order
  local reg = prefix .. 'nm:' .. kind
  local count = redis.call('SCARD', reg)
  local member = {}
  for first = 1, #names, CHUNK do
    local a = redis.call('SMISMEMBER', reg, unpack(names, first, math.min(first + CHUNK - 1, #names)))
    for j = 1, #a do member[first + j - 1] = a[j] end
  end
  local map, add = {}, {}
  for j, name in ipairs(names) do
    if member[j] == 1 then
      map[name] = name
    elseif count < NAME_CAP then
      map[name] = name
      add[#add + 1] = name
      count = count + 1
    else
      map[name] = 'other'
    end
  end
  if #add > 0 then admitted[kind] = add end
  return map
end

-- Per minute: the batch's event counters, less the duplicates' share, then the session counters.
local minutes, minute_order = {}, {}
local function minute_of(start)
  local a = minutes[start]
  if a == nil then
    a = { fields = {}, delta = {} }
    minutes[start] = a
    minute_order[#minute_order + 1] = start
  end
  return a
end

-- Breakdown slices (docs/keys.md, *Breakdown slices*): per minute, dimension and (capped) value,
-- the slice fields of the events with that value and the session counters of the sessions whose
-- first event has it. Raw values are resolved first: every value of the batch's events is in its
-- slice sums (an event adds at least `events` to its slices), so an event's own `dims` is read
-- only where it is needed (a session's first event, a duplicate).
local DIM_INDEX = { ch = 1, pl = 2, lo = 3 }
local dim_names, raw_slices = { {}, {}, {} }, {}
for key, deltas in pairs(batch_counters) do
  local start = tonumber(key)
  if start then
    local a = minute_of(start)
    for field, d in pairs(deltas) do
      counter_add(a, field, d)
    end
  else
    local m, code, raw = string.match(key, '^([^\31]+)\31([^\31]+)\31(.*)$')
    local k = DIM_INDEX[code or '']
    if not m or not tonumber(m) or not k or raw == '' then
      return fail('counters: key ' .. string.format('%q', key) .. ' is neither a minute nor minute, dimension, value')
    end
    raw_slices[#raw_slices + 1] = { tonumber(m), k, raw, deltas }
    dim_names[k][raw] = true
  end
end
local dim_map = {}
for k = 1, 3 do
  if next(dim_names[k]) then dim_map[k] = resolve(DIMS[k], dim_names[k]) end
end
-- An event's resolved values (array) and their joined form (the session field `dm`).
local function resolved(i)
  local d = split_dims(ARGV[(BASE + FIELDS_PER_EVENT * i) + 6])
  if d == nil then return nil, '' end
  local out = {}
  for k = 1, 3 do
    if d[k] then
      local v = dim_map[k] and dim_map[k][d[k]]
      if v == nil then error('dims of event ' .. int_str(i - 1) .. ' are not in the batch counters') end
      out[k] = v
    end
  end
  return out, (out[1] or '') .. '\31' .. (out[2] or '') .. '\31' .. (out[3] or '')
end

-- Slices are summed per hour (they have hour and day buckets only; the batch's slice sums come
-- per hour too): `start` is any second of the hour.
local slices, slice_order = {}, {}
local function slice_of(start, k, v)
  start = math.floor(start / HOUR) * HOUR
  local key = int_str(start) .. '\31' .. k .. '\31' .. v
  local a = slices[key]
  if a == nil then
    a = { fields = {}, delta = {}, start = start, dim = DIMS[k], value = v }
    slices[key] = a
    slice_order[#slice_order + 1] = key
  end
  return a
end
-- Adds to the slices of `values` (an array of resolved values, nil where absent). The accumulators
-- are kept on the array for its last hour: a session's values are one array, and its message
-- counters are added once per event.
local function slices_add(start, values, field, delta)
  if values == nil then return end
  local hour = math.floor(start / HOUR) * HOUR
  local accs = values.accs
  if accs == nil or values.acc_hour ~= hour then
    accs = {}
    for k = 1, 3 do
      if values[k] then accs[#accs + 1] = slice_of(hour, k, values[k]) end
    end
    values.accs, values.acc_hour = accs, hour
  end
  for _, a in ipairs(accs) do counter_add(a, field, delta) end
end
for _, r in ipairs(raw_slices) do
  local a = slice_of(r[1], r[2], dim_map[r[2]][r[3]])
  for field, d in pairs(r[4]) do
    counter_add(a, field, d)
  end
end

if #dups > 0 then
  for _, i in ipairs(dups) do
    local start = math.floor(tss[i] / 60000) * MINUTE
    local a = minute_of(start)
    for field, d in pairs(cmsgpack.unpack(ARGV[(BASE + FIELDS_PER_EVENT * i) + 5])) do
      if field == '@' then
        local values = resolved(i)
        for f, dd in pairs(d) do slices_add(start, values, f, -dd) end
      else
        counter_add(a, field, -d)
      end
    end
  end
  -- An event counter is positive for every event that has it: a field left at 0 was only the
  -- duplicates' (the script writes no field for them).
  local function drop_zeros(a)
    local kept = {}
    for _, f in ipairs(a.fields) do
      if a.delta[f] ~= 0 then kept[#kept + 1] = f else a.delta[f] = nil end
    end
    a.fields = kept
  end
  for _, start in ipairs(minute_order) do drop_zeros(minutes[start]) end
  for _, key in ipairs(slice_order) do drop_zeros(slices[key]) end
end

-- Session counters live in the buckets of the session's first event (t0), and in the slices of
-- its values (`dm`; of two first events at the same ts, the smaller `dm`). A zero delta (moving
-- a session without messages) is dropped so that it creates no field.
local function add(start, values, field, delta)
  if delta ~= 0 then
    counter_add(minute_of(start), field, delta)
    slices_add(start, values, field, delta)
  end
end
local function minute_ts(ts) return math.floor(ts / 60000) * MINUTE end
for _, i in ipairs(accepted) do
  local b = (BASE + FIELDS_PER_EVENT * i)
  local s = sessions[ARGV[b + 1]]
  local ts = tss[i]
  if s.dmv == nil then s.dmv = split_dims(s.dm) end
  if s.t0 == nil then
    s.t0, s.t0_s = ts, ARGV[b + 2]
    s.dmv, s.dm = resolved(i)
    add(minute_ts(ts), s.dmv, FIELD.conversations, 1)
  elseif ts <= s.t0 then
    local values, dm = resolved(i)
    if ts < s.t0 or dm < s.dm then
      -- An earlier event arrived late: move the session, with what it has accumulated so far,
      -- from the old t0 buckets and slices to the new ones.
      local old, new = minute_ts(s.t0), minute_ts(ts)
      local with_msg = (s.m > 0) and 1 or 0
      add(old, s.dmv, FIELD.conversations, -1)
      add(old, s.dmv, FIELD.conv_msg, -with_msg)
      add(old, s.dmv, FIELD.sess_msgs, -s.m)
      add(new, values, FIELD.conversations, 1)
      add(new, values, FIELD.conv_msg, with_msg)
      add(new, values, FIELD.sess_msgs, s.m)
      s.t0, s.t0_s, s.dmv, s.dm = ts, ARGV[b + 2], values, dm
    end
  end
  local code = ARGV[b + 3]
  if code == C_USER or code == C_BOT then
    if code == C_USER then
      if ts > s.lu then s.lu, s.lu_s = ts, ARGV[b + 2] end
    elseif ts > s.lb then
      s.lb, s.lb_s = ts, ARGV[b + 2]
    end
    s.m = s.m + 1
    add(minute_ts(s.t0), s.dmv, FIELD.sess_msgs, 1)
    if s.m == 1 then
      add(minute_ts(s.t0), s.dmv, FIELD.conv_msg, 1)
    end
  end
  if code == C_END then s.ended = true end
  if s.l == nil or ts > s.l then
    s.l, s.l_s, s.lt = ts, ARGV[b + 2], code
  end
end

-- Counter families (docs/keys.md, *Counter families*). A field `<f>/<name>` goes to the family
-- key `P c:<res>:<start>:<f>` as `<name>`; a field `<f>/<head>\31<kind>\31<name>` is counted by a
-- capped name: stored as `<head>:<name>`, or `<head>:other` (resolve above).
local family_of = {}   -- field -> { key suffix, stored field }
do
  local pending, kinds = {}, {}   -- kind -> { name -> true }, kinds in first-seen order
  local capped = {}
  for _, minute_start in ipairs(minute_order) do
    for _, field in ipairs(minutes[minute_start].fields) do
      local c1 = string.byte(field, 1)  -- a family is a lowercase letter; field codes are not
      if c1 >= 97 and c1 <= 122 and string.byte(field, 2) == 47 and family_of[field] == nil then
        local head, kind, name = string.match(field, '^(..[^\31]*)\31([^\31]*)\31(.*)$')
        if head then
          capped[#capped + 1] = { field, head, kind, name }
          local set = pending[kind]
          if set == nil then
            set = {}
            pending[kind] = set
            kinds[#kinds + 1] = kind
          end
          set[name] = true
          family_of[field] = false  -- decided below
        else
          family_of[field] = { ':' .. string.sub(field, 1, 1), string.sub(field, 3) }
        end
      end
    end
  end
  local stored_name = {}  -- kind -> name -> name or 'other'
  for _, kind in ipairs(kinds) do stored_name[kind] = resolve(kind, pending[kind]) end
  for _, c in ipairs(capped) do
    local field, head, kind, name = c[1], c[2], c[3], c[4]
    family_of[field] = { ':' .. string.sub(head, 1, 1), string.sub(head, 3) .. ':' .. stored_name[kind][name] }
  end
end

-- Fold the minutes into the minute, hour and day buckets (a bucket already past its expiry is
-- skipped). A field whose sum is 0 (a session moved in and out within the batch) is kept, so the
-- result equals ingesting the events one call at a time.
for _, minute_start in ipairs(minute_order) do
  local src = minutes[minute_start]
  for _, g in ipairs(GRANULARITIES) do
    local start = math.floor(minute_start / g[2]) * g[2]
    local expire_at = start + g[2] + ttl[g[3]]
    if expire_at > now then
      local base = prefix .. g[1] .. int_str(start)
      local dst = counter_bucket(base, expire_at)
      for _, field in ipairs(src.fields) do
        local fam = family_of[field]
        if fam then
          counter_add(counter_bucket(base .. fam[1], expire_at), fam[2], src.delta[field])
        else
          counter_add(dst, field, src.delta[field])
        end
      end
    end
  end
end

local SUMMARY_SET = {}
for _, f in ipairs(SUMMARY) do SUMMARY_SET[f] = true end
-- Slices and their summary have hour and day buckets only (docs/keys.md, *Breakdown slices*).
for _, key in ipairs(slice_order) do
  local sl = slices[key]
  for gi = 2, 3 do
    local g = GRANULARITIES[gi]
    local start = math.floor(sl.start / g[2]) * g[2]
    local expire_at = start + g[2] + ttl[g[3]]
    if expire_at > now then
      local base = prefix .. g[1] .. int_str(start)
      local dst = counter_bucket(base .. ':' .. sl.dim .. '=' .. sl.value, expire_at)
      local sum = counter_bucket(base .. ':b', expire_at)
      for _, f in ipairs(sl.fields) do
        local d = sl.delta[f]
        counter_add(dst, f, d)
        if SUMMARY_SET[f] then counter_add(sum, sl.dim .. '\31' .. f .. '\31' .. sl.value, d) end
      end
    end
  end
end

-- Still a read: every touched bucket is decoded before anything is written.
counters_read()

---------------------------------------------------------------------------
-- Phase 4: writes
---------------------------------------------------------------------------

local stream_key = KEYS[1]
for _, i in ipairs(accepted) do
  local b = (BASE + FIELDS_PER_EVENT * i)
  redis.call('XADD', stream_key, '*', 's', ARGV[b + 1], 'r', ARGV[b + 4])
end

counters_write(true)

-- The accepted ids into today's set; its expiry: the window between 24 and 49 h.
for first = 1, #accepted_ids, CHUNK do
  redis.call('SADD', today_key, unpack(accepted_ids, first, math.min(first + CHUNK - 1, #accepted_ids)))
end
redis.call('EXPIREAT', today_key, int_str((today + 2) * DAY + 3600))

-- Names newly counted by name; a registry lives as long as a day bucket after its last addition.
for kind, names in pairs(admitted) do
  local reg = prefix .. 'nm:' .. kind
  redis.call('SADD', reg, unpack(names))
  redis.call('EXPIRE', reg, int_str(ttl[3] + DAY))
end

-- Session hashes: counters and last event time. The expiry is refreshed only when it would
-- otherwise fall more than an hour short of the retention (`x` remembers what was set): one
-- EXPIRE per session and hour.
local wait_key, act_key = prefix .. 'wait', prefix .. 'act'
local refresh_before = now + session_ttl - 3600
local expire_at_s = int_str(now + session_ttl)
for _, sid in ipairs(session_order) do
  local s = sessions[sid]
  local m_s = (s.m == s.m0 and s.m_s) or int_str(s.m)
  local args = { 't0', s.t0_s, 'm', m_s, 'l', s.l_s }
  if s.header then
    header_fields(s.header, args)  -- a late event reopens a compacted session (docs/worker.md)
    args[#args + 1], args[#args + 2] = 't0', s.t0_s
    args[#args + 1], args[#args + 2] = 'm', m_s
    args[#args + 1], args[#args + 2] = 'l', s.l_s
  end
  local expire = (s.header ~= nil or s.x == nil or s.x < refresh_before)
  if expire then
    args[#args + 1], args[#args + 2] = 'x', expire_at_s
  end
  if s.lu ~= s.lu0 then args[#args + 1], args[#args + 2] = 'lu', s.lu_s end
  if s.lb ~= s.lb0 then args[#args + 1], args[#args + 2] = 'lb', s.lb_s end
  if s.lt then args[#args + 1], args[#args + 2] = 'lt', s.lt end
  if s.dm ~= s.dm0 then args[#args + 1], args[#args + 2] = 'dm', s.dm end
  call_chunked('HSET', s.key, {}, args)
  if expire then
    redis.call('EXPIRE', s.key, ARGV[5])
  end
  -- Live state: active (not ended, by its latest event), waiting for the bot, or no longer.
  if s.ended then
    redis.call('ZREM', act_key, sid)
  elseif s.lt and not s.final then
    redis.call('ZADD', act_key, s.l_s, sid)
  end
  local was = not s.final and s.lu0 > s.lb0
  local waiting = not s.final and not s.ended and s.lu > s.lb
  if waiting and (not was or s.lu ~= s.lu0) then
    redis.call('ZADD', wait_key, s.lu_s or int_str(s.lu), sid)
  elseif was and not waiting then
    redis.call('ZREM', wait_key, sid)
  end
end

return { #accepted, duplicates }
