-- Scheduler scaling: spawn N tasks that each sleep 0 s, then wait for all of
-- them, for N = 1k, 10k, 100k; prints the time per task.  Flat within 2x
-- means spawning, waking and ending a task are O(1).
-- usage: tocsin run bench/tasks.lua [--set sizes=1000,10000,100000]
local sizes = {}
for n in ((... or {}).params and (...).params.sizes or "1000,10000,100000"):gmatch("%d+") do
  sizes[#sizes + 1] = tonumber(n)
end
for _, n in ipairs(sizes) do
  local t0 = time.monotonic()
  local ts = {}
  for i = 1, n do ts[i] = task.spawn(time.sleep, 0) end
  for i = 1, n do ts[i]:wait() end
  local dt = time.monotonic() - t0
  print(("tasks %7d  %8.3f s  %6.2f us/task"):format(n, dt, dt / n * 1e6))
end
