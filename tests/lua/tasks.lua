-- task.spawn / wait / cancel / all / timeout / retry
local t = task.spawn(function(a, b) time.sleep(0.02); return a + b, "x" end, 2, 3)
local ok, sum, x = t:wait()
assert(ok and sum == 5 and x == "x")
assert(t:status() == "done")
-- waiting again returns the same results
ok, sum = t:wait()
assert(ok and sum == 5)

-- failure is reported, not raised
local f = task.spawn(function() error("nope") end)
ok, sum = f:wait()
assert(not ok and tostring(sum):find("nope"))

-- cancel a sleeping task: its waiters learn it
local s = task.spawn(function() time.sleep(10); return "woke" end)
time.sleep(0.01)
s:cancel()
ok, sum = s:wait()
assert(not ok and sum.kind == "canceled", tostring(sum))

-- cancelling a parent cancels what it spawned
local child
local parent = task.spawn(function()
  child = task.spawn(function() time.sleep(10) end)
  time.sleep(10)
end)
time.sleep(0.01)
parent:cancel()
ok = child:wait()
assert(not ok and child:status() == "canceled")

-- wait with a timeout
local slow = task.spawn(function() time.sleep(5) end)
local r, err = slow:wait(0.05)
assert(r == nil and err.kind == "timeout")
slow:cancel()

-- task.all keeps order and outcomes
local all = task.all{
  function() time.sleep(0.03); return 1 end,
  function() return 2 end,
  function() error("three") end,
}
assert(all[1][1] and all[1][2] == 1)
assert(all[2][1] and all[2][2] == 2)
assert(not all[3][1] and tostring(all[3][2]):find("three"))

-- task.timeout: result, or nil + timeout (and the function is cancelled)
assert(task.timeout(1, function() return "fast" end) == "fast")
local t0 = time.monotonic()
local v, terr = task.timeout(0.2, function() time.sleep(5); return "late" end)
local el = time.monotonic() - t0
assert(v == nil and terr.kind == "timeout" and el >= 0.19 and el < 1, tostring(terr) .. " " .. el)
assert(tostring(terr):find("timeout"))

-- task.retry: until a call neither raises nor returns nil, err
local n = 0
local rv = task.retry({ attempts = 4, delay = 0.01 }, function()
  n = n + 1
  if n == 1 then error("first fails") end
  if n == 2 then return nil, "second fails" end
  return "third works"
end)
assert(rv == "third works" and n == 3)
n = 0
local rv2, rerr = task.retry({ attempts = 2, delay = 0.01 }, function() n = n + 1; return nil, "always" end)
assert(rv2 == nil and rerr == "always" and n == 2)
local okr, rerr2 = pcall(task.retry, { attempts = 2, delay = 0.01 }, function() error("raises") end)
assert(not okr and tostring(rerr2):find("raises"))

-- many tasks at once
local ts = {}
for i = 1, 2000 do ts[i] = task.spawn(function() time.sleep(0.05); return i end) end
for i = 1, 2000 do
  local okk, val = ts[i]:wait()
  assert(okk and val == i)
end

-- wrong argument types raise
assert(not pcall(task.spawn, 42))
assert(not pcall(time.sleep, "x"))
print("tasks ok")
