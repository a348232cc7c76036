#!/usr/bin/env bash
# A schedules entry that is not a table ({ 42 }) is reported by its index,
# by `tocsin schedules` (exit 2) and by the daemon's log, instead of an
# uninitialized buffer (garbage bytes on stderr, an empty error in the log).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
echo 'return { name = "tick", run = function() end }' >runbooks/tick.lua
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" },
         schedules = { 42, { every = "1h", runbook = "tick" } } }
LUA
expect_exit 2 "$TOCSIN" schedules
grep -qx 'tocsin: schedules\[1\] must be a table { every = or cron =, runbook = }' err ||
  fail "tocsin schedules: $(cat -v err)"
grep -q 'tick .*every 3600s' out || fail "the good schedule is not listed: $(cat out)"
"$TOCSIN" daemon 2>daemon.log &
pid=$!
_started+=($pid)
for _ in $(seq 200); do grep -q 'daemon started' daemon.log && break; sleep 0.05; done
kill -TERM $pid
wait $pid || fail "daemon exit $?: $(cat daemon.log)"
grep -q '"msg":"schedule not started","error":"schedules\[1\] must be a table' daemon.log ||
  fail "daemon log: $(cat -v daemon.log)"
echo "schedule entry not a table ok"
