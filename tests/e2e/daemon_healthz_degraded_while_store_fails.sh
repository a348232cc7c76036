#!/usr/bin/env bash
# While the incident clock cannot read the state store (another process holds
# it locked), no escalation fires: GET /healthz answers 503 with
# "status":"degraded" and the store's error, so a monitor sees it (it said
# "ok" throughout). Once the lock is gone, the next look succeeds and
# /healthz is 200 "ok" again.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" } }
LUA
start_daemon
code() { curl -s -o body -w '%{http_code}' "$base/healthz"; }
[ "$(code)" = 200 ] && grep -q '"status":"ok"' body || fail "healthz before: $(cat body)"
/usr/bin/python3 - <<'PY' &
import sqlite3, time
db = sqlite3.connect(".tocsin/state.db", isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
time.sleep(14)  # a claim waits 5 s for the lock, then fails; the clock looks every 5 s
db.execute("COMMIT")
PY
locker=$!
_started+=($locker)
seen=
for _ in $(seq 130); do
  if [ "$(code)" = 503 ]; then seen=1; break; fi
  sleep 0.1
done
[ -n "$seen" ] || fail "healthz never 503 while the store was locked: $(cat body)"
grep -q '"status":"degraded"' body || fail "status: $(cat body)"
grep -q '"store":"[^"]*lock' body || fail "store error: $(cat body)"
wait $locker
for _ in $(seq 150); do [ "$(code)" = 200 ] && break; sleep 0.1; done
[ "$(code)" = 200 ] && grep -q '"status":"ok"' body || fail "healthz after the lock: $(cat body)"
kill -TERM $pid
wait $pid || fail "daemon exit $?"
