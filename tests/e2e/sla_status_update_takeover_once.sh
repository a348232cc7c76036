#!/usr/bin/env bash
# A status update whose claim is taken over keeps one chain: a process is
# killed (SIGKILL) while it sends a P1's status update (the stakeholders'
# channel hangs), its lease ends, and the next process fires the update it
# owed; the next status update is then scheduled once, not a second time
# beside the one the dead process's claim already scheduled (which would
# double every status update from then on).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
python3 "$SRC/tests/e2e/notify_receiver.py" --port-file port --log posts.jsonl >recv.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
[ -s port ] || fail "receiver did not start"
base="http://127.0.0.1:$(cat port)"
cat >tocsin.lua <<LUA
return {
  channels = { po = { kind = "webhook", url = "$base/hang/po", timeout = 30 } },
  contacts = { product_owner = { "po" } },
  severity = { P1 = { respond = "1h", update = "1s" } },
}
LUA
cat >hold.lua <<'LUA'
return { name = "hold", run = function()
  assert(incident.open { title = "Fila parada", severity = "P1" })
  time.sleep(60)
end }
LUA
"$TOCSIN" run hold.lua >hold.out 2>&1 &
pid=$!
_started+=($pid)
for _ in $(seq 100); do grep -q status_update posts.jsonl 2>/dev/null && break; sleep 0.05; done
grep -q status_update posts.jsonl || fail "no status update was sent: $(cat hold.out)"
kill -9 $pid
wait $pid 2>/dev/null
pending() {
  /usr/bin/python3 - <<'PY'
import sqlite3
db = sqlite3.connect(".tocsin/state.db")
print(db.execute("SELECT count(*) FROM deadlines WHERE kind = 'status_update'"
                 " AND fired IS NULL AND canceled IS NULL AND claimed_until IS NULL").fetchone()[0])
PY
}
[ "$(pending)" = 1 ] || fail "before the takeover: $(pending) status updates pending"
# Five minutes pass: the dead process's lease ends.
/usr/bin/python3 - <<'PY'
import sqlite3
db = sqlite3.connect(".tocsin/state.db")
db.execute("UPDATE deadlines SET claimed_until = claimed_until - 301 WHERE claimed_until IS NOT NULL")
db.commit()
PY
sed -i 's#/hang/po#/ok/po#' tocsin.lua
expect_exit 0 "$TOCSIN" note INC-1 "taking over"
[ "$(pending)" = 1 ] || fail "after the takeover: $(pending) status updates pending (one chain wanted)"
echo "status update takeover ok"
