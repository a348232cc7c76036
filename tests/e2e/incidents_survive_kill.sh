#!/usr/bin/env bash
# What a runbook was told is committed survives `kill -9`: an incident call
# returns only once its COMMIT is done, so after a SIGKILL in the middle of an
# incident every timeline entry the run saw acknowledged is in the store, and
# the store opens and works again.  Also: ctx.incident is the incident the run
# opened.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
cat >long.lua <<'LUA'
return { name = "api_timeout", severity = "P1", run = function(ctx)
  local inc = assert(incident.open{ title = "API Timeout", dedup_key = "api" })
  assert(ctx.incident == inc, "ctx.incident is the incident this run opened")
  for i = 1, 50 do
    assert(inc:note("probe " .. i .. " still slow"))
    print("NOTED " .. i)
  end
  step("Wait for the fix", function() time.sleep(60) end)
end }
LUA
"$TOCSIN" run long.lua >run.out 2>&1 &
pid=$!
_started+=("$pid")
for _ in $(seq 200); do grep -q 'NOTED 50' run.out 2>/dev/null && break; sleep 0.05; done
grep -q 'NOTED 50' run.out || { cat run.out; fail "the run did not get its notes in"; }
kill -9 "$pid"
wait "$pid" 2>/dev/null
acked=$(grep -c '^NOTED' run.out)
expect_exit 0 "$TOCSIN" incident INC-1 --json
notes=$(grep -c '"kind":"note"' out)
[ "$notes" -ge "$acked" ] || fail "$acked notes acknowledged to the run, $notes in the store after kill -9"
grep -q '"text":"probe 50 still slow"' out || fail "the last acknowledged note is lost: $(cat out)"
# The store still works: the incident can be resolved, and a new run joins nothing resolved.
expect_exit 0 "$TOCSIN" resolve INC-1 --summary "after the crash"
expect_exit 0 "$TOCSIN" incidents --all --json
grep -q '"status":"resolved"' out || fail "resolve after kill -9: $(cat out)"
echo "incidents survive kill -9"
