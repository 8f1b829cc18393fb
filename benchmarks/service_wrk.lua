-- wrk script for benchmarks/service.py: rotates the request paths given in EV_PATHS (one per
-- line), sends `Authorization: Bearer $EV_TOKEN` if set, and prints one JSON line at the end
-- (requests, seconds, errors by kind, latency percentiles in microseconds).

local paths = {}
for line in string.gmatch(os.getenv("EV_PATHS") or "/", "[^\n]+") do
  paths[#paths + 1] = line
end
local token = os.getenv("EV_TOKEN") or ""
local counter = 0

function init(args)
  -- each thread starts at a different place in the rotation
  counter = math.random(0, #paths - 1)
end

function request()
  counter = counter + 1
  local headers = {}
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'EVJSON {"requests": %d, "seconds": %.6f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
