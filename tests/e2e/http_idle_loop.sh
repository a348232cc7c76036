#!/usr/bin/env bash
# Kept-alive idle connections must not keep the event loop alive: a run that
# deadlocks after an HTTP request is still reported ("waiting for something
# that can never happen", exit 1) instead of hanging.
set -u
: "${TOCSIN:?}" "${SRC:?}"
PY=/usr/bin/python3
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$PY" "$SRC/tests/testserver.py" --port-file "$work/port" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "test server did not start"; exit 1; }

cat >"$work/deadlock.lua" <<'LUA'
local base = env("TEST_HTTP")
for _ = 1, 3 do assert(http.get(base .. "/json")) end   -- leaves an idle connection
local root = task.current()
local t = task.spawn(function() return root:wait() end)
t:wait()   -- t waits for us, we wait for t
LUA
TEST_HTTP="http://127.0.0.1:$(cat "$work/port")" timeout 20 "$TOCSIN" run "$work/deadlock.lua" >"$work/out" 2>&1
rc=$?
cat "$work/out"
[ $rc -ne 124 ] || { echo "FAIL: the run hung (idle connection kept the loop alive)"; exit 1; }
[ $rc -eq 1 ] || { echo "FAIL: expected exit 1, got $rc"; exit 1; }
echo "http_idle_loop ok"
