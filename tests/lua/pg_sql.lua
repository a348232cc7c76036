-- SQL primitive against the fixture's PostgreSQL: typed values and NULL,
-- parameters, error kinds and SQLSTATEs, injection, transactions, one-shot
-- queries, and that neither DSN nor password ever shows up in an error.
local dsn = assert(env("PGTEST_DSN"), "PGTEST_DSN not set (tests/pg/start.sh)")
local password = env("PGTEST_PASSWORD")
local db = sql.open(dsn, { max = 4, timeout = 10 })

local function ok(v, err)
  if v == nil and err ~= nil then error(tostring(err), 2) end
  return v
end

local function no_secret(err)
  local s = tostring(err) .. " " .. tostring(err.message) .. " " .. tostring(err.detail)
  assert(not s:find(password, 1, true), "password leaked: " .. s)
  assert(not s:find(dsn, 1, true), "dsn leaked: " .. s)
end

-- Each test gets its own tables (several pg_ tests may share the server).
local T = "t_sql_" .. tostring(math.floor(time.now() * 1000) % 100000000)
local function cleanup()
  db:exec("DROP TABLE IF EXISTS " .. T .. "_types, " .. T .. "_etps, " .. T .. "_tx")
end

local function types()
  ok(db:exec([[CREATE TABLE ]] .. T .. [[_types (
    i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, b bool,
    j json, jb jsonb, t text, v varchar(20), ts timestamptz, o oid)]]))
  local n = ok(db:exec("INSERT INTO " .. T .. "_types VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    -32768, 2147483647, 9007199254740993, 1.5, 0.1, "12345678901234567890.123456789", true,
    { a = 1, list = { 1, 2, 3 } }, { nested = { ok = true } }, "olá 'quoted' \"text\"", "vc",
    "2024-01-02 03:04:05+00", 4000000000))
  assert(n == 1, "insert count " .. tostring(n))
  local rows = ok(db:query("SELECT * FROM " .. T .. "_types"))
  assert(#rows == 1)
  local r = rows[1]
  assert(math.type(r.i2) == "integer" and r.i2 == -32768)
  assert(math.type(r.i4) == "integer" and r.i4 == 2147483647)
  assert(math.type(r.i8) == "integer" and r.i8 == 9007199254740993, "int8 exact: " .. tostring(r.i8))
  assert(math.type(r.f4) == "float" and r.f4 == 1.5)
  assert(math.type(r.f8) == "float" and r.f8 == 0.1, "float8: " .. tostring(r.f8))
  assert(r.n == "12345678901234567890.123456789", "numeric as exact string: " .. tostring(r.n))
  assert(r.b == true)
  assert(type(r.j) == "table" and r.j.a == 1 and r.j.list[3] == 3)
  assert(type(r.jb) == "table" and r.jb.nested.ok == true)
  assert(r.t == "olá 'quoted' \"text\"")
  assert(r.v == "vc")
  assert(type(r.ts) == "string" and r.ts:find("^2024%-01%-02"), tostring(r.ts))
  assert(math.type(r.o) == "integer" and r.o == 4000000000)
  -- columns in order
  local want = { "i2", "i4", "i8", "f4", "f8", "n", "b", "j", "jb", "t", "v", "ts", "o" }
  for i, c in ipairs(want) do assert(rows.columns[i] == c, "column " .. i) end

  -- false, special floats, json null / scalar
  local s = ok(db:one([[SELECT false AS f, 'NaN'::float8 AS nan, 'Infinity'::float8 AS inf,
    '-Infinity'::float4 AS ninf, 'null'::jsonb AS jn, '"str"'::json AS js, ''::text AS empty]]))
  assert(s.f == false)
  assert(s.nan ~= s.nan)
  assert(s.inf == math.huge and s.ninf == -math.huge)
  assert(s.jn == json.null)
  assert(s.js == "str")
  assert(s.empty == "")
end

local function nulls()
  ok(db:exec("INSERT INTO " .. T .. "_types (i4, t, jb) VALUES ($1, $2, $3)", nil, json.null, nil))
  local r = ok(db:one("SELECT i4, t, jb, b FROM " .. T .. "_types WHERE i4 IS NULL"))
  assert(r.i4 == json.null and r.t == json.null and r.jb == json.null and r.b == json.null)
  -- trailing nils still count as parameters
  local x = ok(db:one("SELECT $1::int AS a, $2::text AS b, $3::bool AS c", 5, nil, nil))
  assert(x.a == 5 and x.b == json.null and x.c == json.null)
  -- booleans, integral floats and JSON arrays as parameters
  local y = ok(db:one("SELECT $1::bool AS t, $2::bool AS f, $3::int AS i, $4::jsonb AS arr, $5::float8 AS fl",
    true, false, 3.0, { 1, "two", json.null }, 2.5))
  assert(y.t == true and y.f == false and y.i == 3 and y.fl == 2.5)
  assert(y.arr[1] == 1 and y.arr[2] == "two" and y.arr[3] == json.null)
  -- no row
  assert(db:one("SELECT 1 WHERE false") == nil)
  local empty = ok(db:query("SELECT 1 AS a WHERE false"))
  assert(#empty == 0 and empty.columns[1] == "a")
end

local function errors()
  local r, err = db:query("SELEC 1")
  assert(r == nil and err.kind == "query" and err.sqlstate == "42601", tostring(err))
  assert(err.message:find("syntax error"), err.message)
  assert(tostring(err):find("query:"))
  ok(db:exec("CREATE TABLE " .. T .. "_etps (id int PRIMARY KEY, title text NOT NULL)"))
  ok(db:exec("INSERT INTO " .. T .. "_etps VALUES (1, 'first')"))
  local n, e2 = db:exec("INSERT INTO " .. T .. "_etps VALUES (1, 'dup')")
  assert(n == nil and e2.kind == "query" and e2.sqlstate == "23505", tostring(e2))
  assert(e2.detail and e2.detail:find("already exists"), tostring(e2.detail))
  -- hint from the server
  local _, e3 = db:query("SELECT * FROM " .. T .. "_etps WHERE titl = 'x'")
  assert(e3.sqlstate == "42703", tostring(e3))
  assert(e3.hint == nil or type(e3.hint) == "string")
  local _, e4 = db:query("SELECT nosuchfunction(1)")
  assert(e4.sqlstate == "42883" and type(e4.hint) == "string", "hint expected: " .. tostring(e4.hint))
  -- one with an error gives nil, err
  local o, e5 = db:one("SELECT 1/0")
  assert(o == nil and e5.sqlstate == "22012")
  -- a wrong parameter count is the caller's mistake, not a lost connection
  local _, e6 = db:query("SELECT $1::int AS a, $2::int AS b", 1)
  assert(e6 and e6.kind == "query" and e6.sqlstate == "08P01", tostring(e6))
  -- wrong argument types raise
  assert(not pcall(db.query, db, {}))
  assert(not pcall(db.query, db, "SELECT $1", function() end))
  assert(not pcall(sql.open, "postgres://[broken"))
  -- the pool still works after errors
  assert(ok(db:one("SELECT 1 AS one")).one == 1)
end

local function injection()
  local evil = "'; DROP TABLE " .. T .. "_etps; --"
  ok(db:exec("INSERT INTO " .. T .. "_etps (id, title) VALUES ($1, $2)", 2, evil))
  local r = ok(db:one("SELECT title FROM " .. T .. "_etps WHERE id = $1", 2))
  assert(r.title == evil, "stored verbatim")
  local c = ok(db:one("SELECT count(*) AS n FROM " .. T .. "_etps"))
  assert(c.n == 2, "table still there with its rows")
  -- a parameter is never SQL, even where it looks like it
  local q = ok(db:query("SELECT $1::text AS v", "1; DROP TABLE " .. T .. "_etps"))
  assert(q[1].v == "1; DROP TABLE " .. T .. "_etps")
  -- two statements in one call are refused (extended protocol), nothing runs
  local n, err = db:exec("DELETE FROM " .. T .. "_etps WHERE id = $1; DROP TABLE " .. T .. "_etps", 1)
  assert(n == nil and err.kind == "query", tostring(err))
  assert(ok(db:one("SELECT count(*) AS n FROM " .. T .. "_etps")).n == 2)
end

local function transactions()
  ok(db:exec("CREATE TABLE " .. T .. "_tx (id int PRIMARY KEY)"))
  -- commit: fn's results come back
  local a, b = db:tx(function(tx)
    ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 1))
    local r = ok(tx:one("SELECT count(*) AS n FROM " .. T .. "_tx"))
    return "done", r.n
  end)
  assert(a == "done" and b == 1, tostring(a) .. " " .. tostring(b))
  -- rollback on error, error re-raised
  local okk, err = pcall(db.tx, db, function(tx)
    ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 2))
    ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 3))
    error("boom")
  end)
  assert(not okk and tostring(err):find("boom"), tostring(err))
  -- rollback when the statement fails inside and fn raises it
  okk = pcall(db.tx, db, function(tx)
    ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 4))
    ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 1)) -- duplicate: raises through ok()
  end)
  assert(not okk)
  -- rollback and nil, err when fn returns nil, err
  local r, e = db:tx(function(tx)
    ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 5))
    return tx:exec("INSERT INTO " .. T .. "_tx VALUES ($1)", 1)
  end)
  assert(r == nil and e.sqlstate == "23505", tostring(e))
  local rows = ok(db:query("SELECT id FROM " .. T .. "_tx ORDER BY id"))
  assert(#rows == 1 and rows[1].id == 1, "only the committed row: " .. #rows)
  -- a tx object outside its function raises
  local kept
  db:tx(function(tx) kept = tx end)
  assert(not pcall(kept.query, kept, "SELECT 1"))
  -- concurrent transactions do not see each other's uncommitted rows
  local t1 = task.spawn(function()
    return db:tx(function(tx)
      ok(tx:exec("INSERT INTO " .. T .. "_tx VALUES (100)"))
      time.sleep(0.3)
      return true
    end)
  end)
  time.sleep(0.1)
  assert(ok(db:one("SELECT count(*) AS n FROM " .. T .. "_tx WHERE id = 100")).n == 0)
  assert(t1:wait())
  assert(ok(db:one("SELECT count(*) AS n FROM " .. T .. "_tx WHERE id = 100")).n == 1)
  -- no connection left inside a transaction
  local st = db:stats()
  assert(st.busy == 0 and st.waiting == 0, json.encode(st))
end

local function one_shot()
  local rows = ok(sql.query(dsn, "SELECT $1::int + 1 AS v", 41))
  assert(rows[1].v == 42)
end

local function failures()
  -- wrong password -> auth
  local bad = sql.open(env("PGTEST_BAD_DSN"), { timeout = 5 })
  local r, err = bad:query("SELECT 1")
  assert(r == nil and err.kind == "auth", "auth expected: " .. tostring(err))
  no_secret(err)
  local bad_pw = env("PGTEST_BAD_DSN"):match("^postgres://[^:]+:([^@]+)@")
  assert(not tostring(err):find(bad_pw, 1, true))
  -- nothing listening -> connect
  local dead = sql.open(env("PGTEST_DEAD_DSN"), { timeout = 5 })
  local t0 = time.monotonic()
  local r2, err2 = dead:query("SELECT 1")
  assert(r2 == nil and err2.kind == "connect", "connect expected: " .. tostring(err2))
  assert(time.monotonic() - t0 < 3, "refused quickly")
  no_secret(err2)
  -- and concurrent waiters on a dead server all get their error
  local ts = {}
  for i = 1, 8 do ts[i] = task.spawn(function() return dead:query("SELECT 1") end) end
  for i = 1, 8 do
    local okk, v, e = ts[i]:wait()
    assert(okk and v == nil and e.kind == "connect", tostring(e))
  end
  -- a database that does not exist is not an auth problem
  local nodb = sql.open((dsn:gsub("/tocsin$", "/no_such_db")), { timeout = 5 })
  local r3, err3 = nodb:query("SELECT 1")
  assert(r3 == nil and err3.kind == "connect", tostring(err3))
  -- a host name is resolved off the loop (localhost: ::1 refused, then 127.0.0.1)
  local byname = sql.open((dsn:gsub("@127%.0%.0%.1:", "@localhost:")), { timeout = 5 })
  assert(ok(byname:one("SELECT 1 AS one")).one == 1)
  local noname = sql.open((dsn:gsub("@127%.0%.0%.1:", "@no-such-host.invalid:")), { timeout = 5 })
  local r4, err4 = noname:one("SELECT 1")
  assert(r4 == nil and err4.kind == "connect" and err4.message:find("resolve"), tostring(err4))
  no_secret(err4)
  -- tostring(db) does not show the DSN
  assert(not tostring(db):find(password, 1, true))
end

local okk, err = pcall(function()
  types()
  nulls()
  errors()
  injection()
  transactions()
  one_shot()
  failures()
end)
cleanup()
assert(okk, err)
print("pg_sql: all checks passed")
