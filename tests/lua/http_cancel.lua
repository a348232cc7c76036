-- http: cancelling a task in the middle of a request frees its handle and
-- closes its connection (the server sees the client go); the ASan build
-- checks nothing leaks.  Also task.timeout over a request.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")

local function slow_active()
  return assert(http.get(base .. "/stats")):json().slow_active
end

local function wait_for(pred, what)
  local deadline = time.monotonic() + 5
  while not pred() do
    assert(time.monotonic() < deadline, "timed out waiting for " .. what)
    time.sleep(0.05)
  end
end

local ts = {}
for i = 1, 5 do
  ts[i] = task.spawn(function() return http.get(base .. "/slow", { timeout = 60 }) end)
end
wait_for(function() return slow_active() == 5 end, "5 slow requests to arrive")
for i = 1, 5 do ts[i]:cancel() end
for i = 1, 5 do
  local ok, err = ts[i]:wait()
  assert(ok == false and err.kind == "canceled", tostring(err))
end
-- the server sees each client connection close
wait_for(function() return slow_active() == 0 end, "the slow connections to close")

-- task.timeout cancels the request inside it
local t0 = time.monotonic()
local res, err = task.timeout(0.3, http.get, base .. "/slow", { timeout = 60 })
assert(res == nil and err.kind == "timeout", tostring(err))
assert(time.monotonic() - t0 < 2)
wait_for(function() return slow_active() == 0 end, "the timed-out connection to close")

-- cancelling a task whose request already finished is harmless
local t = task.spawn(function() return http.get(base .. "/json") end)
time.sleep(0.2)
t:cancel()
local ok, r = t:wait()
assert(ok and r.status == 200)

-- everything still works
res = assert(http.get(base .. "/json"))
assert(res.status == 200)
print("http_cancel ok")
