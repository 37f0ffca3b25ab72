-- wrk -s bench/wrk/overview.lua http://host:port  (env BENCH_AGENT, default "q"; BENCH_PATH overrides the path)
-- Every connection polls GET /api/v1/analytics/dashboard/overview?agent_id=<agent>.
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
require "report"

local agent = os.getenv("BENCH_AGENT") or "q"
local path = os.getenv("BENCH_PATH") or ("/api/v1/analytics/dashboard/overview?agent_id=" .. agent .. "&timeframe=30d")

request = function()
  return wrk.format("GET", path)
end

done = wrk_report
