-- wrk script for bench/submit: one callback request per HTTP request, each with
-- a DISTINCT phone number, so that every request creates a new lead (a repeat
-- request takes a different, cheaper path and would flatter the numbers).
--
-- Arguments (after `--`): mode prefix base span
--   mode    api | form | bare
--   prefix  the operator code after +7 (e.g. 916): phones are +7<prefix><7 digits>
--   base    first 7-digit number of this run
--   span    numbers reserved for each wrk thread (thread i starts at base + i*span)
-- Environment: BENCH_FORM_BODY (url-encoded form fields without the phone) and
-- BENCH_COOKIE (the session cookie the CSRF token belongs to), for mode=form.
--
-- done() prints one line `BENCH_JSON {...}` with the counts, the status codes
-- seen and the latency percentiles (microseconds), for bench/submit to parse.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  prefix = args[2]
  base = tonumber(args[3])
  span = tonumber(args[4])
  first = base + tid * span
  counter = 0
  overflow = 0
  statuses = {}
  if mode == "form" then
    path = "/callback"
    form_body = os.getenv("BENCH_FORM_BODY") or ""
    headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = os.getenv("BENCH_COOKIE") or "",
    }
  elseif mode == "api" then
    path = "/api/v1/leads"
    headers = { ["Content-Type"] = "application/json" }
  elseif mode == "bare" then
    path = "/bare"
    headers = { ["Content-Type"] = "application/json" }
  else
    error("unknown mode " .. tostring(mode))
  end
end

function request()
  if counter >= span then
    overflow = 1  -- numbers would repeat; reported, and bench/submit fails the run
  end
  local digits = string.format("%07d", (first + counter) % 10000000)
  counter = counter + 1
  local body
  if mode == "form" then
    body = form_body .. "&phone=%2B7" .. prefix .. digits
  else
    body = '{"name": "Иван Бенчев", "phone": "+7' .. prefix .. digits .. '", "consent": true}'
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local codes = {}
  local sent = 0
  local over = 0
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    for code, n in pairs(seen) do
      codes[code] = (codes[code] or 0) + n
    end
    sent = sent + thread:get("counter")
    over = over + thread:get("overflow")
  end
  local parts = {}
  for code, n in pairs(codes) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "sent": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"statuses": {%s}, "overflow": %d, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, sent, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", "), over,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
