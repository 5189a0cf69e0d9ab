-- wrk: one traffic class of the soak (bench/soak.sh), paced by delay().
-- Environment:
--   SOAK_CLASS     chat (default) | stream | unknown_key | bad_json |
--                  dead_provider
--   SOAK_DELAY_MS  mean pause between a response and the next request on
--                  each connection, fractional (default 0: no pause)
--   BENCH_KEY      the key sent as X-Gatehouse-Key (every class but
--                  unknown_key)
--   SOAK_CHUNKS, SOAK_CHUNK_DELAY_MS  stream: chunks and their spacing
--   SOAK_DEAD_PROVIDER  dead_provider: the provider name (default "dead")
--   SOAK_OUT       file the result is written to as one JSON line (default
--                  stdout)
local class = os.getenv("SOAK_CLASS") or "chat"
local chat = '{"model":"gpt-4o-mini","messages":'
  .. '[{"role":"user","content":"Say hello."}]}'
local key = os.getenv("BENCH_KEY") or ""

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = chat
wrk.headers["X-Gatehouse-Key"] = key
if class == "stream" then
  wrk.body = '{"model":"gpt-4o-mini","stream":true,"messages":'
    .. '[{"role":"user","content":"Say hello."}]}'
  wrk.headers["Accept"] = "text/event-stream"
  wrk.headers["X-Mock-Chunks"] = os.getenv("SOAK_CHUNKS") or "8"
  wrk.headers["X-Mock-Chunk-Delay-Ms"] = os.getenv("SOAK_CHUNK_DELAY_MS")
    or "0"
elseif class == "unknown_key" then
  wrk.headers["X-Gatehouse-Key"] = "sk-gate-" .. string.rep("0", 64)
elseif class == "bad_json" then
  wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user",'
elseif class == "dead_provider" then
  wrk.headers["X-Gatehouse-Provider"] = os.getenv("SOAK_DEAD_PROVIDER")
    or "dead"
elseif class ~= "chat" then
  error("unknown SOAK_CLASS " .. class)
end

-- wrk takes whole milliseconds: round up or down at random so that the
-- mean pause is the fractional one asked for.
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "0") or 0
local whole = math.floor(pause)
local frac = pause - whole

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

if pause > 0 then
  function delay()
    if math.random() < frac then
      return whole + 1
    end
    return whole
  end
end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', code, n))
  end
  local e = summary.errors
  local line = string.format(
    '{"class":"%s","delay_ms":%.3f,"duration_us":%d,"requests":%d,'
      .. '"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,'
      .. '"p99":%d,"max":%d,"mean":%.1f},"status":{%s}}\n',
    class, pause, summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ","))
  local path = os.getenv("SOAK_OUT")
  if path ~= nil and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(line)
    f:close()
  else
    io.write(line)
  end
end
