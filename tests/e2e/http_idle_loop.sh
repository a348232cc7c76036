#!/usr/bin/env bash
# Kept-alive idle connections must not keep the event loop alive: a run that
# deadlocks after an HTTP request is still reported ("waiting for something
# that can never happen", exit 1) instead of hanging.
. "$SRC/tests/e2e/lib.bash"
work=$WORK
start_testserver

cat >"$work/deadlock.lua" <<'LUA'
local base = env("TEST_HTTP")
for _ = 1, 3 do assert(http.get(base .. "/json")) end   -- leaves an idle connection
local root = task.current()
local t = task.spawn(function() return root:wait() end)
t:wait()   -- t waits for us, we wait for t
LUA
TEST_HTTP="http://127.0.0.1:$TESTSERVER_PORT" timeout 20 "$TOCSIN" run "$work/deadlock.lua" >"$work/out" 2>&1
rc=$?
cat "$work/out"
[ $rc -ne 124 ] || { echo "FAIL: the run hung (idle connection kept the loop alive)"; exit 1; }
[ $rc -eq 1 ] || { echo "FAIL: expected exit 1, got $rc"; exit 1; }
echo "http_idle_loop ok"
