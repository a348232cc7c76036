#!/usr/bin/env bash
# While the state store is locked by another process, the daemon's clock
# says once that it cannot read its deadlines, as a JSON log line (it wrote
# a plain "tocsin: ..." line, which log shippers reading JSON lines choke
# on, at every look for as long as the store failed).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" } }
LUA
start_daemon
/usr/bin/python3 - <<'PY' || fail "lock"
import sqlite3, time
db = sqlite3.connect(".tocsin/state.db", isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
time.sleep(13)  # the clock's claims wait 5 s for the lock, then fail: twice or more
db.execute("COMMIT")
PY
sleep 1
kill -TERM $pid
wait $pid || fail "daemon exit $?"
/usr/bin/python3 - daemon.log <<'PY' || fail "$(cat daemon.log)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for l in lines:
    json.loads(l)  # every line is JSON
said = [l for l in lines if "cannot read its deadlines" in l]
assert len(said) == 1, "said %d times" % len(said)
PY
echo "clock store error logged once"
