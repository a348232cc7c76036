-- math.huge as a duration means "no limit": time.sleep(math.huge) sleeps until
-- cancelled (it was refused, or woke at once), task.timeout(math.huge, f) and
-- t:wait(math.huge) wait for the task (they timed out at once: the seconds
-- overflowed when turned into a timer delay).
local function elapsed(f)
  local t0 = time.monotonic()
  local r = table.pack(f())
  return time.monotonic() - t0, r
end

-- sleep(math.huge) inside a 0.2 s timeout: cancelled by the timeout, not done at once
local secs, r = elapsed(function()
  return task.timeout(0.2, function() time.sleep(math.huge); return "woke" end)
end)
assert(r[1] == nil and r[2].kind == "timeout", "sleep(math.huge) returned " .. tostring(r[1]))
assert(secs >= 0.19 and secs < 2, "task.timeout(0.2) around sleep(math.huge) took " .. secs)

-- and cancelling the sleeping task wakes nothing else up
local sleeper = task.spawn(function() time.sleep(math.huge) end)
time.sleep(0.05)
sleeper:cancel()
local ok, err = sleeper:wait()
assert(ok == false and err.kind == "canceled", tostring(err))

-- task.timeout(math.huge, f) returns f's results
secs, r = elapsed(function()
  return task.timeout(math.huge, function() time.sleep(0.1); return 1, "two" end)
end)
assert(r[1] == 1 and r[2] == "two", "task.timeout(math.huge) gave " .. tostring(r[1]) .. " " .. tostring(r[2]))
assert(secs >= 0.09, "task.timeout(math.huge) returned after " .. secs)

-- t:wait(math.huge) waits for the task
local t = task.spawn(function() time.sleep(0.1); return "done" end)
secs, r = elapsed(function() return t:wait(math.huge) end)
assert(r[1] == true and r[2] == "done", "t:wait(math.huge) gave " .. tostring(r[1]) .. " " .. tostring(r[2]))
assert(secs >= 0.09, "t:wait(math.huge) returned after " .. secs)

-- what is still refused
assert(not pcall(time.sleep, -1))
assert(not pcall(time.sleep, 0 / 0))
print("durations ok")
