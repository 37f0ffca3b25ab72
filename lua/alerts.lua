#!lua
-- Insights: the state of alert rules and their webhook delivery queue (docs/alerts.md).
-- Sent prefixed by lua/common.lua. P = the agent's prefix ins:{<agent>}: (AgentKeys in Swift).
-- The evaluators (Sources/InsightsAlerts) compute a rule's value in Swift from the minute
-- counters; this script makes what follows atomic, so that with any number of evaluators each
-- (rule, minute) is judged once and each transition is recorded and queued once.
--
-- EVALSHA <sha> 1 P ar:<rule> prefix 'eval' rule window_end_ms verdict at_ms record firing_body resolved_body history_cap
--   verdict: 'fire' (the condition holds), 'ok' (it does not), 'skip' (too few events to judge).
--   Once per (rule, window end): a window end not after the rule's `last` is 'done' (another
--   evaluator judged it). Else `last` := window end, and: fire while ok → state firing, the
--   record (its JSON, made by the evaluator) added to the history as alert <rule>:<window end>,
--   firing_body queued for the webhook; ok while firing → state ok, the alert's resolved-at set,
--   resolved_body queued (an empty body: the rule has no webhook, nothing is queued); anything
--   else changes no state ('same' / 'skip').
--   Returns { outcome, state, ms until the earliest queued delivery is due (-1: none) },
--   outcome 'gone' (no such rule) | 'done' | 'skip' | 'same' | 'fired' | 'resolved'.
-- EVALSHA <sha> 1 P wq prefix 'lease' count lease_ms
--   Deliveries due (score <= now), at most count, leased (re-scored to now + lease_ms: a sender
--   that dies only delays them). Returns { ms until the earliest delivery left is due (-1: none),
--   then per delivery: id, lease score, body, meta, the rule's def ('' if deleted), its secret }.
-- EVALSHA <sha> 1 P wq prefix 'done' id lease outcome retry_in_ms meta attempt log_cap
--   Records one attempt of a leased delivery, if the caller still holds the lease (the score is
--   the one it leased with): outcome 'retry' → due again in retry_in_ms with the new meta;
--   'delivered' / 'failed' / 'dropped' → off the queue. The attempt (JSON) goes to the head of
--   P wl, kept to log_cap entries. Returns 1, or 0 (lease lost: nothing recorded).

if #KEYS ~= 1 then
  return fail('expected exactly 1 key')
end
local prefix, op = ARGV[1], ARGV[2]
if prefix == '' then return fail('prefix must not be empty') end
if not slot_settled(prefix) then return slot_migrating(prefix) end
local _, now_ms = server_time()
local queue, bodies = prefix .. 'wq', prefix .. 'wd'

local function next_due()
  local first = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
  if first[2] == nil then return -1 end
  return math.max(0, tonumber(first[2]) - now_ms)
end

if op == 'eval' then
  local rule, window_end, verdict, at_ms = ARGV[3], parse_uint(ARGV[4]), ARGV[5], ARGV[6]
  local record, firing_body, resolved_body, cap = ARGV[7], ARGV[8], ARGV[9], parse_uint(ARGV[10])
  if KEYS[1] ~= prefix .. 'ar:' .. rule or window_end == nil or parse_uint(at_ms) == nil or cap == nil or cap < 1 then
    return fail('eval needs the rule key, rule, window_end_ms, verdict, at_ms, record, bodies, history_cap')
  end
  if verdict ~= 'fire' and verdict ~= 'ok' and verdict ~= 'skip' then
    return fail('verdict must be fire, ok or skip')
  end
  if redis.call('EXISTS', KEYS[1]) == 0 then return { 'gone', '', next_due() } end
  local h = redis.call('HMGET', KEYS[1], 'last', 'state', 'alert')
  local last, state, alert = tonumber(h[1] or '-1'), h[2] or 'ok', h[3]
  if window_end <= last then return { 'done', state, next_due() } end
  redis.call('HSET', KEYS[1], 'last', ARGV[4])
  local function enqueue(id, body)
    redis.call('ZADD', queue, int_str(now_ms), id)
    redis.call('HSET', bodies, id, body, id .. ':m', rule .. ' 0 ' .. int_str(now_ms))
  end
  if verdict == 'fire' and state == 'ok' then
    local id = rule .. ':' .. ARGV[4]
    local history, records = prefix .. 'alz', prefix .. 'alh'
    redis.call('ZADD', history, at_ms, id)
    redis.call('HSET', records, id, record)
    local extra = redis.call('ZCARD', history) - cap
    if extra > 0 then
      for _, old in ipairs(redis.call('ZRANGE', history, 0, extra - 1)) do
        redis.call('HDEL', records, old, old .. ':r')
      end
      redis.call('ZREMRANGEBYRANK', history, 0, extra - 1)
    end
    redis.call('HSET', KEYS[1], 'state', 'firing', 'alert', id, 'since', at_ms)
    if firing_body ~= '' then enqueue(id .. ':firing', firing_body) end
    return { 'fired', 'firing', next_due() }
  elseif verdict == 'ok' and state == 'firing' then
    if alert then redis.call('HSET', prefix .. 'alh', alert .. ':r', at_ms) end
    redis.call('HSET', KEYS[1], 'state', 'ok')
    redis.call('HDEL', KEYS[1], 'alert', 'since')
    if resolved_body ~= '' then enqueue((alert or (rule .. ':' .. ARGV[4])) .. ':resolved', resolved_body) end
    return { 'resolved', 'ok', next_due() }
  end
  return { verdict == 'skip' and 'skip' or 'same', state, next_due() }
elseif op == 'lease' then
  local count, lease = parse_uint(ARGV[3]), parse_uint(ARGV[4])
  if KEYS[1] ~= queue or count == nil or count < 1 or lease == nil then
    return fail('lease needs the queue key, count and lease_ms')
  end
  local due = redis.call('ZRANGEBYSCORE', queue, '-inf', int_str(now_ms), 'LIMIT', 0, count)
  local until_s = int_str(now_ms + lease)
  local reply = { 0 }
  for _, id in ipairs(due) do
    redis.call('ZADD', queue, until_s, id)
    local b = redis.call('HMGET', bodies, id, id .. ':m')
    local meta = b[2] or ''
    local rule = meta:match('^(%S+)') or ''
    local r = redis.call('HMGET', prefix .. 'ar:' .. rule, 'def', 'secret')
    for _, v in ipairs({ id, until_s, b[1] or '', meta, r[1] or '', r[2] or '' }) do reply[#reply + 1] = v end
  end
  reply[1] = next_due()
  return reply
elseif op == 'done' then
  local id, lease, outcome, retry_in = ARGV[3], ARGV[4], ARGV[5], parse_uint(ARGV[6])
  local meta, attempt, cap = ARGV[7], ARGV[8], parse_uint(ARGV[9])
  if KEYS[1] ~= queue or retry_in == nil or cap == nil or cap < 1 then
    return fail('done needs the queue key, id, lease, outcome, retry_in_ms, meta, attempt, log_cap')
  end
  local score = redis.call('ZSCORE', queue, id)
  if score == false or tonumber(score) ~= tonumber(lease) then return 0 end
  if outcome == 'retry' then
    redis.call('ZADD', queue, int_str(now_ms + retry_in), id)
    redis.call('HSET', bodies, id .. ':m', meta)
  elseif outcome == 'delivered' or outcome == 'failed' or outcome == 'dropped' then
    redis.call('ZREM', queue, id)
    redis.call('HDEL', bodies, id, id .. ':m')
  else
    return fail('outcome must be retry, delivered, failed or dropped')
  end
  local log = prefix .. 'wl'
  redis.call('LPUSH', log, attempt)
  redis.call('LTRIM', log, 0, cap - 1)
  return 1
end
return fail('op must be eval, lease or done')
