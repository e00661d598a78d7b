-- wrk script: POST one fixed body file with extra headers; print ONE machine-readable line.
--   WRK_LABEL=name wrk -t1 -cN -dS -s post.lua URL -- BODY_FILE [Header:Value ...]
-- Output: `RESULT {json}` with requests, seconds, req/s, latency percentiles (ms) and wrk's
-- error counts (`status` = answers that were not 2xx/3xx). No `response()` hook: calling Lua
-- per response would slow wrk down on the load core; run.sh smoke-checks each answer's body
-- (GraphQL `data`, no `errors`) before and after the measurements instead.
local label = os.getenv("WRK_LABEL") or "target"

function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for i = 2, #args do
    local k, v = args[i]:match("^([^:]+):%s*(.*)$")
    if k then wrk.headers[k] = v end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"label":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    label, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
