#!/usr/bin/env bash
# Another process holding the state store locked past the busy timeout (a
# backup, a long transaction) fails the daemon's requests of that moment,
# not every later one: once the lock is gone an ack succeeds, a run is
# recorded and the clock fires again.  (The first failure used to mark the
# store failed for good: every ack answered 500 "database is locked" until
# a restart.)
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "t0k", runbooks = { "runbooks" } }
LUA
cat >runbooks/open.lua <<'LUA'
return { name = "open", run = function() assert(incident.open { title = "Fila parada", severity = "P3" }) end }
LUA
expect_exit 0 "$TOCSIN" run runbooks/open.lua
expect_exit 0 "$TOCSIN" run runbooks/open.lua
start_daemon
/usr/bin/python3 - <<'PY' &
import os, sqlite3, time
db = sqlite3.connect(".tocsin/state.db", isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open("locked", "w").close()
for _ in range(600):  # until the test says so (30 s at most)
    if os.path.exists("release"):
        break
    time.sleep(0.05)
db.execute("COMMIT")
PY
locker=$!
for _ in $(seq 100); do [ -e locked ] && break; sleep 0.05; done
code() { curl -s -o body -w '%{http_code}' "$@"; }
[ "$(code -X POST -H "Authorization: Bearer t0k" "$base/incidents/INC-1/ack")" = 500 ] ||
  fail "an ack while the store is locked: $(cat body)"
touch release
wait $locker
[ "$(code -X POST -H "Authorization: Bearer t0k" "$base/incidents/INC-2/ack")" = 200 ] ||
  fail "an ack once the lock is gone: $(cat body)"
[ "$(code -X POST -H "Authorization: Bearer t0k" -d '{"by":"bob"}' "$base/incidents/INC-1/ack")" = 200 ] ||
  fail "the refused ack, again: $(cat body)"
for _ in $(seq 100); do grep -q '"did":"acknowledged' daemon.log && break; sleep 0.05; done
grep -q '"did":"acknowledged' daemon.log || fail "the clock did not fire the ack: $(cat daemon.log)"
kill -TERM $pid
wait $pid
expect_exit 0 "$TOCSIN" incident INC-1
grep -q 'acknowledged' out || fail "INC-1: $(cat out)"
echo "store recovers ok"
