-- bench/store_write.lua — state-store write throughput and loop stalls.
-- Phase 1: N log lines as fast as the loop goes (each is one transcript row,
-- committed by the store's writer thread in group commits).
-- Phase 2: 1,000 rows/s for a few seconds while a ticker sleeping 1 ms
-- measures how late the loop wakes it (the longest stall).
local ctx = ...
local n = tonumber(ctx.params.n or "20000")
local t0 = time.monotonic()
for i = 1, n do log.debug("entry", { i = i }) end
local dt = time.monotonic() - t0
print(("queued %d rows in %.3f s (%.0f rows/s on the loop)"):format(n, dt, n / dt))

local secs = tonumber(ctx.params.secs or "3")
local rate = tonumber(ctx.params.rate or "10") -- rows per 10 ms
local worst, ticks, stop = 0, 0, false
local ticker = task.spawn(function()
  while not stop do
    local a = time.monotonic()
    time.sleep(0.001)
    local late = time.monotonic() - a - 0.001
    if late > worst then worst = late end
    ticks = ticks + 1
  end
end)
local t1 = time.monotonic()
local written = 0
while time.monotonic() - t1 < secs do
  for _ = 1, rate do written = written + 1; log.debug("paced", { i = written }) end
  time.sleep(0.01) -- 10 rows every 10 ms: 1,000 rows/s
end
stop = true
ticker:wait()
print(("paced %d rows in %.1f s; ticker woke %d times, longest stall %.3f ms"):format(
  written, secs, ticks, worst * 1000))

-- Phase 3: timeline entries, each one durable before its call returns
-- (inc:note waits for the commit), from 64 tasks at once: the writer
-- thread's group commit is what makes this fast.
local notes = tonumber(ctx.params.notes or "5000")
local inc = assert(incident.open { title = "store bench", severity = "P3" })
local workers, per = 64, math.ceil(notes / 64)
local t2 = time.monotonic()
local ts = {}
for w = 1, workers do
  ts[w] = task.spawn(function()
    for i = 1, per do assert(inc:note(("note %d.%d"):format(w, i))) end
  end)
end
for _, t in ipairs(ts) do assert(t:wait()) end
local dn = time.monotonic() - t2
print(("timeline: %d entries committed in %.3f s (%.0f entries/s, each durable before its call returned)")
  :format(workers * per, dn, workers * per / dn))
assert(inc:resolve("bench done"))
