-- bench/tasks_rss.lua — spawns BENCH_TASKS (10,000) tasks that each sleep
-- 5 s; bench/http.sh reads VmRSS before (t < 1 s) and after (t ~ 2.5 s).
local n = tonumber(env("BENCH_TASKS", "10000"))
time.sleep(1.5)
local ts = {}
for i = 1, n do ts[i] = task.spawn(function() time.sleep(5) end) end
for i = 1, n do ts[i]:wait() end
