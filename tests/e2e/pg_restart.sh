#!/usr/bin/env bash
# A PostgreSQL restart in the middle of a run: the pool drops the dead
# connections and the next query reconnects and succeeds (fast and immediate
# shutdowns, with queries in flight and a transaction open); while the server
# is down queries fail with kind "connect" and recover once it is back.
# Uses its own server: restarting the shared fixture would disturb other tests.
set -u
: "${TOCSIN:?}" "${SRC:?}"
tmp=$(mktemp -d)
export BUILD="$tmp"
cleanup() { bash "$SRC/tests/pg/stop.sh" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }
bash "$SRC/tests/pg/start.sh" >"$tmp/start.log" 2>&1 || { cat "$tmp/start.log"; fail "could not start postgres"; }
. "$tmp/pg.env"

cat >"$tmp/rb.lua" <<'LUA'
local ctl = env("PGTEST_CTL")
local db = sql.open(env("PGTEST_DSN"), { max = 4, timeout = 10 })

local function fill_pool()
  local ts = {}
  for i = 1, 8 do ts[i] = task.spawn(function() return assert(db:one("SELECT pg_sleep(0.05), $1::int AS i", i)) end) end
  for i = 1, 8 do assert(ts[i]:wait()) end
  local st = db:stats()
  assert(st.total == 4 and st.idle == 4, json.encode(st))
end

local function pids()
  local r = assert(db:query("SELECT pg_postmaster_start_time()::text AS t"))
  return r[1].t
end

for _, mode in ipairs({ "fast", "immediate" }) do
  fill_pool()
  local before = pids()
  -- queries keep going from other tasks while the server restarts
  local stop = false
  local failures, successes = 0, 0
  local workers = {}
  for i = 1, 4 do
    workers[i] = task.spawn(function()
      while not stop do
        local r, err = db:one("SELECT $1::int AS i", i)
        if r then successes = successes + 1 else
          assert(err.kind == "connect" or err.kind == "query", tostring(err))
          failures = failures + 1
          time.sleep(0.05)
        end
      end
    end)
  end
  time.sleep(0.2)
  local res = assert(shell.sh(ctl .. " restart -m " .. mode))
  assert(res.ok, "pg_ctl restart failed: " .. res.stdout .. res.stderr)
  time.sleep(0.2)
  -- the next query after the restart succeeds, on every pooled connection
  for i = 1, 20 do
    local r, err = db:one("SELECT $1::int AS i", i)
    assert(r and r.i == i, mode .. ": query " .. i .. " after restart: " .. tostring(err))
  end
  stop = true
  for i = 1, 4 do assert(workers[i]:wait()) end
  assert(pids() ~= before, "the server did restart")
  print(string.format("%s restart: %d queries ok, %d failed while it was down", mode, successes, failures))
  local st = db:stats()
  assert(st.total <= 4 and st.busy == 0 and st.waiting == 0, json.encode(st))
end

-- an open transaction when the server goes away: it fails, the next one works
fill_pool()
local r, err = db:tx(function(tx)
  assert(tx:exec("CREATE TEMP TABLE x (i int)"))
  assert(assert(shell.sh(ctl .. " restart -m fast")).ok)
  return tx:exec("INSERT INTO x VALUES (1)")
end)
assert(r == nil and err.kind == "connect", "tx across a restart: " .. tostring(err))
assert(db:one("SELECT 1 AS one").one == 1)

-- server down: connect errors; back up: works again
assert(shell.sh(ctl .. " stop -m fast").ok)
local r2, err2 = db:one("SELECT 1 AS one")
assert(r2 == nil and err2.kind == "connect", "server down: " .. tostring(err2))
assert(shell.sh(ctl .. " start").ok)
local r3, err3 = db:one("SELECT 1 AS one")
assert(r3 and r3.one == 1, "after start: " .. tostring(err3))
print("SCRIPT-DONE")
LUA

"$TOCSIN" run "$tmp/rb.lua" --yes >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "runbook exited $rc"
grep -q SCRIPT-DONE "$tmp/out" || fail "script did not finish"
cat "$tmp/out"
echo PASS
