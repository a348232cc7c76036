#!/usr/bin/env bash
# A dry run's statements run in a READ ONLY transaction, but
# PostgreSQL lets a read-only transaction signal other backends, so the
# playbook's resolution query (SELECT pg_terminate_backend(pid) ...) really
# terminated sessions under --dry-run.  Such calls are now listed, not sent.
set -u
: "${TOCSIN:?}" "${BUILD:?}"
[ -f "$BUILD/pg.env" ] || { echo "no $BUILD/pg.env: run tests/pg/start.sh"; exit 1; }
. "$BUILD/pg.env"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }

cat >"$tmp/rb.lua" <<'LUA'
local dsn = env("PGTEST_DSN")
local victim = sql.open(dsn .. "?application_name=review2_victim", { max = 1 })
local me = assert(victim:one("SELECT pg_backend_pid() AS pid")).pid
local db = sql.open(dsn, { max = 1 })
local function suppressed(label, q)
  local rows, err = db:query(q, me)
  assert(rows, label .. ": " .. tostring(err))
  assert(rows.dry_run == true and #rows == 0, label .. ": it ran")
  time.sleep(0.2)
  local still, e2 = victim:one("SELECT pg_backend_pid() AS pid")
  assert(still and still.pid == me, label .. ": the victim session was terminated " .. tostring(e2))
end
suppressed("terminate", "SELECT pg_terminate_backend($1)")
suppressed("terminate, upper case", "select PG_TERMINATE_BACKEND ( $1::int )")
suppressed("cancel", "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1")
local n = assert(db:exec("SELECT pg_terminate_backend($1)", me))
assert(n == 0, "exec: " .. tostring(n))
assert(db:one("SELECT pg_terminate_backend($1)", me) == nil)
db:tx(function(tx)
  local r = assert(tx:query("SELECT pg_terminate_backend($1)", me))
  assert(r.dry_run)
  assert(tx:one("SELECT 1 AS one").one == 1)
end)
-- reads still run
local r = assert(db:one("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", me))
assert(r.n == 1)
print("SCRIPT-DONE")
LUA

PGTEST_DSN="$PGTEST_DSN" "$TOCSIN" run "$tmp/rb.lua" --dry-run --yes >"$tmp/out" 2>&1 || fail "dry run exited $?"
grep -q SCRIPT-DONE "$tmp/out" || fail "script did not finish"
grep -qF "pg_terminate_backend" "$tmp/out" || fail "terminate not listed as an action"
grep -qF "$PGTEST_PASSWORD" "$tmp/out" && fail "password in the output"
echo PASS
