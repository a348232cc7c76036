#!/usr/bin/env bash
# Ctrl-C while `tocsin run` waits, after its run, for the notifications it
# owes (the first responder's channel hangs): the wait stops at once and
# the process exits with the run's status.  It used to cancel the run it
# had already freed (a use after free; the ASan build aborts) and keep
# waiting for the hanging channel.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
python3 "$SRC/tests/e2e/notify_receiver.py" --port-file port --log posts.jsonl >recv.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "receiver did not start"
base="http://127.0.0.1:$(cat port)"
cat >tocsin.lua <<LUA
return { channels = { fr = { kind = "webhook", url = "$base/hang/fr", timeout = 30 } },
         contacts = { first_responder = { "fr" } } }
LUA
cat >open.lua <<'LUA'
return { name = "open", run = function() assert(incident.open { title = "Fila parada", severity = "P3" }) end }
LUA
"$TOCSIN" run open.lua >run.out 2>run.err &
pid=$!
_started+=($pid)
for _ in $(seq 100); do grep -q '"opened"' posts.jsonl 2>/dev/null && break; sleep 0.05; done
grep -q '"opened"' posts.jsonl || fail "the opening was not being sent: $(cat run.err)"
t0=$(date +%s.%N)
kill -INT $pid
wait $pid
code=$?
t1=$(date +%s.%N)
[ "$code" = 0 ] || fail "exit $code after Ctrl-C during the drain: $(cat run.err)"
/usr/bin/python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 2.5 else 1)" ||
  fail "Ctrl-C did not stop the wait for the hanging channel ($t0 .. $t1)"
grep -q 'notifications still going are left to the next process' run.err || fail "$(cat run.err)"
echo "interrupt during the drain ok"
