-- Insights: helpers shared by every script (ingest, worker apply, sweep, compaction).
--
-- Not a script by itself: Redis scripts cannot include files, so the Swift side sends
-- `common.lua .. <script>.lua` as one script (RedisScript(concatenating:)). Key names: every key
-- of an agent is its prefix `ins:{<agent>}:` (ARGV) and one of these suffixes (AgentKeys in
-- Sources/InsightsModel, docs/keys.md): stream, s:<sid> session, j:<sid> / jf:<sid> / jz:<sid>
-- journeys, idle, act / wait (live state), cq, wm, deadletter, c:<m|h|d>:<start> counters; alerts (lua/alerts.lua): ar:<rule>,
-- alz, alh, wq, wd, wl.

local MINUTE, HOUR, DAY = 60, 3600, 86400
local MAX_INT_DIGITS = 15 -- < 2^53: every integer we parse stays exact in a Lua double
local CHUNK = 1000        -- unpack() in Lua 5.1 is limited to ~8000 values; stay far below
local NAME_CAP = 50       -- names counted by name per agent and kind (EventCounters.nameCap, docs/keys.md)
local DIMS = { 'ch', 'pl', 'lo' }  -- breakdown dimensions (Dimension in Sources/InsightsModel), in order

-- A dimensions string ('' or 'a\31b\31c', EventCounters.dims; the session field `dm`) as an array
-- of its values (nil where empty), or nil for ''.
local function split_dims(s)
  if s == nil or s == false or s == '' then return nil end
  local out, i = {}, 1
  for part in string.gmatch(s .. '\31', '([^\31]*)\31') do
    out[i] = (part ~= '') and part or nil
    i = i + 1
  end
  return out
end

local function int_str(x)
  return string.format('%d', x)
end

-- Small integers as strings, made once: number to string conversions are the costliest thing a
-- script does, and counts and flags are small.
local SMALL_INT = {}
for i = 0, 255 do SMALL_INT[i] = int_str(i) end
local function num_str(x)
  return SMALL_INT[x] or int_str(x)
end

-- Non-negative decimal integer without sign, spaces, hex or exponent, or nil.
local function parse_uint(s)
  if type(s) ~= 'string' or #s == 0 or #s > MAX_INT_DIGITS or not s:find('^%d+$') then
    return nil
  end
  return tonumber(s)
end

local function fail(msg)
  return redis.error_reply('ERR invalid argument: ' .. msg)
end

-- redis.call with a long argument list, in chunks: cmd key <fixed...> <items...>.
local function call_chunked(cmd, key, fixed, items)
  for first = 1, #items, CHUNK do
    local args = { cmd, key }
    for _, f in ipairs(fixed) do args[#args + 1] = f end
    for i = first, math.min(first + CHUNK - 1, #items) do args[#args + 1] = items[i] end
    redis.call(unpack(args))
  end
end

-- On a Redis Cluster, while the agent's slot migrates to another node, a key missing here may
-- already be on the other node: the script would be refused on it half-way, after some of its
-- writes (scripts do not roll back), or create a key the migration then collides with. So every
-- script that touches more keys than it declares first reads a key that never exists
-- (P .. 'slot-probe', docs/keys.md): during a migration that read is refused, and the script
-- answers TRYAGAIN before writing anything; RedisClient retries TRYAGAIN with backoff and never
-- follows ASK with a script (on the importing node, keys not migrated yet would look absent).
-- Outside a cluster, or with the slot settled, the probe is one EXISTS of a missing key.
local function slot_settled(prefix)
  return type(redis.pcall('EXISTS', prefix .. 'slot-probe')) == 'number'
end

local function slot_migrating(prefix)
  return redis.error_reply('TRYAGAIN the slot of ' .. prefix .. ' is migrating; nothing was written')
end

-- The server clock: seconds, and milliseconds.
local function server_time()
  local t = redis.call('TIME')
  local s = tonumber(t[1])
  return s, s * 1000 + math.floor(tonumber(t[2]) / 1000)
end

---------------------------------------------------------------------------
-- Event types: EventType.code in Swift (declaration order, never reordered).
---------------------------------------------------------------------------
local TYPE_NAMES = {
  [0] = 'conversation_start', 'conversation_end', 'user_message', 'bot_response',
  'intent_classified', 'entity_extracted', 'workflow_started', 'workflow_completed',
  'workflow_failed', 'api_call', 'error', 'user_feedback', 'custom',
}
local T_END, T_USER, T_BOT, T_INTENT = 1, 2, 3, 4
local C_END, C_USER, C_BOT = '1', '2', '3'  -- the same codes as ingest's `type` argument (a string)
local T_WF_STARTED, T_WF_COMPLETED, T_WF_FAILED, T_ERROR = 6, 7, 8, 10
local FLAG_ESCALATED = 1

---------------------------------------------------------------------------
-- Bucket field codes (CounterCode in Swift, docs/keys.md *Field codes*): what a counter map stores
-- for the fields the scripts write themselves (the edge sends the others already coded).
---------------------------------------------------------------------------
local FIELD = {
  conversations = 'C', conv_msg = 'V', sess_msgs = 'S', messages = 'M', rt_sum = 'R', rt_count = 'N',
  intents = 'I', ['out:sessions'] = 'O', ['out:ended'] = 'OE', ['out:dropped'] = 'OD',
  ['out:escalated'] = 'OX', ['out:automated'] = 'OA', ['out:turns'] = 'OT',
}
local FIELD_INTENT, FIELD_DROP = '#', 'D'  -- prefixes of `intent:<name>`, `drop:<point>`

---------------------------------------------------------------------------
-- Journey records (JourneyRecord in Sources/InsightsModel, docs/keys.md):
--   u16 n | u48 ts | u8 type | u8 flags | u8 k, id | u16 i, intent | [u32 rt] | data
---------------------------------------------------------------------------

-- The header of the record at `pos`: its total length (2 + n), ts, type, flags, id field, intent.
-- (One struct.unpack: `c0` reads a string whose length is the number read just before it.)
local function record_at(s, pos)
  local n, ts, code, flags, id, intent = struct.unpack('<HI6BBBc0Hc0', s, pos)
  return 2 + n, ts, code, flags, id, intent
end

-- Whether `s` is one well-formed record (a stream entry's `r`); its ts and type if so.
local function check_record(s)
  if type(s) ~= 'string' or #s < 13 then
    return nil
  end
  local ok, n, ts, code = pcall(struct.unpack, '<HI6B', s)
  if not ok or n + 2 ~= #s or TYPE_NAMES[code] == nil then
    return nil
  end
  return ts, code
end

---------------------------------------------------------------------------
-- Counter buckets: `P c:<m|h|d>:<start>` = cmsgpack map field -> integer, EXAT start + len + ttl.
-- Deltas are summed per key and field in Lua; each key is read (GET, decoded) before any write
-- and written once (SET ... EXAT): one read and one write per key per call. The families of
-- HASH_FAMILIES are hashes instead, a field per path (paths_write; docs/keys.md, *Counter families*).
---------------------------------------------------------------------------
local GRANULARITIES = { { 'c:m:', MINUTE, 1 }, { 'c:h:', HOUR, 2 }, { 'c:d:', DAY, 3 } }

local counters = { order = {}, by_key = {} }

-- Counter families kept as hashes: the intent paths, whose maps hold a field per distinct path of
-- the bucket (a day's thousands), which decoding whole for every call made the costliest part of
-- applying. The other families and the slices are small maps: read whole, they cost less per call
-- than a field write each, and far less to query (one MGET).
local HASH_FAMILIES = { p = true }

-- The accumulator of a bucket key (created on first use); `as_hash`: a paths hash (paths_write).
local function counter_bucket(key, expire_at, as_hash)
  local b = counters.by_key[key]
  if b == nil then
    b = { fields = {}, delta = {}, expire_at = expire_at, hash = as_hash }
    counters.by_key[key] = b
    counters.order[#counters.order + 1] = key
  end
  return b
end

local function counter_add(b, field, d)
  local cur = b.delta[field]
  if cur == nil then
    b.fields[#b.fields + 1] = field
    cur = 0
  end
  b.delta[field] = cur + d
end

-- The minute, hour and day buckets of a second (those not expired yet), memoized per second; of
-- the counter family `family` (its letter: `P c:<res>:<start>:<letter>`, or a slice `<dim>=<value>`)
-- if given; `coarse`: the hour and day buckets only (slices and paths have no minute buckets).
local buckets_of_second = {}
local function buckets_at(prefix, now, ttls, sec, family, coarse)
  local suffix = family and (':' .. family) or ''
  local memo = sec .. suffix .. (coarse and '/h' or '')
  local list = buckets_of_second[memo]
  if list == nil then
    list = {}
    for i = coarse and 2 or 1, #GRANULARITIES do
      local g = GRANULARITIES[i]
      local start = math.floor(sec / g[2]) * g[2]
      local expire_at = start + g[2] + ttls[g[3]]
      if expire_at > now then
        list[#list + 1] = counter_bucket(prefix .. g[1] .. int_str(start) .. suffix, expire_at, family ~= nil and HASH_FAMILIES[family] == true)
      end
    end
    buckets_of_second[memo] = list
  end
  return list
end

-- Adds d to field in the minute, hour and day bucket of ts_ms (buckets already expired are skipped).
local function counter_add_at(prefix, now, ttls, ts_ms, field, d)
  for _, b in ipairs(buckets_at(prefix, now, ttls, math.floor(ts_ms / 1000))) do
    counter_add(b, field, d)
  end
end

-- Reads and decodes every touched bucket (fails before any write if one is not a counters map).
local function counters_read()
  for _, key in ipairs(counters.order) do
    if not counters.by_key[key].hash then  -- a hash bucket is added to without reading it
      local raw = redis.call('GET', key)
      local t = {}
      if raw then
        t = cmsgpack.unpack(raw)
        if type(t) ~= 'table' then
          error('counters ' .. key .. ' are not a MessagePack map')
        end
      end
      counters.by_key[key].current = t
    end
  end
end

-- A paths bucket (family p, docs/keys.md): one field per path, `p:<path>` = "<sessions>:<ended>:<escalated>"
-- (one field instead of three repeating the path: half the memory). Deltas come as fields
-- `s:<path>`, `e:<path>`, `x:<path>`; a field back at 0:0:0 is deleted. A bucket written before
-- issue 13's packing also has fields `s:<path>`, `e:<path>`, `x:<path>` (HINCRBY counters): they are
-- left as they are and a query adds both forms (a correction of an old count lands in the packed
-- field, possibly negative, and the sum stays exact).
local function paths_write(key, b)
  local sums, order = {}, {}
  for _, f in ipairs(b.fields) do
    local d = b.delta[f]
    if d ~= 0 then
      local path = string.sub(f, 3)
      local t = sums[path]
      if t == nil then
        t = { 0, 0, 0 }
        sums[path] = t
        order[#order + 1] = path
      end
      local kind = string.sub(f, 1, 1)
      local i = kind == 's' and 1 or (kind == 'e' and 2 or 3)
      t[i] = t[i] + d
    end
  end
  local touched = false
  for _, path in ipairs(order) do
    local t = sums[path]
    if t[1] ~= 0 or t[2] ~= 0 or t[3] ~= 0 then
      local field = 'p:' .. path
      local cur = redis.call('HGET', key, field)
      if cur then
        local s, e, x = string.match(cur, '^(-?%d+):(-?%d+):(-?%d+)$')
        if s == nil then error('paths ' .. key .. ' field is not <sessions>:<ended>:<escalated>') end
        t[1], t[2], t[3] = t[1] + tonumber(s), t[2] + tonumber(e), t[3] + tonumber(x)
      end
      if t[1] == 0 and t[2] == 0 and t[3] == 0 then
        redis.call('HDEL', key, field)
      else
        redis.call('HSET', key, field, int_str(t[1]) .. ':' .. int_str(t[2]) .. ':' .. int_str(t[3]))
      end
      touched = true
    end
  end
  if touched then redis.call('EXPIREAT', key, int_str(b.expire_at)) end
end

-- A MessagePack bucket: its decoded map plus the deltas, written once.
local function map_write(key, b, keep_zero)
  local t = b.current
  local touched = false
  for _, f in ipairs(b.fields) do
    local d = b.delta[f]
    if d ~= 0 or keep_zero then
      t[f] = (t[f] or 0) + d
      touched = true
    end
  end
  if touched then
    redis.call('SET', key, cmsgpack.pack(t), 'EXAT', int_str(b.expire_at))
  end
end

-- Writes every touched bucket. keep_zero: a field whose deltas summed to 0 is still created (ingest:
-- the same fields as one call per event); otherwise only non-zero sums are written.
local function counters_write(keep_zero)
  for _, key in ipairs(counters.order) do
    local b = counters.by_key[key]
    if b.hash then paths_write(key, b) else map_write(key, b, keep_zero) end
  end
end

-- The id fields of the records in `s` (concatenated records, or nil) as a set.
local function record_ids(s)
  local ids = {}
  if s then
    local pos, len = 1, #s
    while pos <= len do
      local n, _, _, _, id = struct.unpack('<HI6BBBc0', s, pos)
      ids[id] = true
      pos = pos + 2 + n
    end
  end
  return ids
end

---------------------------------------------------------------------------
-- Event ids of a compacted session reopened by a late event (lua/worker_lib.lua): fields `iu`
-- (16-byte UUIDs back to back) and `it` (text ids, one per line) of its hash, made from the
-- compacted header; exact lookups (a UUID only at a 16-byte boundary).
---------------------------------------------------------------------------
local function id_in(iu, it, id)
  if string.byte(id, 1) == 1 then
    if not iu then return false end
    local raw = string.sub(id, 2)
    local p = string.find(iu, raw, 1, true)
    while p and (p - 1) % 16 ~= 0 do
      p = string.find(iu, raw, p + 1, true)
    end
    return p ~= nil
  end
  return it ~= nil and it ~= false and string.find(it, '\n' .. string.sub(id, 2) .. '\n', 1, true) ~= nil
end

-- Appends ids (stored forms) to the iu / it values.
local function ids_append(iu, it, ids)
  local u, t = { iu or '' }, { (it and it ~= '') and it or '\n' }
  for _, id in ipairs(ids) do
    if string.byte(id, 1) == 1 then u[#u + 1] = string.sub(id, 2) else t[#t + 1] = string.sub(id, 2) .. '\n' end
  end
  return table.concat(u), table.concat(t)
end

---------------------------------------------------------------------------
-- Compacted sessions (`P jz:<sid>`, CompactJourney in Swift): 'Z' 2|3 | u32 H | msgpack header | deflate.
-- The header holds the session hash's own fields (h: t0, m, l, st, dm) and its events' ids: `u` and
-- `t` in the forms of the hash's `iu` and `it` (versions 2 and 3), or a list `i` of stored ids (version 1).
---------------------------------------------------------------------------

-- The first and last event times and the breakdown values (nil if none) of a finalized state
-- (`st`, lua/worker_lib.lua pack_state): version 4 (14 items) and 3 (21) hold the last as ms after
-- the first, states of 20 and 15 items (before stop 24) absolute times; 15 items have no values.
-- CompactJourney.swift (FinalizedState) reads them alike.
local function state_summary(packed)
  local a = cmsgpack.unpack(packed)
  if (#a == 14 and a[14] == 4) or (#a == 21 and a[21] == 3) then
    local dm = a[#a == 14 and 13 or 20]
    return a[1], a[1] + a[2], (type(dm) == 'string' and dm ~= '') and dm or nil
  end
  return a[1], a[2], (type(a[20]) == 'string' and a[20] ~= '') and a[20] or nil
end

-- The header of a compacted session, or nil when it has none. Version 3 leaves out the session
-- hash's `t0`, `l` and `dm` when they are the state's first and last times and breakdown values:
-- they are put back here, so callers see the hash's fields as they were.
local function compact_header(prefix, sid)
  local blob = redis.call('GET', prefix .. 'jz:' .. sid)
  if not blob then
    return nil
  end
  local h = struct.unpack('<I4', blob, 3)
  local header = cmsgpack.unpack(string.sub(blob, 7, 6 + h))
  local fields = header.h
  if string.byte(blob, 2) >= 3 and fields and fields.st then
    local first, last, dm = state_summary(fields.st)
    fields.t0 = fields.t0 or int_str(first)
    fields.l = fields.l or int_str(last)
    fields.dm = fields.dm or dm
  end
  return header
end

-- HSET arguments that recreate the session hash from a compacted header: its fields, and its
-- events' ids as applied.
local function header_fields(header, args)
  for k, v in pairs(header.h or {}) do
    args[#args + 1] = k
    args[#args + 1] = v
  end
  local iu, it
  if header.i then
    iu, it = ids_append(nil, nil, header.i)
  else
    iu, it = header.u or '', header.t or '\n'
  end
  args[#args + 1], args[#args + 2] = 'iu', iu
  args[#args + 1], args[#args + 2] = 'it', it
  return args
end
