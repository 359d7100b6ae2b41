-- wrk script for bench/run.sh.
--
-- Without WRK_ID_PATH, every request is the URL given on the command line. With it (a format
-- string such as "/api/v1/contracts/%d"), each request asks for a random id between WRK_ID_MIN and
-- WRK_ID_MAX; each thread's generator is seeded from its number, so every run asks for the same ids.
--
-- At the end, one line starting "WRKJSON " gives the figures as JSON (latencies in microseconds).

local id_path = os.getenv("WRK_ID_PATH")
local id_min = tonumber(os.getenv("WRK_ID_MIN") or "1")
local id_max = tonumber(os.getenv("WRK_ID_MAX") or "1")
local threads = 0

-- WRK_AUTHORIZATION, when set, goes with every request (an API key: "Bearer ct_...").
local authorization = os.getenv("WRK_AUTHORIZATION")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

init = function(args)
  math.randomseed(1000 + (thread_number or 0))
end

if id_path and id_path ~= "" then
  request = function()
    return wrk.format("GET", string.format(id_path, math.random(id_min, id_max)))
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "mean_us": %.1f, "p50_us": %d, '
      .. '"p90_us": %d, "p99_us": %d, "max_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "timeouts": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
