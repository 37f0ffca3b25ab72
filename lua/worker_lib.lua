-- Insights: code shared by lua/worker_apply.lua and lua/worker_sweep.lua.
--
-- Not a script by itself: the worker sends `common.lua .. worker_lib.lua .. worker_<name>.lua` as
-- one script. Key schema and guarantees: docs/worker.md.
--
-- A session's journey records are appended to `P j:<sid>` while it is open. Finalizing it (a
-- conversation_end, or idle past the timeout) reads them once, computes its state and outcome,
-- adds the outcome to the buckets of its first event, writes the state (`st`) into the session
-- hash `P s:<sid>`, moves the records to `P jf:<sid>` and queues the session for compaction. The
-- ids a finalized session applied are those of its records in `jf:`, and, if it was compacted and
-- reopened by a late event, those listed in its hash's `iu` / `it` (from the compacted header). Events applied after that ("late") are folded into the stored
-- state once per id; if the outcome changes, its old contribution is replaced by the new one, so
-- the out:* counters always equal the current state of the finalized sessions, whatever the
-- delivery order.
--
-- `st` is a MessagePack array (cmsgpack), the session's state: its times, turns, last intent,
-- escalation, end, workflows, error flag, classified intents (a flat array ts, intent, ... in
-- (ts, intent) order, the first INTENTS_KEPT) and breakdown values (`dm`); its layout and the
-- versions still read are at pack_state. A state written before issue 16 (15 items) has no
-- intents: such a session counts in no intent path and no error rate, before or after late events.

-- A session's intent path: its first PATH_MAX classified intents in event-time order, consecutive
-- repeats collapsed, joined by \31 (docs/metrics.md, *Intent paths*); computed from the first
-- INTENTS_KEPT classifications by time (exact for every session with at most that many).
local PATH_MAX, INTENTS_KEPT = 8, 64

local function new_state()
  return { turns = 0, esc = 0, ended = 0, wfs = 0, wfc = 0, wff = 0, li = '', lit = -1, err = 0, its = {} }
end

-- Inserts (ts, intent) into the flat sorted array `its`, keeping the first INTENTS_KEPT.
local function intent_insert(its, ts, intent)
  local j = #its - 1  -- index of the last pair's ts
  while j >= 1 and (its[j] > ts or (its[j] == ts and its[j + 1] > intent)) do j = j - 2 end
  table.insert(its, j + 2, ts)
  table.insert(its, j + 3, intent)
  if #its > 2 * INTENTS_KEPT then
    its[#its] = nil
    its[#its] = nil
  end
end

local function path_of(its)
  local parts, last = {}, nil
  for j = 2, #its, 2 do
    local intent = its[j]
    if intent ~= last then
      if #parts == PATH_MAX then break end
      parts[#parts + 1] = intent
      last = intent
    end
  end
  return table.concat(parts, '\31')
end

-- Folds one record into a state. The intent of the event with the greatest time wins; ties go to
-- the greater name.
local function fold(st, ts, code, flags, intent)
  if st.first == nil or ts < st.first then st.first = ts end
  if st.last == nil or ts > st.last then st.last = ts end
  if code == T_USER then
    st.turns = st.turns + 1
  elseif code == T_INTENT and intent ~= '' then
    if ts > st.lit or (ts == st.lit and intent > st.li) then
      st.li, st.lit = intent, ts
    end
    if st.its then intent_insert(st.its, ts, intent) end
  elseif code == T_ERROR then
    st.err = 1
  elseif code == T_END then
    st.ended = 1
  elseif code == T_WF_STARTED then
    st.wfs = st.wfs + 1
  elseif code == T_WF_COMPLETED then
    st.wfc = st.wfc + 1
  elseif code == T_WF_FAILED then
    st.wff = st.wff + 1
  end
  if flags % 2 == FLAG_ESCALATED then
    st.esc = 1
  end
end

-- Outcome of a state: ended or dropped (at its last intent, 'unknown' if none), escalated, turns.
local function outcome_of(st)
  local out = (st.ended == 1) and 'ended' or 'dropped'
  local drop = ''
  if out == 'dropped' then
    drop = (st.li ~= '' and st.li) or 'unknown'
  end
  local o = { start = st.first, out = out, drop = drop, esc = st.esc, turns = st.turns }
  if st.its then o.err, o.path = st.err, path_of(st.its) end
  return o
end

-- Adds (sign 1) or removes (sign -1) an outcome's contribution to the buckets of its first event.
local function contribute(prefix, now, ttls, o, sign)
  local buckets = buckets_at(prefix, now, ttls, math.floor(o.start / 1000))
  local function add(field, d)
    if d ~= 0 then
      for _, b in ipairs(buckets) do counter_add(b, field, sign * d) end
    end
  end
  add(FIELD['out:sessions'], 1)
  add(o.out == 'ended' and FIELD['out:ended'] or FIELD['out:dropped'], 1)
  if o.out == 'dropped' then
    add(FIELD_DROP .. o.drop, 1)
  end
  add(o.esc == 1 and FIELD['out:escalated'] or FIELD['out:automated'], 1)
  add(FIELD['out:turns'], o.turns)
  -- System events: conversations with an error (family x); intent paths (family p).
  local sec = math.floor(o.start / 1000)
  if o.err == 1 then
    for _, b in ipairs(buckets_at(prefix, now, ttls, sec, 'x')) do counter_add(b, 'conv_err', sign) end
  end
  -- Breakdown slices of the session's values (`dm`, ingest's): the outcome, and in the summary
  -- sessions and automated ones (docs/keys.md, *Breakdown slices*).
  local values = split_dims(o.dm)
  if values then
    for k = 1, 3 do
      local v = values[k]
      if v then
        local d = DIMS[k]
        for _, b in ipairs(buckets_at(prefix, now, ttls, sec, d .. '=' .. v, true)) do
          counter_add(b, FIELD['out:sessions'], sign)  -- the outcome fields the filters read (automation, savings)
          if o.esc ~= 1 then counter_add(b, FIELD['out:automated'], sign) end
        end
        for _, b in ipairs(buckets_at(prefix, now, ttls, sec, 'b', true)) do
          counter_add(b, d .. '\31' .. FIELD['out:sessions'] .. '\31' .. v, sign)
          if o.esc ~= 1 then counter_add(b, d .. '\31' .. FIELD['out:automated'] .. '\31' .. v, sign) end
        end
      end
    end
  end
  if o.path and o.path ~= '' then
    for _, b in ipairs(buckets_at(prefix, now, ttls, sec, 'p', true)) do
      counter_add(b, 's:' .. o.path, sign)
      if o.out == 'ended' then counter_add(b, 'e:' .. o.path, sign) end
      if o.esc == 1 then counter_add(b, 'x:' .. o.path, sign) end
    end
  end
end

-- Version 4 (since stop 25, 14 items): first, last, turns, last intent, its time, escalated,
-- ended, workflows started / completed / failed, had an error, its intents, its breakdown values
-- (`dm` as it was counted), 4. Every time after the first is ms after it (last, the last intent's
-- unless -1, the intents'); the last intent and its time are both `true` when they are the last
-- pair of its intents (always, unless more than INTENTS_KEPT were classified). The outcome it
-- contributed is not kept: it is always outcome_of(state) with these breakdown values, as both
-- writers (finalize, apply_late) pack the outcome they just computed. States written before are
-- read as they were: version 3 (21 items, stop 24: relative times, the outcome after the
-- workflows, its path `true` when path_of(its)), 20 and 15 items (absolute times).
local STATE_VERSION = 4

local function pack_state(st, o)
  local f = st.first
  local li, lit = st.li, st.lit == -1 and -1 or st.lit - f
  local its = false
  if st.its then
    its = {}
    for j = 1, #st.its, 2 do its[j], its[j + 1] = st.its[j] - f, st.its[j + 1] end
    local n = #st.its
    if (n == 0 and st.li == '' and st.lit == -1) or (n > 0 and st.its[n - 1] == st.lit and st.its[n] == st.li) then
      li, lit = true, true
    end
  end
  return cmsgpack.pack({ f, st.last - f, st.turns, li, lit, st.esc, st.ended, st.wfs, st.wfc, st.wff, st.err or 0, its,
    o.dm or false, STATE_VERSION })
end

local function unpack_state(packed)
  local a = cmsgpack.unpack(packed)
  if #a == 14 and a[14] == STATE_VERSION then
    local f, its = a[1], a[12]
    local st = { first = f, last = a[2] + f, turns = a[3], li = a[4], lit = a[5], esc = a[6], ended = a[7],
      wfs = a[8], wfc = a[9], wff = a[10], err = a[11] }
    if type(its) == 'table' then
      for j = 1, #its, 2 do its[j] = its[j] + f end
      st.its = its
    end
    if st.li == true then
      local n = its and #its or 0
      st.li, st.lit = n > 0 and its[n] or '', n > 0 and its[n - 1] or -1
    elseif st.lit ~= -1 then
      st.lit = st.lit + f
    end
    local o = outcome_of(st)
    o.dm = a[13] or nil
    return st, o
  end
  if a[21] == 3 then
    local f = a[1]
    a[2], a[11] = a[2] + f, a[11] + f
    if a[5] ~= -1 then a[5] = a[5] + f end
    if type(a[17]) == 'table' then
      for j = 1, #a[17], 2 do a[17][j] = a[17][j] + f end
      if a[19] == true then a[19] = path_of(a[17]) end
    end
  end
  local st = { first = a[1], last = a[2], turns = a[3], li = a[4], lit = a[5], esc = a[6], ended = a[7],
    wfs = a[8], wfc = a[9], wff = a[10], err = a[16] or 0 }
  local o = { start = a[11], out = a[12], drop = a[13], esc = a[14], turns = a[15], dm = a[20] or nil }
  if type(a[17]) == 'table' then
    st.its = a[17]
    o.err, o.path = a[18], (a[19] or '')
  end
  return st, o
end

-- Finalizes an open session from its journey `P j:<sid>` (j exists only while a session is open).
-- Returns true if it was finalized.
local function finalize(prefix, now_s, now_ms_s, ttls, retention_s, sid)
  local jkey = prefix .. 'j:' .. sid
  local blob = redis.call('GET', jkey)
  if not blob then
    return false
  end
  local st, seen = new_state(), {}
  local pos, len = 1, #blob
  while pos <= len do
    local n, ts, code, flags, id, intent = struct.unpack('<HI6BBBc0Hc0', blob, pos)
    if not seen[id] then  -- a record copied twice into the journey counts once
      seen[id] = true
      fold(st, ts, code, flags, intent)
    end
    pos = pos + 2 + n
  end
  local o = outcome_of(st)
  local skey = prefix .. 's:' .. sid
  o.dm = redis.call('HGET', skey, 'dm') or ''
  contribute(prefix, now_s, ttls, o, 1)
  redis.call('HSET', skey, 'st', pack_state(st, o))
  if redis.call('TTL', skey) < 0 then
    redis.call('EXPIRE', skey, retention_s)  -- a hash ingest never made (entries written by hand)
  end
  redis.call('RENAME', jkey, prefix .. 'jf:' .. sid)
  redis.call('ZREM', prefix .. 'idle', sid)
  redis.call('ZREM', prefix .. 'wait', sid)  -- live state: a finalized session is neither active nor waiting
  redis.call('ZREM', prefix .. 'act', sid)
  redis.call('ZADD', prefix .. 'cq', now_ms_s, sid)
  return true
end

-- Records applied to a session that is already finalized (`blob`: their concatenation). New ones
-- (an id not applied yet) are folded into the stored state, the outcome corrected if it changed,
-- and the records appended to `P jf:<sid>`; copies of applied events are dropped. Returns the
-- number of new records.
local function apply_late(prefix, now_s, now_ms_s, ttls, retention_s, sid, blob)
  local skey, fkey = prefix .. 's:' .. sid, prefix .. 'jf:' .. sid
  local r = redis.call('HMGET', skey, 'st', 'iu', 'it', 'dm')
  local st, old
  if r[1] then st, old = unpack_state(r[1]) else st, old = new_state(), {} end
  local seen = record_ids(redis.call('GET', fkey))  -- applied already
  local parts, fresh = {}, 0
  local pos, len = 1, #blob
  while pos <= len do
    local n, ts, code, flags, id, intent = struct.unpack('<HI6BBBc0Hc0', blob, pos)
    if not seen[id] and not id_in(r[2], r[3], id) then
      seen[id] = true
      fold(st, ts, code, flags, intent)
      parts[#parts + 1] = string.sub(blob, pos, pos + 1 + n)
      fresh = fresh + 1
    end
    pos = pos + 2 + n
  end
  if fresh == 0 then
    return 0
  end
  local o = outcome_of(st)
  o.dm = r[4] or ''
  if old.start ~= o.start or old.out ~= o.out or old.drop ~= o.drop or old.esc ~= o.esc or old.turns ~= o.turns
      or old.err ~= o.err or old.path ~= o.path or old.dm ~= o.dm then
    if old.start ~= nil then
      contribute(prefix, now_s, ttls, old, -1)
    end
    contribute(prefix, now_s, ttls, o, 1)
  end
  redis.call('HSET', skey, 'st', pack_state(st, o))
  redis.call('ZREM', prefix .. 'wait', sid)  -- ingest may have seen it open while it was being finalized
  redis.call('ZREM', prefix .. 'act', sid)
  redis.call('APPEND', fkey, table.concat(parts))
  redis.call('EXPIRE', fkey, retention_s)
  redis.call('ZADD', prefix .. 'cq', now_ms_s, sid)
  return fresh
end
