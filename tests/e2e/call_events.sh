#!/usr/bin/env bash
# Every finished primitive call is an event (kind, target, duration, outcome):
# what the store and metrics will count.  Seen here through --json.
. "$SRC/tests/e2e/lib.bash"
start_testserver
cat >"$WORK/calls.lua" <<'LUA'
local base = env("TEST_HTTP")
assert(http.get(base .. "/json"))
assert(http.get(base .. "/status/500"))             -- a result, not a failure
assert(not http.get("http://127.0.0.1:1/", { timeout = 2 }))
assert(shell.run{ "sh", "-c", "exit 3" })            -- a non-zero exit is a result
assert(not shell.run{ "/no/such/program" })
LUA
expect_exit 0 "$TOCSIN" run "$WORK/calls.lua" --json
/usr/bin/python3 - "$WORK/out" <<'PY' || fail "call events: $(cat "$WORK/out")"
import json, sys
calls = [e for e in map(json.loads, open(sys.argv[1])) if e["event"] == "call"]
got = [(c["kind"], c["outcome"]) for c in calls]
assert got == [("http", "ok"), ("http", "ok"), ("http", "connect"), ("shell", "ok"),
               ("shell", "spawn")], got
assert calls[0]["target"].startswith("GET http://127.0.0.1:") and calls[0]["target"].endswith("/json")
assert all(c["duration"] >= 0 for c in calls)
assert calls[3]["target"] == "sh", calls[3]
PY
echo "call events ok"
