-- wrk -s bench/wrk/post_batch.lua http://host:port
-- Every request POSTs /api/v1/events with a batch of 500 realistic events (conversations of
-- start, user/intent/bot turns, workflows, end) whose event_ids are unique across threads and
-- requests, so none is dropped as a duplicate. Env BENCH_AGENT (default "http-bench").
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
require "report"

local BATCH = 500
local agent = os.getenv("BENCH_AGENT") or "http-bench"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  run = string.format("%x%x", os.time(), math.random(0, 0xffffff))
  math.randomseed(os.time() + (tid or 0))
end

local intents = { "book_flight", "check_status", "cancel_order", "billing", "greeting", "fallback" }
local channels = { "web", "mobile", "voice" }

local function event(parts, etype, session, ts, extra)
  counter = counter + 1
  parts[#parts + 1] = string.format(
    '{"event_id":"w%s-%d-%d","event_type":"%s","timestamp":"%s","session_id":"%s","user_id":"u%d",' ..
    '"agent_id":"%s","channel":"%s"%s}',
    run, tid or 0, counter, etype, ts, session, math.random(0, 4999), agent, channels[math.random(1, 3)], extra or "")
end

request = function()
  local ts = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local parts = {}
  while #parts < BATCH do
    local session = string.format("ws%s-%d-%d", run, tid or 0, counter)
    event(parts, "conversation_start", session, ts)
    local turns = math.random(1, 5)
    for _ = 1, turns do
      if #parts >= BATCH - 3 then break end
      event(parts, "user_message", session, ts)
      local intent = intents[math.random(1, #intents)]
      event(parts, "intent_classified", session, ts,
        string.format(',"data":{"intent":"%s"},"confidence":%.2f', intent, math.random(50, 99) / 100))
      event(parts, "bot_response", session, ts, string.format(',"response_time_ms":%d', math.random(40, 940)))
    end
    if #parts < BATCH then event(parts, "conversation_end", session, ts) end
  end
  local body = "[" .. table.concat(parts, ",", 1, BATCH) .. "]"
  return wrk.format("POST", "/api/v1/events", { ["Content-Type"] = "application/json" }, body)
end

done = wrk_report
