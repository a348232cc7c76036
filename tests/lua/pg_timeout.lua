-- A statement past its timeout returns kind "timeout" at the deadline and is
-- cancelled on the server (gone from pg_stat_activity); a cancelled task's
-- statement too; the pool's connections are recycled afterwards.
local dsn = assert(env("PGTEST_DSN"), "PGTEST_DSN not set (tests/pg/start.sh)")
local db = sql.open(dsn, { max = 2, timeout = 0.5 })
local observer = sql.open(dsn .. "?application_name=tocsin_observer", { max = 1, timeout = 10 })

local function running(tag)
  local r = assert(observer:one(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
    "%" .. tag .. "%"))
  return r.n
end

-- pg_sleep(10) with timeout = 0.5
local t0 = time.monotonic()
local rows, err = db:query("SELECT pg_sleep(10) /* tn-timeout-1 */")
local elapsed = time.monotonic() - t0
assert(rows == nil and err and err.kind == "timeout", "timeout expected: " .. tostring(err))
print(string.format("timeout returned after %.3f s", elapsed))
assert(elapsed >= 0.45 and elapsed < 1.5, "elapsed " .. elapsed)
assert(running("tn-timeout-1") >= 0)
time.sleep(1)
assert(running("tn-timeout-1") == 0, "pg_sleep still running on the server a second later")

-- the connection was drained and is reused
local st = db:stats()
assert(st.total <= 2 and st.busy == 0, json.encode(st))
assert(db:one("SELECT 1 AS one").one == 1)

-- a per-handle timeout on the same pool: longer statements complete
local slow = sql.open(dsn, { timeout = 5 })
assert(slow:one("SELECT true AS done FROM pg_sleep(0.7)").done == true)

-- a task cancelled in the middle of its statement
local t = task.spawn(function() return slow:query("SELECT pg_sleep(10) /* tn-cancel-1 */") end)
time.sleep(0.3)
assert(running("tn-cancel-1") == 1, "the statement should be running before the cancel")
t:cancel()
time.sleep(1)
assert(running("tn-cancel-1") == 0, "cancelled task's statement still running")

-- timeouts inside a transaction: the tx rolls back and its connection comes back
local r, e = db:tx(function(tx)
  assert(tx:exec("CREATE TEMP TABLE tn_tmp (x int)"))
  return tx:query("SELECT pg_sleep(10) /* tn-timeout-tx */")
end)
assert(r == nil and e.kind == "timeout", tostring(e))
time.sleep(1)
assert(running("tn-timeout-tx") == 0)

-- many timeouts at once, then the pool still serves everyone
local ts = {}
for i = 1, 6 do ts[i] = task.spawn(function() return db:query("SELECT pg_sleep(10) /* tn-many */") end) end
for i = 1, 6 do
  local ok, v, er = ts[i]:wait()
  assert(ok and v == nil and er.kind == "timeout", tostring(er))
end
time.sleep(1)
assert(running("tn-many") == 0)
for _ = 1, 10 do assert(db:one("SELECT 2 AS two").two == 2) end
st = db:stats()
assert(st.busy == 0 and st.waiting == 0 and st.total <= st.max, json.encode(st))

-- a statement cancelled by someone else (pg_cancel_backend): kind "canceled"
local victim = task.spawn(function() return slow:query("SELECT pg_sleep(10) /* tn-victim */") end)
time.sleep(0.3)
local k = assert(observer:query(
  "SELECT pg_cancel_backend(pid) AS c FROM pg_stat_activity" ..
  " WHERE query LIKE '%tn-victim%' AND pid <> pg_backend_pid()"))
assert(#k == 1 and k[1].c == true)
local okv, vr, verr = victim:wait()
assert(okv and vr == nil and verr.kind == "canceled" and verr.sqlstate == "57014", tostring(verr))

-- a late cancel never hits the next statement on the same connection: one
-- connection, statements racing their deadline, each followed by another
local single_dsn = dsn .. "?application_name=tn_single"
local single = sql.open(single_dsn, { max = 1, timeout = 0.05 })
local patient = sql.open(single_dsn, { timeout = 10 })
local timeouts = 0
for i = 1, 40 do
  local r1, e1 = single:query("SELECT pg_sleep($1)", 0.04 + (i % 5) * 0.005)
  if not r1 then
    assert(e1.kind == "timeout", tostring(e1))
    timeouts = timeouts + 1
  end
  local r2, e2 = patient:one("SELECT $1::int AS i FROM pg_sleep(0.01)", i)
  assert(r2 and r2.i == i, "statement after a cancel: " .. tostring(e2))
end
assert(timeouts > 0, "no statement hit its deadline")
assert(single:stats().total == 1)
print("pg_timeout: all checks passed")
