-- wrk script for benchmarks/ingest/run.py: signed GitHub webhook deliveries.
--
-- Usage: wrk ... -s deliveries.lua URL -- MANIFEST
-- MANIFEST has one delivery a line, "event<TAB>signature<TAB>body file", written by run.py
-- (the bodies are signed there: HMAC-SHA256 of the raw body with the webhook secret).
-- Each request gets a fresh X-GitHub-Delivery; the deliveries are sent round-robin.
-- done() prints one line "WRK_RESULT {json}" that run.py reads.

local deliveries = {}
local next_index = 1
local counter = 0
local thread_tag = 0

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  local manifest = assert(args[1], "pass the manifest path after --")
  for line in io.lines(manifest) do
    local event, signature, path = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
    if event then
      deliveries[#deliveries + 1] = {event = event, signature = signature, body = read_file(path)}
    end
  end
  assert(#deliveries > 0, "no deliveries in " .. manifest)
  thread_tag = math.floor((os.clock() * 1000003 + os.time()) % 65536)
  math.randomseed(os.time() + thread_tag)
  next_index = math.random(#deliveries)
end

local function delivery_id()
  -- A UUID-shaped id, unique per request (a counter) and per run (random parts).
  counter = counter + 1
  return string.format(
    "%08x-%04x-4%03x-a%03x-%04x%08x",
    math.random(0, 0x7fffffff), thread_tag, math.random(0, 0xfff), math.random(0, 0xfff),
    math.random(0, 0xffff), counter % 0x100000000
  )
end

function request()
  local d = deliveries[next_index]
  next_index = next_index % #deliveries + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = d.event,
    ["X-GitHub-Delivery"] = delivery_id(),
    ["X-Hub-Signature-256"] = d.signature,
  }, d.body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout
  ))
end
