#!/usr/bin/env bash
# http under --dry-run: GET runs, POST/PUT/DELETE are not sent (the test
# server counts every non-GET request it receives: it must stay 0), they
# return a success-shaped result with dry_run = true, and the run's output
# lists the actions it would have taken.
. "$SRC/tests/e2e/lib.bash"
work=$WORK
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$work/out" 2>/dev/null; exit 1; }

start_testserver
base="http://127.0.0.1:$TESTSERVER_PORT"

cat >"$work/dry.lua" <<'LUA'
local base = env("TEST_HTTP")
local res = assert(http.post(base .. "/echo", { restart = "backend" }))
assert(res.dry_run == true and res.status == 200, "POST was not suppressed")
res = assert(http.put(base .. "/echo", "x"))
assert(res.dry_run == true)
res = assert(http.request { method = "DELETE", url = base .. "/echo", query = { id = 7 } })
assert(res.dry_run == true)
-- reads happen
res = assert(http.get(base .. "/posts"))
assert(res.dry_run == nil and res:json().count == 0, "a write reached the server")
LUA

TEST_HTTP=$base "$TOCSIN" run "$work/dry.lua" --dry-run >"$work/out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "tocsin exited $rc"
count=$(curl -s "$base/posts")
[ "$count" = '{"count": 0}' ] || fail "server received writes: $count"
grep -q "POST $base/echo" "$work/out" || fail "POST action not listed"
grep -q "PUT $base/echo" "$work/out" || fail "PUT action not listed"
grep -q "DELETE $base/echo?id=7" "$work/out" || fail "DELETE action not listed"

# the same script without --dry-run does send (so the check above can fail)
TEST_HTTP=$base "$TOCSIN" run "$work/dry.lua" >"$work/out2" 2>&1 && fail "non-dry run should fail its asserts"
count=$(curl -s "$base/posts")
[ "$count" != '{"count": 0}' ] || fail "without --dry-run nothing was sent"
echo "http_dry_run ok"
