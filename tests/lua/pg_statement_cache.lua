-- Each connection keeps the statements it ran as named prepared statements
-- (an LRU cache keyed by their text): a repeated statement is parsed once,
-- the cache holds at most statement_cache statements (evicted ones are
-- DEALLOCATEd on the server), statement_cache = false keeps none, and a
-- cached statement whose plan went stale (ALTER TABLE) or that the server no
-- longer holds is retried outside a transaction; inside one its error is
-- returned and the next use parses it anew.
local dsn = assert(env("PGTEST_DSN"), "PGTEST_DSN not set (tests/pg/start.sh)")
local app = "tocsin_sc_" .. tostring(math.floor(time.now() * 1000) % 100000000)
-- One connection per pool, so every statement (and the look at
-- pg_prepared_statements, which shows one session's) runs on the same one.
local function open(name, opts)
  opts.max = 1
  return sql.open(dsn .. "?application_name=" .. app .. "_" .. name, opts)
end

local VIEW = "SELECT name, statement, generic_plans + custom_plans AS runs "
  .. "FROM pg_prepared_statements ORDER BY statement"
-- The statements the connection's server holds, by text (the look itself included).
local function held(db)
  local rows = assert(db:query(VIEW))
  local by = {}
  for _, r in ipairs(rows) do
    assert(not by[r.statement], "prepared twice: " .. r.statement)
    by[r.statement] = r
  end
  return by, #rows
end

-- A repeated statement is parsed once, under a tn_ name, and run by name.
local db = open("default", {})
local A = "SELECT $1::int + 1 AS v"
for i = 1, 5 do assert(assert(db:one(A, i)).v == i + 1) end
local by, n = held(db)
assert(by[A], "the repeated statement is not a prepared statement: " .. json.encode(by))
assert(by[A].name:match("^tn_%x+_%d+$"), by[A].name)
assert(by[A].runs == 5, "runs " .. tostring(by[A].runs))
assert(n == 2 and by[VIEW], json.encode(by))

-- The cache is bounded and evicts the least recently used (not the oldest).
local lru = open("lru", { statement_cache = 3 })
local B, C, D = "SELECT 'b' AS x", "SELECT 'c' AS x", "SELECT 'd' AS x"
assert(lru:one(A, 1))
assert(lru:one(B))
assert(lru:one(C))
assert(lru:one(A, 2)) -- A is now the most recent; B the least
assert(lru:one(D))    -- evicts B
by, n = held(lru)     -- the look evicts C
assert(n == 3, "the cache of 3 holds " .. n .. ": " .. json.encode(by))
assert(by[A] and by[D] and by[VIEW] and not by[B] and not by[C], json.encode(by))
assert(by[A].runs == 2, "A runs " .. tostring(by[A].runs))

-- statement_cache = false: nothing prepared by name, everything still works.
local off = open("off", { statement_cache = false })
for i = 1, 3 do assert(assert(off:one(A, i)).v == i + 1) end
by, n = held(off)
assert(n == 0, "statement_cache = false left " .. n .. " prepared statements: " .. json.encode(by))
-- A later open of the same DSN cannot turn it back on (it describes the server).
local again = open("off", { statement_cache = 8 })
assert(again:one(A, 1))
assert(select(2, held(again)) == 0)

-- A statement that fails to parse is not cached; the connection goes on.
local row, err = db:one("SELEC 1")
assert(not row and err.kind == "query" and err.sqlstate == "42601", tostring(err))
by = held(db)
assert(not by["SELEC 1"])

-- The plan went stale: the table's column changed type between two runs of
-- the same statement.  Outside a transaction it is retried and succeeds.
assert(db:exec("DROP TABLE IF EXISTS sc_t"))
assert(db:exec("CREATE TABLE sc_t (id int PRIMARY KEY, v int)"))
assert(db:exec("INSERT INTO sc_t VALUES (1, 10)"))
local Q = "SELECT * FROM sc_t WHERE id = $1"
assert(assert(db:one(Q, 1)).v == 10)
assert(assert(db:one(Q, 1)).v == 10)
assert(db:exec("ALTER TABLE sc_t ALTER v TYPE text"))
row, err = db:one(Q, 1)
assert(row, "after ALTER TABLE: " .. tostring(err))
assert(row.v == "10", "v is " .. tostring(row.v) .. " (" .. type(row.v) .. ")")
-- Parsed anew on its next use, the stale one deallocated: one statement.
assert(db:one(Q, 1).v == "10")
by = held(db)
assert(by[Q] and by[Q].runs == 1, json.encode(by[Q]))

-- Inside a transaction a failed statement aborts it: no retry, the error is
-- returned (and the transaction rolled back); the next use succeeds.
assert(db:exec("ALTER TABLE sc_t ALTER v TYPE int USING v::int"))
local r, terr = db:tx(function(tx)
  assert(tx:exec("INSERT INTO sc_t VALUES (2, 20)"))
  return tx:one(Q, 1)
end)
assert(r == nil and terr and terr.kind == "query" and terr.sqlstate == "0A000", tostring(terr))
assert(assert(db:one(Q, 1)).v == 10)
assert(db:one("SELECT count(*) AS n FROM sc_t").n == 1, "the transaction was not rolled back")

-- The caller's DEALLOCATE ALL drops the cache's statements too: the cache
-- forgets them (the server's command tag says so), even in a transaction.
assert(db:exec("DEALLOCATE ALL"))
assert(select(2, held(db)) == 1) -- the look alone
assert(assert(db:one(A, 7)).v == 8)
r, terr = db:tx(function(tx)
  assert(tx:exec("DEALLOCATE ALL"))
  return tx:one(A, 1)
end)
assert(r and r.v == 2, tostring(terr))
assert(db:exec("DISCARD ALL"))
assert(assert(db:one(A, 7)).v == 8)

-- A statement the server no longer holds though the cache thinks it does
-- (dropped by name: a pooler that moved us to another backend looks the
-- same): retried outside a transaction.
local name = held(db)[A].name
assert(db:exec("DEALLOCATE " .. name))
row, err = db:one(A, 7)
assert(row and row.v == 8, tostring(err))
assert(assert(db:one(A, 8)).v == 9)
-- Inside one, the error is returned; the statement is parsed anew afterwards.
name = held(db)[A].name
r, terr = db:tx(function(tx)
  assert(tx:exec("DEALLOCATE " .. name))
  return tx:one(A, 1)
end)
assert(r == nil and terr and terr.sqlstate == "26000", tostring(terr))
assert(assert(db:one(A, 9)).v == 10)
by = held(db)
assert(by[A].runs == 1 and by[A].name ~= name, json.encode(by[A]))

-- A connection replaced after its backend died starts with an empty cache.
local victim = assert(db:one("SELECT pg_backend_pid() AS pid")).pid
local admin = sql.open(dsn, { max = 1, statement_cache = false })
assert(admin:one("SELECT pg_terminate_backend($1) AS ok", victim).ok)
for _ = 1, 50 do
  if not admin:one("SELECT 1 AS x FROM pg_stat_activity WHERE pid = $1", victim) then break end
  time.sleep(0.05)
end
assert(assert(db:one(A, 1)).v == 2)
assert(db:one("SELECT pg_backend_pid() AS pid").pid ~= victim)
by, n = held(db)
assert(by[A] and by[A].runs == 1 and n == 3, json.encode(by))
assert(db:exec("DROP TABLE sc_t"))

-- Statements found gone twice so far: still caching.  The third time marks a
-- pooler in transaction mode: the pool stops caching by itself.
assert(db:stats().statement_cache == 64, json.encode(db:stats()))
assert(db:exec("DEALLOCATE " .. held(db)[A].name))
assert(assert(db:one(A, 1)).v == 2)
assert(db:stats().statement_cache == 0, json.encode(db:stats()))
assert(assert(db:one(B)).x == "b")
by = held(db)
assert(not by[B], "cached after the cache went off")

-- Bad option values are misuse.
local ok, msg = pcall(sql.open, dsn, { statement_cache = -1 })
assert(not ok and tostring(msg):match("statement_cache"), tostring(msg))
ok, msg = pcall(sql.open, dsn, { statement_cache = 1.5 })
assert(not ok and tostring(msg):match("statement_cache"), tostring(msg))
print("ok")
