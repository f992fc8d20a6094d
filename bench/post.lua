-- wrk script for the bench: POST the request body, stop after a request budget, report as JSON.
-- usage: wrk -t1 -cC -dTs -s bench/post.lua URL -- MAX_REQUESTS BODY
local budget = 0
local sent = 0
local request_text = nil

function init(args)
  budget = tonumber(args[1]) or 0
  wrk.method = "POST"
  wrk.body = args[2] or '{"model":"bench","stream":true}'
  wrk.headers["Content-Type"] = "application/json"
  request_text = wrk.format()
end

function request()
  sent = sent + 1
  if budget > 0 and sent > budget then
    wrk.thread:stop()
  end
  return request_text
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_p50_us":%d,"latency_p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
