-- Results are bounded like http's max_body: past max_result (default 64 MiB)
-- a call fails with err.kind "limit" and the connection is recycled; rows
-- under max_result that do not fit the runbook's memory cap fail the same
-- way (an error value, not a raised string).  Every error the sql module
-- delivers is an error value with a kind.
return { limits = { memory = "32MiB" }, run = function()
  local dsn = assert(env("PGTEST_DSN"), "PGTEST_DSN not set (tests/pg/start.sh)")
  local function is_err(err, kind, what)
    assert(type(err) == "table", what .. ": the error is a " .. type(err) .. ": " .. tostring(err))
    assert(err.kind == kind, what .. ": kind " .. tostring(err.kind) .. " (" .. tostring(err) .. ")")
    assert(type(err.message) == "string" and #err.message > 0, what .. ": no message")
  end
  local big = "SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 100000) g"
  local db = sql.open(dsn, { max = 2, max_result = "64KiB" })

  -- under the limit: every row
  local rows = assert(db:query("SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 200) g"))
  assert(#rows == 200 and rows[200].g == 200 and #rows[1].pad == 100 and rows.columns[2] == "pad")
  local none = assert(db:query("SELECT 1 AS x WHERE false"))
  assert(#none == 0 and none.columns[1] == "x")
  local nul = assert(db:one("SELECT NULL::int AS a, 'b' AS b, ''::text AS c"))
  assert(nul.a == json.null and nul.b == "b" and nul.c == "")

  -- over it: query, one and exec all fail with kind "limit"
  local r, err = db:query(big)
  assert(r == nil)
  is_err(err, "limit", "query over max_result")
  assert(err.message:find("max_result", 1, true) and err.message:find("65536", 1, true), err.message)
  r, err = db:one(big)
  assert(r == nil)
  is_err(err, "limit", "one over max_result")
  r, err = db:exec(big)
  assert(r == nil)
  is_err(err, "limit", "exec over max_result")
  -- the pool goes on (both connections were recycled after the cancel)
  for i = 1, 6 do assert(db:one("SELECT $1::int AS i", i).i == i) end
  assert(db:stats().total <= 2)

  -- inside a transaction
  local a, terr = db:tx(function(tx) return tx:query(big) end)
  assert(a == nil)
  is_err(terr, "limit", "tx query over max_result")
  assert(db:one("SELECT 2 AS two").two == 2)

  -- the default lets a 1 MB result through
  local db2 = sql.open(dsn)
  assert(#assert(db2:query("SELECT repeat('y', 1000) AS y FROM generate_series(1, 1000)")) == 1000)

  -- under max_result but over the runbook's 32 MiB memory cap
  local db3 = sql.open(dsn, { max_result = "512MiB" })
  r, err = db3:query("SELECT g, repeat('z', 200) AS pad FROM generate_series(1, 300000) g")
  assert(r == nil)
  is_err(err, "limit", "rows over the memory cap")
  assert(err.message:find("memory", 1, true), err.message)
  assert(db3:one("SELECT 3 AS three").three == 3)

  -- the other kinds are error values too
  r, err = db:query("SELECT * FROM no_such_table_max_result")
  is_err(err, "query", "undefined table")
  assert(err.sqlstate == "42P01")
  r, err = sql.open(env("PGTEST_BAD_DSN")):query("SELECT 1")
  is_err(err, "auth", "bad password")
  r, err = sql.open(env("PGTEST_DEAD_DSN"), { timeout = 5 }):query("SELECT 1")
  is_err(err, "connect", "nobody listening")
  r, err = sql.open(dsn, { timeout = 0.2 }):query("SELECT pg_sleep(5)")
  is_err(err, "timeout", "timeout")
  -- cancelled by another session: kind "canceled"
  local dbc = sql.open(dsn, { max = 2 })
  local victim_pid
  local t = task.spawn(function()
    return dbc:tx(function(tx)
      local me = assert(tx:one("SELECT pg_backend_pid() AS pid"))
      victim_pid = me.pid
      return tx:query("SELECT pg_sleep(10)")
    end)
  end)
  for _ = 1, 100 do
    if victim_pid then break end
    time.sleep(0.05)
  end
  assert(victim_pid, "the transaction did not start")
  time.sleep(0.2)
  assert(db:one("SELECT pg_cancel_backend($1) AS ok", victim_pid).ok == true)
  local tok, cr, cerr = t:wait()
  assert(tok and cr == nil, tostring(cr))
  is_err(cerr, "canceled", "cancelled by another session")
  r, err = db:exec("COPY (SELECT 1) TO STDOUT")
  is_err(err, "query", "COPY TO STDOUT")
  local ok, perr = pcall(sql.open, dsn, { max_result = 0 })
  assert(not ok and tostring(perr):find("max_result"), tostring(perr))
  print("max_result ok")
end }
