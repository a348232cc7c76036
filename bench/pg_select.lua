-- bench/pg_select.lua — pgbench -S's transaction from Tocsin: C tasks, each
-- running `SELECT abalance FROM pgbench_accounts WHERE aid = $1` with a random
-- aid through a pool of C connections for DURATION seconds.  Prints
-- "tocsin_tps <n>" for bench/pgbench.sh.
-- Env: PGBENCH_DSN, C (16), DURATION (10), ACCOUNTS (100000 x scale), STATEMENT_CACHE.
local dsn = assert(env("PGBENCH_DSN"), "PGBENCH_DSN not set")
local C = tonumber(env("C", "16"))
local DURATION = tonumber(env("DURATION", "10"))
local ACCOUNTS = tonumber(env("ACCOUNTS", "100000"))
-- STATEMENT_CACHE: sql.open's statement_cache ("false", a number; unset: the default).
local sc = env("STATEMENT_CACHE", "")
local opts = { max = C, timeout = 30 }
if sc == "false" then opts.statement_cache = false elseif sc ~= "" then opts.statement_cache = tonumber(sc) end
local db = sql.open(dsn, opts)

-- Connect the whole pool first, as pgbench does before its clock starts.
local warm = {}
for i = 1, C do warm[i] = task.spawn(function() return assert(db:one("SELECT 1 AS x")) end) end
for i = 1, C do assert(warm[i]:wait()) end

local deadline = time.monotonic() + DURATION
local counts = {}
local tasks = {}
local t0 = time.monotonic()
for i = 1, C do
  tasks[i] = task.spawn(function()
    local n = 0
    local random = math.random
    while time.monotonic() < deadline do
      local row, err = db:one("SELECT abalance FROM pgbench_accounts WHERE aid = $1", random(1, ACCOUNTS))
      if not row then error(tostring(err)) end
      n = n + 1
    end
    counts[i] = n
  end)
end
for i = 1, C do assert(tasks[i]:wait()) end
local elapsed = time.monotonic() - t0
local total = 0
for i = 1, C do total = total + counts[i] end
print(string.format("tocsin_tps %.1f (%d queries in %.2f s, %d tasks, pool of %d)",
  total / elapsed, total, elapsed, C, C))
