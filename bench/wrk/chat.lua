-- wrk: POST a small non-streaming chat completion.
-- Environment: BENCH_KEY (sent as X-Gatehouse-Key when set), BENCH_BODY
-- (the request body instead of the default one), BENCH_HEADER (one more
-- header, "Name: value").
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
end
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["X-Gatehouse-Key"] = key
end
local extra = os.getenv("BENCH_HEADER")
if extra ~= nil and extra ~= "" then
  local name, value = extra:match("^([^:]+):%s*(.*)$")
  if name ~= nil then
    wrk.headers[name] = value
  end
end
