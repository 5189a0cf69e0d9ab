-- wrk: POST a small chat completion, each request with the next key of a
-- list, so that traffic is spread over many organizations.
-- Environment: TENANT_KEYS  file of raw keys, one a line (bench/tenants.sh
--                           writes it with seed_tenants); a file of one
--                           line gives the single-org figure with the same
--                           script cost.
--              TENANT_ORDER file: the keys in the order of the file;
--                           otherwise a fixed random order (traffic of
--                           many tenants arrives interleaved, and the file
--                           lists the keys of an org next to the keys of
--                           its neighbours in storage, which would make
--                           consecutive requests touch neighbouring rows)
-- Every request is formatted once, in init(): request() only hands out the
-- next one. Formatting per call would cost the load generator more for
-- many keys than for one (a new string each time, which Lua interns and
-- collects; one key gives the same string every time), and wrk shares the
-- machine with the gateway.
local body = '{"model":"gpt-4o-mini","messages":'
  .. '[{"role":"user","content":"Say hello."}]}'
local requests = {}
local count = 0
local next_request = 1
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  local path = os.getenv("TENANT_KEYS")
  for line in io.lines(path) do
    if line ~= "" then
      count = count + 1
      requests[count] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Gatehouse-Key"] = line,
      }, body)
    end
  end
  if os.getenv("TENANT_ORDER") ~= "file" then
    -- The same order in every thread (and every run).
    math.randomseed(20261205)
    for i = count, 2, -1 do
      local j = math.random(i)
      requests[i], requests[j] = requests[j], requests[i]
    end
  end
  -- Threads start at different places in the list.
  next_request = (offset * 7919) % count + 1
end

function request()
  local r = requests[next_request]
  next_request = next_request % count + 1
  return r
end
