-- wrk: POST a streaming chat completion; the mock answers a static SSE
-- stream of BENCH_CHUNKS (default 8) chunks in one write.
-- Environment: BENCH_KEY (sent as X-Gatehouse-Key when set), BENCH_CHUNKS.
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "text/event-stream"
wrk.headers["X-Mock-Chunks"] = os.getenv("BENCH_CHUNKS") or "8"
local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["X-Gatehouse-Key"] = key
end
