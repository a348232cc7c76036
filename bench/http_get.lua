-- bench/http_get.lua — the Tocsin side of bench/http.sh and bench/http_sweep.sh:
-- C tasks (64 by default) each doing N/C sequential http.get (+ res:json()
-- unless BENCH_JSON=0) against one URL, after one warm-up GET per task.
-- Prints "tocsin: <n> requests in <s> s = <r> req/s (<f> failed)".
local url = assert(env("BENCH_URL"), "BENCH_URL not set")
local n = tonumber(env("BENCH_N", "100000"))
local c = tonumber(env("BENCH_C", "64"))
local decode = env("BENCH_JSON", "1") ~= "0"
local per = n // c

local function worker()
  local bad = 0
  for _ = 1, per do
    local res, err = http.get(url)
    if not res or res.status ~= 200 then
      bad = bad + 1
      if bad == 1 then print("error: " .. tostring(err or res.status)) end
    elseif decode then
      local doc = res:json()
      if doc == nil then bad = bad + 1 end
    end
  end
  return bad
end

-- warm up: open the connections
local warm = {}
for i = 1, c do warm[i] = task.spawn(function() return http.get(url) end) end
local bad = 0
for i = 1, c do
  local ok, res, err = warm[i]:wait()
  if not (ok and res) then
    bad = bad + 1
    if bad == 1 then print("error: " .. tostring(err or res)) end
  end
end

local t0 = time.monotonic()
local ts = {}
for i = 1, c do ts[i] = task.spawn(worker) end
for i = 1, c do
  local ok, b = ts[i]:wait()
  assert(ok, tostring(b))
  bad = bad + b
end
local secs = time.monotonic() - t0
print(("tocsin: %d requests in %.3f s = %.0f req/s (%d failed)"):format(per * c, secs, per * c / secs, bad))
