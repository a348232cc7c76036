#!/usr/bin/env bash
# --dry-run sends a statement only when the server's own analysis of it shows
# a plain read: each way around a name deny-list is attempted here and checked
# from the server side.  A user function that calls pg_terminate_backend (SQL
# and an IMMUTABLE plpgsql one, which a planner would run while planning), a
# U&"..." spelling of pg_terminate_backend, pg_notify, nextval and (with a
# superuser DSN) COPY ... TO PROGRAM, a view over the function, and SQL run
# by a built-in (query_to_xml, table_to_xml on that view) must leave the victim session alive, no
# notification delivered, the sequence where it was and no file written; each
# is listed as an action.  The playbook's diagnosis reads still run for real.
set -u
: "${TOCSIN:?}" "${BUILD:?}"
[ -f "$BUILD/pg.env" ] || { echo "no $BUILD/pg.env: run tests/pg/start.sh"; exit 1; }
. "$BUILD/pg.env"
tmp=$(mktemp -d)
chmod 755 "$tmp"
T="byp_$$_$RANDOM"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  exec 3>&- 4>&- 2>/dev/null
  "$PGTEST_BIN/psql" -X -q "$PGTEST_DSN" -c "DROP TABLE IF EXISTS $T; DROP SEQUENCE IF EXISTS ${T}_seq;
    DROP VIEW IF EXISTS ${T}_v; DROP FUNCTION IF EXISTS ${T}_kill(); DROP FUNCTION IF EXISTS ${T}_kill_imm()" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }
q() { "$PGTEST_BIN/psql" -X -q -At "$PGTEST_DSN" -c "$1"; }
victims() { q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '${T}_victim'"; }

q "CREATE TABLE $T (id int PRIMARY KEY, note text); INSERT INTO $T VALUES (1, 'one');
   CREATE SEQUENCE ${T}_seq;
   CREATE FUNCTION ${T}_kill() RETURNS int LANGUAGE sql AS
     \$\$ SELECT count(*)::int FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = '${T}_victim') s \$\$;
   CREATE FUNCTION ${T}_kill_imm() RETURNS int IMMUTABLE LANGUAGE plpgsql AS
     \$\$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = '${T}_victim'; RETURN 1; END \$\$;
   CREATE VIEW ${T}_v AS SELECT ${T}_kill() AS n;" >/dev/null || fail "setup"

# The victim: an idle psql session fed from a fifo; the listener: LISTEN on a channel.
mkfifo "$tmp/victim" "$tmp/listener"
PGAPPNAME=${T}_victim "$PGTEST_BIN/psql" -X -q "$PGTEST_DSN" <"$tmp/victim" >"$tmp/victim.out" 2>&1 &
pids+=($!)
exec 3>"$tmp/victim"
"$PGTEST_BIN/psql" -X -q "$PGTEST_DSN" <"$tmp/listener" >"$tmp/listener.out" 2>&1 &
pids+=($!)
exec 4>"$tmp/listener"
echo "SELECT 1;" >&3
echo "LISTEN ${T}_chan;" >&4
for _ in $(seq 50); do [ "$(victims)" = 1 ] && break; sleep 0.1; done
[ "$(victims)" = 1 ] || fail "the victim session did not connect"

SU_DSN="host=$PGTEST_DIR port=$PGTEST_PORT user=postgres dbname=tocsin"
cat >"$tmp/rb.lua" <<'LUA'
local T = env("T")
local db = sql.open(env("PGTEST_DSN"))
local su = sql.open(env("SU_DSN"))
local function skipped(r, err, what)
  assert(r, what .. ": " .. tostring(err))
  assert(r.dry_run == true, what .. ": was sent (no dry_run mark)")
end
local victim = "WHERE application_name = '" .. T .. "_victim'"
skipped(db:query("SELECT " .. T .. "_kill() AS n"), nil, "user function")
skipped(db:query("SELECT " .. T .. "_kill_imm() AS n"), nil, "immutable plpgsql function")
skipped(db:query([[SELECT U&"pg_termin\0061te_backend"(pid) FROM pg_stat_activity ]] .. victim), nil, "U& spelling")
skipped(db:query("SELECT pg_notify('" .. T .. "_chan', 'dry')"), nil, "pg_notify")
skipped(db:query("SELECT nextval('" .. T .. "_seq') AS v"), nil, "nextval")
skipped(db:query("SELECT n FROM " .. T .. "_v"), nil, "view")
skipped(db:query("SELECT query_to_xml('SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
  .. victim:gsub("'", "''") .. "', true, true, '')"), nil, "query_to_xml")
skipped(db:query("SELECT table_to_xml('" .. T .. "_v'::regclass, true, true, '')"), nil, "table_to_xml")
local n, err = su:exec("COPY (SELECT 1) TO PROGRAM 'touch " .. env("OUTFILE") .. "'")
assert(n == 0, "COPY TO PROGRAM: " .. tostring(n) .. " " .. tostring(err))
-- inside db:tx the same refusals apply
assert(db:tx(function(tx)
  skipped(tx:query("SELECT " .. T .. "_kill() AS n"), nil, "tx user function")
  return true
end))
-- the playbook's diagnosis reads run for real (not listed as actions)
local c = assert(db:one("SELECT count(*) FROM pg_stat_activity"))
assert(c.count >= 2, "count " .. tostring(c.count))
local rows = assert(db:query("SELECT pid, state, query FROM pg_stat_activity " .. victim))
assert(#rows == 1 and rows.dry_run == nil, "victim rows " .. #rows)
local size = assert(db:one("SELECT pg_database_size(current_database()) AS b"))
assert(size.b > 0)
assert(db:one("SELECT note FROM " .. T .. " WHERE id = $1", 1).note == "one")
assert(db:one("SELECT 1 AS one").one == 1)
print("SCRIPT-DONE")
LUA

OUTFILE="$PGTEST_DIR/${T}_copied"
PGTEST_DSN="$PGTEST_DSN" SU_DSN="$SU_DSN" T="$T" OUTFILE="$OUTFILE" \
  "$TOCSIN" run "$tmp/rb.lua" --dry-run --yes >"$tmp/out" 2>&1
rc=$?
sleep 0.3
# Server side first: nothing happened.
[ "$(victims)" = 1 ] || fail "the victim session was terminated"
[ ! -e "$OUTFILE" ] || { rm -f "$OUTFILE"; fail "COPY TO PROGRAM ran (the file was written)"; }
[ "$(q "SELECT is_called FROM ${T}_seq")" = f ] || fail "the sequence advanced"
echo "SELECT 2;" >&4
sleep 0.3
grep -q "notification" "$tmp/listener.out" && fail "a NOTIFY arrived: $(cat "$tmp/listener.out")"
[ $rc = 0 ] || fail "dry run exited $rc"
grep -q SCRIPT-DONE "$tmp/out" || fail "script did not finish"
# Each attempt is listed as an action.
for s in "${T}_kill() AS n" "${T}_kill_imm()" 'U&"pg_termin\0061te_backend"(pid)' "pg_notify('${T}_chan'" \
  "nextval('${T}_seq')" "COPY (SELECT 1) TO PROGRAM" "SELECT n FROM ${T}_v" "SELECT query_to_xml(" \
  "SELECT table_to_xml("; do
  grep -F "$s" "$tmp/out" | grep -q "sql" || fail "not listed as an action: $s"
done
[ "$(grep -cF "${T}_kill() AS n" "$tmp/out")" -ge 2 ] || fail "the tx attempt was not listed"
grep -qF "SELECT count(*) FROM pg_stat_activity" "$tmp/out" && fail "a diagnosis read was listed as an action"
grep -qF "pg_database_size" "$tmp/out" && fail "pg_database_size was listed as an action"
cat "$tmp/out"; echo PASS
