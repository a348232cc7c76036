-- Hostile runbooks fail alone: each of these once crashed, hung or misbehaved in the core.

-- getmetatable(task) handed out __gc; calling it unanchored a live task's
-- thread (use-after-free when the scheduler resumed it).
local t = task.spawn(function() time.sleep(0.05); return 1 end)
assert(getmetatable(t) == false, "task metatable must be protected")
collectgarbage()
local ok, v = t:wait()
assert(ok and v == 1)
local _, terr = task.timeout(0.01, function() time.sleep(1) end)
assert(getmetatable(terr) == false, "error metatable must be protected")

-- string.dump is reachable through the string metatable's __index otherwise.
assert(("").dump == nil, "string.dump must not be reachable as a method")

-- __gc finalizers run with hooks off: nothing could bound one that spins.
assert(not pcall(setmetatable, {}, { __gc = function() end }))
assert(getmetatable(setmetatable({}, { __index = {} })) ~= nil, "setmetatable still works")
assert(not pcall(setmetatable, setmetatable({}, { __metatable = 1 }), {}))

-- A primitive where Lua cannot yield raises, and leaves the task consistent
-- (it used to stay marked suspended with a stale timer that woke it later).
local okc, errc = pcall(table.sort, { 3, 2, 1 }, function(a, b) time.sleep(0.01); return a < b end)
assert(not okc and tostring(errc):find("cannot wait for I/O here"), tostring(errc))
time.sleep(0.05)
local w = task.spawn(function() time.sleep(0.05); return "w" end)
assert(select(2, w:wait()) == "w")

-- Another task's thread, or a coroutine parked in a primitive, cannot be
-- resumed or closed from elsewhere (resetting a running thread crashed).
local a_thread
local a = task.spawn(function() a_thread = coroutine.running(); time.sleep(0.1); return "a" end)
time.sleep(0.01)
local okr, errr = pcall(coroutine.resume, a_thread)
assert(not okr and tostring(errr):find("waiting for the scheduler"), tostring(errr))
assert(not pcall(coroutine.close, a_thread))
assert(select(2, a:wait()) == "a")

local inner
local b = task.spawn(function()
  inner = coroutine.create(function() time.sleep(0.1); return "inner" end)
  return coroutine.resume(inner)
end)
time.sleep(0.01)
assert(coroutine.status(inner) == "suspended")
assert(not pcall(coroutine.resume, inner))
assert(not pcall(coroutine.close, inner))
local okb, rb1, rb2 = b:wait()
assert(okb and rb1 == true and rb2 == "inner", tostring(rb2))
-- once it is back in its task's hands it is an ordinary coroutine again
assert(coroutine.status(inner) == "dead")

-- A memory error a pcall caught earlier is not the cause of a later error.
assert(not pcall(string.rep, "x", 1 << 30))
local f = task.spawn(function() error("plain failure") end)
local okf, ef = f:wait()
assert(not okf and tostring(ef):find("plain failure"), "misreported: " .. tostring(ef))

-- A failing task whose error value has hostile metamethods (used to abort
-- the process from the scheduler, outside any protected call).
local h = task.spawn(function()
  error(setmetatable({}, { __index = function() error("index") end,
                           __tostring = function() error("tostring") end }))
end)
local okh = h:wait()
assert(okh == false)

-- A __close handler that cancels its own task while being cancelled.
local me
local c = task.spawn(function()
  local _ <close> = setmetatable({}, { __close = function() me:cancel() end })
  me = task.current()
  time.sleep(10)
end)
time.sleep(0.01)
c:cancel()
assert(c:status() == "canceled")
print("review_core ok")
