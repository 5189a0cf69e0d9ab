-- wrk: POST a small chat completion, each request with the next key of a
-- list, so that traffic is spread over many organizations.
-- Environment: TENANT_KEYS  file of raw keys, one a line (bench/tenants.sh
--                           writes it with seed_tenants); a file of one
--                           line gives the single-org figure with the same
--                           script cost.
local body = '{"model":"gpt-4o-mini","messages":'
  .. '[{"role":"user","content":"Say hello."}]}'
local keys = {}
local next_key = 1
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  local path = os.getenv("TENANT_KEYS")
  for line in io.lines(path) do
    if line ~= "" then
      keys[#keys + 1] = line
    end
  end
  -- Threads start at different places in the list.
  next_key = (offset * 7919) % #keys + 1
end

function request()
  local key = keys[next_key]
  next_key = next_key % #keys + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Gatehouse-Key"] = key,
  }, body)
end
