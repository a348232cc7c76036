#!/usr/bin/env bash
# Deadlines survive the process: a run opens a P1 (respond = 2 s) and is
# killed with SIGKILL before the reminder is due; once it has fallen due,
# two processes sharing the store start at the same moment (each runs the
# clock while it works) and the reminder fires exactly once; a third finds
# nothing left to fire.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
python3 "$SRC/tests/e2e/notify_receiver.py" --port-file port --log posts.jsonl >recv.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "receiver did not start"
base="http://127.0.0.1:$(cat port)"
cat >tocsin.lua <<LUA
return {
  channels = { fr = { kind = "webhook", url = "$base/ok/fr" }, ee = { kind = "webhook", url = "$base/ok/ee" } },
  contacts = { first_responder = { "fr" }, escalation_engineer = { "ee" } },
  severity = { P1 = { respond = 2, escalate = 30, commander = 60, update = false } },
}
LUA
cat >hold.lua <<'LUA'
return { name = "hold", run = function()
  assert(incident.open { title = "Fila parada", severity = "P1" })
  time.sleep(60)
end }
LUA
count() { grep -c "\"event\": \"$1\"" posts.jsonl; }
"$TOCSIN" run hold.lua >hold.out 2>&1 &
pid=$!
_started+=($pid)
for _ in $(seq 100); do [ "$(count opened)" = 1 ] && break; sleep 0.05; done
[ "$(count opened)" = 1 ] || fail "the opening was not notified: $(cat hold.out)"
sleep 0.3
kill -9 $pid
wait $pid 2>/dev/null
opened_at=$(/usr/bin/python3 -c 'import json; print([json.loads(l)["t"] for l in open("posts.jsonl")][0])')
# The reminder falls due (2 s after opening) while nothing runs.
/usr/bin/python3 -c "import time; time.sleep(max(0, $opened_at + 2.5 - time.time()))"
[ "$(count reminder)" = 0 ] || fail "a reminder fired while no process ran"
"$TOCSIN" note INC-1 "first look" >a.out 2>&1 &
a=$!
"$TOCSIN" note INC-1 "second look" >b.out 2>&1 &
b=$!
wait $a || fail "note a: $(cat a.out)"
wait $b || fail "note b: $(cat b.out)"
[ "$(count reminder)" = 1 ] || fail "reminder fired $(count reminder) times: $(cat posts.jsonl)"
expect_exit 0 "$TOCSIN" note INC-1 "third look"
[ "$(count reminder)" = 1 ] || fail "reminder fired again: $(cat posts.jsonl)"
[ "$(count opened)" = 1 ] || fail "the opening was notified again: $(cat posts.jsonl)"
expect_exit 0 "$TOCSIN" incident INC-1
[ "$(grep -c 'reminder .*first_responder: fr ok' out)" = 1 ] || fail "timeline: $(cat out)"
grep -q 'escalation, unless resolved (escalation_engineer)' out || fail "pending escalation not shown: $(cat out)"
echo "deadline after kill ok"
