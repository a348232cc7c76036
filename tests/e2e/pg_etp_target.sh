#!/bin/bash
# The simulated ETP Express on a real PostgreSQL (dsn=...): its tables are
# created and seeded, the API reads and writes them, data corruption garbles
# real rows (found by the playbook's own query), a broken users table makes
# login fail and `SELECT count(*) FROM users` error, and a backup restores
# both; the local adapter's psql() runs the playbook's queries with the
# backend's DATABASE_URL.  Own server: the test drops and renames tables.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
export BUILD="$WORK/pg"
mkdir -p "$BUILD"
_pgstop() { bash "$SRC/tests/pg/stop.sh" >/dev/null 2>&1; }
trap '_pgstop; _cleanup' EXIT
bash "$SRC/tests/pg/start.sh" >"$WORK/pg-start.log" 2>&1 || { cat "$WORK/pg-start.log"; fail "postgres"; }
. "$BUILD/pg.env"
q() { psql "$PGTEST_DSN" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }

start_etp_target --set dsn="$PGTEST_DSN"
B=$ETP_BACKEND
[ "$(q 'SELECT count(*) FROM etps')" = 6 ] || fail "etps not seeded"
[ "$(q 'SELECT count(*) FROM users')" = 2 ] || fail "users not seeded"
curl -s "$B/api/health" | grep -q '"database":"healthy"' || fail "health on postgres"
TOK=$(etp_login); [ -n "$TOK" ] || fail "login against the users table"
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q 'Serviços de limpeza' || fail "etps from postgres"
[ "$(http_status "$B/api/sections/2/generate" -X POST -H "Authorization: Bearer $TOK")" = 201 ] || fail "generate"
[ "$(q 'SELECT count(*) FROM sections WHERE etp_id = 2')" = 1 ] || fail "section not stored"
[ "$(http_status "$B/api/sections/999/generate" -X POST -H "Authorization: Bearer $TOK")" = 500 ] \
  || fail "a section for a missing ETP (foreign key) is not an error"

# data corruption, partial: the playbook's query finds the three rows
BK=$(etp_ctl /_backup | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
[ "$BK" = postgres:etp_backup_2 ] || fail "backup path $BK"
[ "$(q 'SELECT count(*) FROM etp_backup_2_etps')" = 6 ] || fail "backup tables"
etp_fault '{"mode":"data_corruption"}'
[ "$(q "SELECT count(*) FROM etps WHERE title LIKE '%�%' OR title = ''")" = 3 ] || fail "corrupt rows in postgres"
etp_ctl /_restore "{\"path\":\"$BK\"}" | grep -q ok || fail "restore"
[ "$(q "SELECT count(*) FROM etps WHERE title LIKE '%�%' OR title = ''")" = 0 ] || fail "restore left corrupt rows"
[ "$(q 'SELECT count(*) FROM sections')" = 1 ] || fail "restore lost sections"
[ "$(http_status "$B/api/sections/3/generate" -X POST -H "Authorization: Bearer $TOK")" = 201 ] || fail "after restore"

# auth broken by the users table (scenario 6, case 2)
etp_fault '{"mode":"auth_broken","cause":"users_table"}'
q 'SELECT count(*) FROM users' 2>/dev/null && fail "users table still there"
[ -z "$(etp_login)" ] || fail "login with no users table"
curl -s "$ETP_CONTROL/_logs?service=backend&lines=20" | grep -q 'relation "users" does not exist' || fail "log"
etp_ctl /_restore "{\"path\":\"$BK\"}" | grep -q ok || fail "restore users"
TOK=$(etp_login); [ -n "$TOK" ] || fail "login after restoring users"

# the local adapter's psql: the playbook's `railway run psql $DATABASE_URL -c ...`
cat >"$WORK/tocsin.lua" <<LUA
return { lib_paths = { "$SRC/scripts/lib" } }
LUA
cat >"$WORK/rb.lua" <<'LUA'
local platform = require("platform")
return { name = "psql", params = platform.params { platform = "local" },
  run = function(ctx)
    local p = platform.get(ctx)
    local res = assert(p.psql("backend", "SELECT count(*) FROM pg_stat_activity;", { readonly = true }))
    assert(res.ok and res.stdout:find("count"), res.stdout .. res.stderr)
    res = assert(p.psql("backend", "SELECT count(*) FROM no_such_table;", { readonly = true }))
    assert(not res.ok and res.stderr:find("no_such_table"), "an SQL error is a result with ok = false")
    print("psql ok")
    return true
  end }
LUA
expect_exit 0 "$TOCSIN" run "$WORK/rb.lua" --config "$WORK/tocsin.lua" --set target_control="$ETP_CONTROL"
grep -q 'psql ok' "$WORK/out" || fail "psql through the adapter"
grep -q "$PGTEST_DSN" "$WORK/out" "$WORK/err" && fail "the DSN was printed"
echo ok
