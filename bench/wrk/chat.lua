-- wrk: POST a small non-streaming chat completion.
-- Environment: BENCH_KEY (sent as X-Gatehouse-Key when set), BENCH_BODY
-- (the request body instead of the default one).
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
