#!/usr/bin/env bash
# Every run is recorded in the state store (SQLite, .tocsin/state.db by
# default) through the run events: runbook, trigger, params with secrets
# redacted, steps with their outcome, the transcript; `tocsin history` lists
# runs and shows one.  A store that cannot be opened does not stop a run.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
export DB_PASSWORD=hunter2-very-secret
cat >tocsin.lua <<'LUA'
return { runbooks = { "rb" }, params = { password = secret("DB_PASSWORD") } }
LUA
mkdir rb
cat >rb/db_check.lua <<'LUA'
return { name = "db_check", params = { retries = 1, password = "" }, run = function(ctx)
  step("Check health endpoint", function() return nil, "connection refused" end)
  step("Grep the logs", function()
    print("using " .. ctx.params.password)
    log.warn("3 errors", { retries = ctx.params.retries })
  end)
  assert(shell.run{ "true" })
  return true
end }
LUA
cat >rb/other.lua <<'LUA'
return { name = "other", run = function() error("boom at 3am") end }
LUA
expect_exit 0 "$TOCSIN" run db_check --set retries=4
expect_exit 0 "$TOCSIN" run db_check --dry-run
expect_exit 1 "$TOCSIN" run other
[ -f .tocsin/state.db ] || fail "no .tocsin/state.db"

expect_exit 0 "$TOCSIN" history --json
/usr/bin/python3 - out <<'PY' || fail "history --json: $(cat out)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["runbook"] for r in rows] == ["other", "db_check", "db_check"], rows
assert rows[0]["ok"] == 0 and "boom at 3am" in rows[0]["error"], rows[0]
assert rows[1]["dry_run"] == 1 and rows[2]["dry_run"] == 0
assert all(r["trigger"] == "cli" and r["ended"] >= r["started"] for r in rows)
assert rows[2]["steps_failed"] == 1 and rows[2]["ok"] == 1
PY
expect_exit 0 "$TOCSIN" history --runbook db_check --limit 1
grep -q 'db_check .*ok (dry)' out || fail "history table: $(cat out)"
[ "$(grep -c db_check out)" = 1 ] || fail "--limit 1: $(cat out)"

id=$("$TOCSIN" history --json --runbook db_check | tail -1 | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["id"])')
expect_exit 0 "$TOCSIN" history "$id" --json
/usr/bin/python3 - out <<'PY' || fail "history RUN-ID: $(cat out)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
run = recs[0]
assert run["record"] == "run" and run["params"] == {"retries": 4, "password": "***"}, run
steps = [r for r in recs if r["record"] == "step"]
assert [(s["title"], s["ok"], s["error"]) for s in steps] == [
    ("Check health endpoint", 0, "connection refused"), ("Grep the logs", 1, None)], steps
entries = [(e["kind"], e["text"]) for e in recs if e["record"] == "entry"]
kinds = [k for k, _ in entries]
assert kinds == ["print", "log", "call"], entries
assert entries[0][1] == "using ***" and entries[1][1].startswith("warn 3 errors retries=4"), entries
assert entries[2][1].startswith("shell true ok"), entries
PY
expect_exit 0 "$TOCSIN" history "$id"
grep -q '✗ Check health endpoint .*connection refused' out || fail "history RUN-ID text: $(cat out)"
expect_exit 3 "$TOCSIN" history run-nope
grep -q "no run 'run-nope'" err || fail "unknown run: $(cat err)"

# A long line is kept whole in the transcript.
printf 'print(string.rep("x", 5000) .. "END")\n' >long.lua
expect_exit 0 "$TOCSIN" run long.lua
lid=$("$TOCSIN" history --json --limit 1 | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["id"])')
expect_exit 0 "$TOCSIN" history "$lid" --json
/usr/bin/python3 - out <<'PY' || fail "long print cut in the transcript"
import json, sys
texts = [r["text"] for r in map(json.loads, open(sys.argv[1])) if r["record"] == "entry"]
assert texts == ["x" * 5000 + "END"], [len(t) for t in texts]
PY

# The secret is nowhere in the store's files.
if grep -q 'hunter2' .tocsin/state.db* ; then fail "the secret reached the state store"; fi

# A store that cannot be opened: the run goes on, unrecorded, and says so.
printf 'return { state = "sqlite:/proc/nope/state.db", runbooks = { "rb" } }\n' >bad.lua
expect_exit 1 "$TOCSIN" run other --config bad.lua
grep -q 'warning: this run is not recorded: .*/proc/nope' err || fail "unopenable store: $(cat err)"
printf 'return { state = "redis://x" }\n' >bad2.lua
expect_exit 1 "$TOCSIN" history --config bad2.lua
grep -q 'unknown kind of store' err || fail "bad state kind: $(cat err)"
echo "history ok"
