-- A runbook's own coroutines keep working when primitives run inside them.
local gen = coroutine.wrap(function()
  for i = 1, 3 do
    time.sleep(0.01)
    coroutine.yield(i)
  end
end)
assert(gen() == 1 and gen() == 2 and gen() == 3)

-- coroutine.resume/yield with values both ways, a primitive in between
local co = coroutine.create(function(a)
  local b = coroutine.yield(a + 1)
  time.sleep(0.01)
  local c = coroutine.yield(b * 2)
  return c .. "!"
end)
local ok, v = coroutine.resume(co, 1)
assert(ok and v == 2)
ok, v = coroutine.resume(co, 5)
assert(ok and v == 10)
ok, v = coroutine.resume(co, "done")
assert(ok and v == "done!")
assert(coroutine.status(co) == "dead")

-- nested: a wrap inside a wrap, sleeping at the innermost level
local outer = coroutine.wrap(function()
  local inner = coroutine.wrap(function()
    time.sleep(0.01)
    coroutine.yield("x")
    time.sleep(0.01)
    coroutine.yield("y")
  end)
  coroutine.yield(inner() .. inner())
end)
assert(outer() == "xy")

-- an HTTP call inside an iterator, when the test server is there
local base = env("TEST_HTTP")
if base and http then
  local pages = coroutine.wrap(function()
    for i = 1, 3 do
      local res = assert(http.get(base .. "/json"))
      coroutine.yield(i, res.status)
    end
  end)
  for _ = 1, 3 do
    local i, status = pages()
    assert(status == 200, "GET inside coroutine.wrap: " .. tostring(status))
    assert(i)
  end
end

-- errors inside a wrapped coroutine propagate
local bad = coroutine.wrap(function() time.sleep(0.01); error("inner failure") end)
local okb, errb = pcall(bad)
assert(not okb and tostring(errb):find("inner failure"))

-- a plain yield at the top of a task is a cooperative yield, not a crash
local t = task.spawn(function() coroutine.yield(); return "after yield" end)
local okt, r = t:wait()
assert(okt and r == "after yield")
print("coroutines ok")
