-- 16 tasks x 1,000 queries through a pool of 4: every query succeeds, the
-- pool never opens more than 4 connections, waiters are served in order;
-- a connection killed on the server while idle is replaced transparently.
local dsn = assert(env("PGTEST_DSN"), "PGTEST_DSN not set (tests/pg/start.sh)")
local app = "tocsin_pool_" .. tostring(math.floor(time.now() * 1000) % 100000000)
local db = sql.open(dsn .. "?application_name=" .. app, { max = 4, timeout = 30 })
local admin = sql.open(dsn, { max = 1 })

local TASKS, N = 16, 1000
local t0 = time.monotonic()
local tasks = {}
for i = 1, TASKS do
  tasks[i] = task.spawn(function()
    local sum = 0
    for j = 1, N do
      local r, err = db:one("SELECT $1::int * 2 AS v, $2::text AS who", j, "task" .. i)
      if not r then error("task " .. i .. " query " .. j .. ": " .. tostring(err)) end
      assert(r.v == 2 * j and r.who == "task" .. i)
      sum = sum + 1
    end
    return sum
  end)
end
local total = 0
for i = 1, TASKS do
  local ok, n = tasks[i]:wait()
  assert(ok, tostring(n))
  total = total + n
end
local el = time.monotonic() - t0
print(string.format("%d queries by %d tasks through a pool of 4 in %.2f s (%.0f/s)", total, TASKS, el, total / el))
assert(total == TASKS * N)
local st = db:stats()
assert(st.max == 4 and st.total <= 4 and st.total >= 1, json.encode(st))
local c = assert(admin:one("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1", app))
assert(c.n <= 4, "server saw " .. c.n .. " connections")

-- FIFO: with one connection, tasks are served in the order they asked
local one = sql.open(dsn .. "?application_name=" .. app .. "_fifo", { max = 1 })
local order = {}
local ts = {}
for i = 1, 8 do
  ts[i] = task.spawn(function()
    assert(one:one("SELECT pg_sleep(0.01)"))
    order[#order + 1] = i
  end)
end
for i = 1, 8 do assert(ts[i]:wait()) end
for i = 1, 8 do assert(order[i] == i, "served out of order: " .. table.concat(order, ",")) end

-- idle connections terminated on the server (as the playbook's query does):
-- the next queries reconnect and succeed, over and over
for round = 1, 20 do
  assert(db:one("SELECT 1 AS x"))
  local k = assert(admin:query(
    "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1", app))
  assert(#k >= 1, "round " .. round .. ": nothing to terminate")
  local r, err = db:one("SELECT 2 AS y")
  assert(r and r.y == 2, "round " .. round .. ": " .. tostring(err))
end
st = db:stats()
assert(st.total <= 4 and st.busy == 0, json.encode(st))
print("pg_pool: all checks passed")
