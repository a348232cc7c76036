#!/usr/bin/env bash
# http.max_per_host = 4: of 12 concurrent requests to one host, 4 are in
# flight at once and the others wait in a queue (the test server counts the
# /slow requests it holds, and connections); a request to another host is
# not held up by them; a queued request's timeout counts its wait; cancelling
# the running ones lets the queued ones through, first come first served.
# A bad value is a config error.
. "$SRC/tests/e2e/lib.bash"
start_testserver

cat >"$WORK/tocsin.lua" <<'LUA'
return { http = { max_per_host = 4 } }
LUA
cat >"$WORK/cap.lua" <<'LUA'
local base = env("TEST_HTTP")
-- another host key for the same server: not held up by the queue to 127.0.0.1
local other = base:gsub("127%.0%.0%.1", "localhost")
local function stats() return assert(http.get(other .. "/stats", { timeout = 5 })):json() end
local function wait_for(pred, what)
  for _ = 1, 100 do
    local s = stats()
    if pred(s) then return s end
    time.sleep(0.05)
  end
  error("timed out waiting for " .. what .. ": " .. json.encode(stats()))
end

local before = stats()
local order, slow = {}, {}
for i = 1, 12 do
  slow[i] = task.spawn(function()
    local res, err = http.get(base .. "/slow", { query = { i = i }, timeout = 30 })
    order[#order + 1] = i
    return res, err
  end)
  time.sleep(0.01) -- a known order of arrival
end
local s = wait_for(function(x) return x.slow_active >= 4 end, "4 requests in flight")
time.sleep(0.3) -- room for more to arrive if the cap let them through
s = stats()
assert(s.slow_active == 4, ("%d requests in flight to one host, cap 4"):format(s.slow_active))
local conns = s.connections - before.connections
assert(conns <= 4 + 1, ("%d connections opened, cap 4 (+1 for /stats)"):format(conns))

-- a queued request's timeout counts its wait in the queue
local t0 = time.monotonic()
local res, err = http.get(base .. "/json", { timeout = 0.3 })
local waited = time.monotonic() - t0
assert(not res and err.kind == "timeout", "a queued request did not time out: " .. tostring(err))
assert(waited >= 0.25 and waited < 2, ("timed out after %.2f s, wanted 0.3"):format(waited))
assert(tostring(err):find(base .. "/json", 1, true), tostring(err))

-- cancelling the 4 running ones starts the next 4 (5..8), and so on
for i = 1, 4 do slow[i]:cancel() end
wait_for(function(x) return x.slow_active == 4 and x.requests >= s.requests + 4 end,
  "the next 4 queued requests to start")
time.sleep(0.2)
assert(stats().slow_active == 4)
-- first come first served: 5..8 run, so cancelling 9..12 (still queued)
-- leaves the server holding 4
for i = 9, 12 do slow[i]:cancel() end
time.sleep(0.3)
assert(stats().slow_active == 4, "requests 9..12 had started before 5..8")
for i = 5, 8 do slow[i]:cancel() end
wait_for(function(x) return x.slow_active == 0 end, "the server to see every request closed")
assert(#order == 0, "a cancelled request returned")

-- the host still works, and its queue is empty
local ok = assert(http.get(base .. "/json", { timeout = 5 }))
assert(ok.status == 200)
print("per-host cap ok")
LUA

"$TOCSIN" run "$WORK/cap.lua" --config "$WORK/tocsin.lua" --yes >"$WORK/out" 2>&1 ||
  { tail -20 "$WORK/out" | cut -c1-400; fail "tocsin run failed"; }
grep -q "per-host cap ok" "$WORK/out" || { cat "$WORK/out"; fail "no summary"; }

# http.max_per_host must be a whole number >= 0
printf 'return { http = { max_per_host = -1 } }\n' >"$WORK/bad.lua"
expect_exit 2 "$TOCSIN" run "$WORK/cap.lua" --config "$WORK/bad.lua" --yes
grep -q "http.max_per_host" "$WORK/err" "$WORK/out" || fail "no message naming http.max_per_host"
printf 'return { http = 64 }\n' >"$WORK/bad2.lua"
expect_exit 2 "$TOCSIN" run "$WORK/cap.lua" --config "$WORK/bad2.lua" --yes
echo "http_per_host_cap_queues ok"
