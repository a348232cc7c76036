#!/usr/bin/env bash
# --dry-run: every SQL statement runs inside a READ ONLY transaction. Reads
# return real data; writes (also inside db:tx, also tricks like COMMIT first,
# nextval, DO blocks) change nothing, come back success-shaped, and are listed
# as actions the run would have taken.  A secret in a statement never shows
# in the action list, even when it straddles the 200-character cut or has
# runs of spaces that the one-line form collapses.
set -u
: "${TOCSIN:?}" "${BUILD:?}"
[ -f "$BUILD/pg.env" ] || { echo "no $BUILD/pg.env: run tests/pg/start.sh"; exit 1; }
. "$BUILD/pg.env"
tmp=$(mktemp -d)
T="dry_$$_$RANDOM"
cleanup() { "$PGTEST_BIN/psql" -X -q "$PGTEST_DSN" -c "DROP TABLE IF EXISTS $T; DROP SEQUENCE IF EXISTS ${T}_seq" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }
q() { "$PGTEST_BIN/psql" -X -q -At "$PGTEST_DSN" -c "$1"; }

q "CREATE TABLE $T (id int PRIMARY KEY, note text); INSERT INTO $T VALUES (1, 'one'); CREATE SEQUENCE ${T}_seq" ||
  fail "setup"

cat >"$tmp/rb.lua" <<'LUA'
local T, dry = env("T"), env("DRY") == "1"
local db = sql.open(env("PGTEST_DSN"))
-- reads are real
local rows = assert(db:query("SELECT id, note FROM " .. T .. " ORDER BY id"))
assert(#rows >= 1 and rows[1].note == "one")
-- a write through exec
local n, err = db:exec("INSERT INTO " .. T .. " (id, note) VALUES ($1, $2)", 2, "two")
assert(n == (dry and 0 or 1), tostring(n) .. " " .. tostring(err))
-- through query with RETURNING
local r2, err2 = db:query("INSERT INTO " .. T .. " VALUES (3, 'three') RETURNING id")
assert(r2, tostring(err2))
assert((r2.dry_run == true) == dry and #r2 == (dry and 0 or 1))
-- through one
local r3, err3 = db:one("UPDATE " .. T .. " SET note = 'changed' WHERE id = 1 RETURNING note")
assert(err3 == nil, tostring(err3))
if dry then assert(r3 == nil) else assert(r3.note == "changed") end
-- trying to get out of the read-only transaction
assert(db:exec("COMMIT"))
assert(db:exec("DELETE FROM " .. T) == (dry and 0 or 3))
assert(db:query("SELECT nextval('" .. T .. "_seq') AS v"))
assert(db:exec("DO $$ BEGIN SET TRANSACTION READ WRITE; INSERT INTO " .. T .. " VALUES (9, 'do'); END $$"))
-- a statement the server cannot parse: its error, as a value
local bad, berr = db:query("SELEC 1")
assert(bad == nil and type(berr) == "table" and berr.kind == "query" and berr.sqlstate == "42601", tostring(berr))
-- SHOW is a read
assert(tonumber(assert(db:one("SHOW max_connections")).max_connections) > 0)
if dry then
  -- a secret at the 200-character cut of the action line, and one whole
  local s = secret("DRY_SECRET")
  local prefix = "INSERT INTO " .. T .. " (id, note) VALUES (77, '"
  assert(db:exec(prefix .. string.rep("p", 192 - #prefix) .. s .. "')") == 0)
  assert(db:exec("UPDATE " .. T .. " SET note = '" .. s .. "' WHERE id = 1") == 0)
end
-- inside a transaction: writes skipped, the transaction goes on
local a, b = db:tx(function(tx)
  local c = assert(tx:exec("INSERT INTO " .. T .. " VALUES (4, 'four')"))
  local cnt = assert(tx:one("SELECT count(*) AS n FROM " .. T))
  assert(tx:exec("UPDATE " .. T .. " SET note = 'tx' WHERE id = 9"))
  return c, cnt.n
end)
assert(a == (dry and 0 or 1), tostring(a))
print("SCRIPT-DONE", a, b)
LUA

SECRET='Zq9xV  Kp2Lm  Wr7Yt'
PGTEST_DSN="$PGTEST_DSN" T="$T" DRY=1 DRY_SECRET="$SECRET" "$TOCSIN" run "$tmp/rb.lua" --dry-run --yes >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "dry run exited $rc"
grep -q SCRIPT-DONE "$tmp/out" || fail "script did not finish"
[ "$(q "SELECT count(*) FROM $T")" = 1 ] || fail "dry run changed the row count"
[ "$(q "SELECT note FROM $T WHERE id = 1")" = one ] || fail "dry run updated a row"
[ "$(q "SELECT last_value FROM ${T}_seq")" = 1 ] && [ "$(q "SELECT is_called FROM ${T}_seq")" = f ] ||
  fail "dry run advanced the sequence"
grep -qF "INSERT INTO $T (id, note) VALUES (\$1, \$2)" "$tmp/out" || fail "exec INSERT not listed as an action"
grep -qF "UPDATE $T SET note = 'changed'" "$tmp/out" || fail "UPDATE not listed"
grep -qF "INSERT INTO $T VALUES (4, 'four')" "$tmp/out" || fail "tx INSERT not listed"
grep -qF "DELETE FROM $T" "$tmp/out" || fail "DELETE not listed"
grep -qF "SELECT id, note FROM" "$tmp/out" && fail "a read was listed as an action"
grep -qF "SHOW max_connections" "$tmp/out" && fail "SHOW was listed as an action"
for part in Zq9xV Kp2Lm Wr7Yt; do
  grep -qF "$part" "$tmp/out" && fail "part of the secret ($part) shown"
done
grep -qF "UPDATE $T SET note = '***' WHERE id = 1" "$tmp/out" || fail "the secret's statement not listed, redacted"
grep -qF "(77, 'pppp" "$tmp/out" || fail "the long statement not listed"
# the password never shows
grep -qF "$PGTEST_PASSWORD" "$tmp/out" && fail "password in the output"

# Without --dry-run the same runbook writes (so the checks above can fail).
PGTEST_DSN="$PGTEST_DSN" T="$T" DRY=0 "$TOCSIN" run "$tmp/rb.lua" --yes >"$tmp/out" 2>&1 || fail "real run exited $?"
[ "$(q "SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM $T")" = "4:four,9:tx" ] ||
  fail "real run: rows 4 and 9 expected after the DELETE"
echo PASS
