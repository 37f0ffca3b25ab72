#!lua
-- Insights: forget consumers of the worker group that are gone.
--
-- Every `insights worker` start joins the group under a new name (host-pid-random), so without
-- this the group's consumer list grows with every restart. A consumer is deleted only when it
-- holds no pending entry and has not talked to Redis for ARGV[2] ms. Both are checked and the
-- delete done in this one atomic call: no entry can become pending on it in between, so
-- XGROUP DELCONSUMER never drops an unacknowledged entry. (A live but quiet consumer that is
-- deleted anyway loses nothing: its next XREADGROUP creates it again.)
--
-- KEYS[1] = ins:{<agent>}:stream
-- ARGV[1] = group, ARGV[2] = minimum idle time (ms), ARGV[3] = the caller's own consumer name (kept)
-- Returns the names deleted.

local stream, group, min_idle, own = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
if not min_idle or min_idle < 0 then
  return redis.error_reply('ERR minimum idle time must be a non-negative integer')
end

local removed = {}
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local name, pending, idle
  for i = 1, #c, 2 do
    local k = c[i]
    if k == 'name' then name = c[i + 1]
    elseif k == 'pending' then pending = c[i + 1]
    elseif k == 'idle' then idle = c[i + 1] end
  end
  if name and name ~= own and pending == 0 and idle and idle >= min_idle then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, name)
    removed[#removed + 1] = name
  end
end
return removed
