-- Insights: code shared by lua/worker_apply.lua and lua/worker_sweep.lua.
--
-- This file is not a script by itself: the worker (Sources/InsightsWorker)
-- sends `common.lua .. worker_lib.lua .. worker_<name>.lua` as one script. Key schema and
-- guarantees: docs/worker.md.
--
-- A session's state lives in the hash `P sess:<sid>`. Once a session is
-- finalized, the outcome it contributed to the buckets of its first event is
-- remembered in the hash (f_start, f_out, f_drop, f_esc, f_turns); a late
-- event that changes any of them replaces the old contribution by the new one,
-- so the out:* counters always equal the current state of finalized sessions.

local SESSION_FIELDS = {
  'first', 'last', 'turns', 'last_intent', 'last_intent_ts', 'escalated', 'ended',
  'wf_started', 'wf_completed', 'wf_failed',
  'finalized', 'f_start', 'f_out', 'f_drop', 'f_esc', 'f_turns',
}
local NUMERIC = {
  first = true, last = true, turns = true, last_intent_ts = true, escalated = true, ended = true,
  wf_started = true, wf_completed = true, wf_failed = true, finalized = true,
  f_start = true, f_esc = true, f_turns = true,
}

-- The session's state as a table, or nil if the hash does not exist.
local function load_session(key)
  local r = redis.call('HMGET', key, unpack(SESSION_FIELDS))
  if not r[1] then
    return nil
  end
  local s = {}
  for i, f in ipairs(SESSION_FIELDS) do
    local v = r[i]
    if v then
      s[f] = NUMERIC[f] and tonumber(v) or v
    end
  end
  return s
end

local function save_session(key, s, ttl)
  local args = {}
  for _, f in ipairs(SESSION_FIELDS) do
    local v = s[f]
    if v ~= nil then
      args[#args + 1] = f
      args[#args + 1] = (type(v) == 'number') and int_str(v) or v
    end
  end
  redis.call('HSET', key, unpack(args))
  redis.call('EXPIRE', key, ttl)
end

-- Bucket increments, accumulated per key and field, written by flush_buckets.
local bucket_delta = {}   -- key -> { fields = {...}, delta = {field -> n}, expire_at }
local bucket_order = {}

local function bucket_add(prefix, now, ttls, ts_ms, field, d)
  local sec = math.floor(ts_ms / 1000)
  local grans = { { 'b:m:', MINUTE, ttls[1] }, { 'b:h:', HOUR, ttls[2] }, { 'b:d:', DAY, ttls[3] } }
  for _, g in ipairs(grans) do
    local start = math.floor(sec / g[2]) * g[2]
    local expire_at = start + g[2] + g[3]
    if expire_at > now then
      local key = prefix .. g[1] .. int_str(start)
      local b = bucket_delta[key]
      if b == nil then
        b = { fields = {}, delta = {}, expire_at = expire_at }
        bucket_delta[key] = b
        bucket_order[#bucket_order + 1] = key
      end
      if b.delta[field] == nil then
        b.fields[#b.fields + 1] = field
        b.delta[field] = 0
      end
      b.delta[field] = b.delta[field] + d
    end
  end
end

local function flush_buckets()
  for _, key in ipairs(bucket_order) do
    local b = bucket_delta[key]
    local touched = false
    for _, f in ipairs(b.fields) do
      if b.delta[f] ~= 0 then
        redis.call('HINCRBY', key, f, b.delta[f])
        touched = true
      end
    end
    if touched then
      redis.call('EXPIREAT', key, b.expire_at)
    end
  end
end

-- Outcome snapshot of a session from its state.
local function outcome_of(s)
  local out = (s.ended == 1) and 'ended' or 'dropped'
  local drop = ''
  if out == 'dropped' then
    drop = s.last_intent or ''
    if drop == '' then
      drop = 'unknown'
    end
  end
  return { start = s.first, out = out, drop = drop, esc = s.escalated or 0, turns = s.turns or 0 }
end

-- Adds (sign 1) or removes (sign -1) a snapshot's contribution to its buckets.
local function contribute(prefix, now, ttls, o, sign)
  local function add(field, d)
    if d ~= 0 then
      bucket_add(prefix, now, ttls, o.start, field, sign * d)
    end
  end
  add('out:sessions', 1)
  add('out:' .. o.out, 1)
  if o.out == 'dropped' then
    add('drop:' .. o.drop, 1)
  end
  add(o.esc == 1 and 'out:escalated' or 'out:automated', 1)
  add('out:turns', o.turns)
end

local function store_snapshot(s, o)
  s.f_start, s.f_out, s.f_drop, s.f_esc, s.f_turns = o.start, o.out, o.drop, o.esc, o.turns
end

-- Finalizes a session (once): returns true if it was not finalized before.
local function finalize(prefix, now, ttls, sid, s)
  if s.finalized == 1 then
    return false
  end
  s.finalized = 1
  local o = outcome_of(s)
  contribute(prefix, now, ttls, o, 1)
  store_snapshot(s, o)
  redis.call('ZREM', prefix .. 'idle', sid)
  return true
end

-- For a finalized session whose state changed: replace its old contribution.
local function correct(prefix, now, ttls, s)
  local o = outcome_of(s)
  local old = { start = s.f_start, out = s.f_out, drop = s.f_drop or '', esc = s.f_esc, turns = s.f_turns }
  if old.start == o.start and old.out == o.out and old.drop == o.drop and old.esc == o.esc and old.turns == o.turns then
    return false
  end
  contribute(prefix, now, ttls, old, -1)
  contribute(prefix, now, ttls, o, 1)
  store_snapshot(s, o)
  return true
end

