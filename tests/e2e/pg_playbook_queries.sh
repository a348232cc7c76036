#!/usr/bin/env bash
# The playbook's own SQL, as written in the seed (Scenario "high latency",
# diagnosis step 3 and resolution step 1), against real sessions: three idle
# psql clients held open on fifos are counted in pg_stat_activity, compared
# with max_connections, and terminated by the idle-connection query (with the
# interval shortened from 5 minutes to 2 seconds); the psql processes then
# find their connection gone.  First as a dry run: the diagnosis reads run
# for real, the terminating query is listed and not sent, and the three
# sessions survive it.  Own server: the query terminates every idle
# connection, which would disturb other tests sharing the fixture.
set -u
: "${TOCSIN:?}" "${SRC:?}"
tmp=$(mktemp -d)
export BUILD="$tmp"
psql_pids=()
cleanup() {
  for p in "${psql_pids[@]}"; do kill "$p" 2>/dev/null; done
  exec 3>&- 4>&- 5>&- 2>/dev/null
  bash "$SRC/tests/pg/stop.sh" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }
bash "$SRC/tests/pg/start.sh" >"$tmp/start.log" 2>&1 || { cat "$tmp/start.log"; fail "could not start postgres"; }
. "$tmp/pg.env"
PSQL="$PGTEST_BIN/psql"
count_idle() {
  "$PSQL" -X -At "$PGTEST_DSN" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'playbook_idle'"
}

# Three idle sessions: psql reading commands from a fifo we keep open.
for i in 1 2 3; do
  mkfifo "$tmp/fifo$i"
  PGAPPNAME=playbook_idle "$PSQL" -X -q "$PGTEST_DSN" <"$tmp/fifo$i" >"$tmp/psql$i.out" 2>&1 &
  psql_pids+=($!)
  eval "exec $((i + 2))>\"$tmp/fifo$i\""
  echo "SELECT 1;" >&$((i + 2))
done
for _ in $(seq 50); do [ "$(count_idle)" = 3 ] && break; sleep 0.1; done
[ "$(count_idle)" = 3 ] || fail "the idle psql sessions did not connect"

cat >"$tmp/rb.lua" <<'LUA'
local dry = env("DRY") == "1"
local db = sql.open(env("PGTEST_DSN"), { max = 2 })
-- "SELECT count(*) FROM pg_stat_activity;" (as written in the playbook)
local c = assert(db:one("SELECT count(*) FROM pg_stat_activity;"))
local max = assert(db:one("SHOW max_connections"))
local max2 = assert(db:one("SELECT current_setting('max_connections')::int AS max"))
assert(tonumber(max.max_connections) == max2.max and max2.max == 100, json.encode(max))
-- at least our own session and the three idle psql clients (plus background workers)
assert(math.type(c.count) == "integer" and c.count >= 4, "count " .. tostring(c.count))
local pct = 100 * c.count / max2.max
print(string.format("connections: %d of %d (%.0f%%)%s", c.count, max2.max, pct,
  pct > 80 and " -> pool exhausted" or ""))
local idle = assert(db:one("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'playbook_idle' AND state = 'idle'"))
assert(idle.n == 3, "idle psql sessions seen: " .. idle.n)
time.sleep(2.5)
-- the playbook's resolution query, with INTERVAL '5 minutes' shortened to 2 seconds
local killed = assert(db:query([[
 SELECT pg_terminate_backend(pid)
 FROM pg_stat_activity
 WHERE state = 'idle' AND state_change < NOW() - INTERVAL '2 seconds';
 ]]))
local n = 0
for _, r in ipairs(killed) do assert(r.pg_terminate_backend == true); n = n + 1 end
if dry then
  assert(killed.dry_run == true and n == 0, "dry run: the terminating query was sent")
  local still = assert(db:one("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'playbook_idle'"))
  assert(still.n == 3, "dry run: idle sessions left: " .. still.n)
  print("DRY-DONE")
  return
end
-- the three psql sessions, plus our own pool's second connection if it idled that long
assert(n >= 3, "terminated " .. n)
time.sleep(0.5)
local left = assert(db:one("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'playbook_idle'"))
assert(left.n == 0, "idle sessions left: " .. left.n)
-- our pool survives having its own idle connections terminated
for i = 1, 5 do assert(db:one("SELECT $1::int AS i", i)) end
print("TERMINATED", n)
LUA

DRY=1 "$TOCSIN" run "$tmp/rb.lua" --dry-run --yes >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "dry run exited $rc"
grep -q '^DRY-DONE' "$tmp/out" || fail "dry run did not finish"
[ "$(count_idle)" = 3 ] || fail "the dry run terminated idle sessions"
grep -q 'would sql: SELECT pg_terminate_backend(pid) FROM pg_stat_activity' "$tmp/out" ||
  fail "the terminating query is not listed as an action"
grep -q 'would sql: SELECT count' "$tmp/out" && fail "a diagnosis read was listed as an action"

"$TOCSIN" run "$tmp/rb.lua" --yes >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "runbook exited $rc"
grep -q '^TERMINATED' "$tmp/out" || fail "script did not finish"
[ "$(count_idle)" = 0 ] || fail "idle sessions still in pg_stat_activity"
# The clients themselves find out on their next command.
for i in 1 2 3; do
  echo "SELECT 2;" >&$((i + 2)) 2>/dev/null
  eval "exec $((i + 2))>&-"
done
for i in 0 1 2; do
  wait "${psql_pids[$i]}"
  rc=$?
  [ $rc != 0 ] || fail "psql $((i + 1)) exited 0: its connection was not terminated"
  grep -qi "terminat\|connection" "$tmp/psql$((i + 1)).out" || fail "psql $((i + 1)) did not report the lost connection"
done
psql_pids=()
cat "$tmp/out"
echo PASS
