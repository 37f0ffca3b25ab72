-- Insights: helpers shared by every script (ingest, worker apply, worker sweep).
--
-- Not a script by itself: Redis scripts cannot include files, so the Swift side
-- sends `common.lua .. <script>.lua` as one script (RedisScript(name:sources:)).

local MINUTE, HOUR, DAY = 60, 3600, 86400
local MAX_INT_DIGITS = 15 -- < 2^53: every integer we parse stays exact in a Lua double

local function int_str(x)
  return string.format('%d', x)
end

-- Non-negative decimal integer without sign, spaces, hex or exponent, or nil.
local function parse_uint(s)
  if type(s) ~= 'string' or #s == 0 or #s > MAX_INT_DIGITS or not s:find('^%d+$') then
    return nil
  end
  return tonumber(s)
end

-- Ids end up inside key names; docs/keys.md restricts them to this alphabet.
local function valid_id(s)
  return #s >= 1 and #s <= 128 and s:find('^[A-Za-z0-9._:@-]+$') ~= nil
end

local function fail(msg)
  return redis.error_reply('ERR invalid argument: ' .. msg)
end

