#!/usr/bin/env bash
# A cron schedule fires once per fire time.  The daemon arms the timer from
# libuv's loop clock, which is stale by whatever ran since the loop last
# looked at the time (here: a runbook that takes ~1.5 s to load at start);
# the tick came early by that much, before the minute, and cron's next
# fire time from then was the same minute again: every schedule ran twice
# for its first minute (and after each SIGHUP).  Up to 80 s: it waits for a
# minute boundary.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" },
         schedules = { { cron = "* * * * *", runbook = "tick", overlap = "allow" },
                       { cron = "* * * * *", runbook = "tick", overlap = "queue" } } }
LUA
cat >runbooks/tick.lua <<'LUA'
local t = os.clock()
while os.clock() - t < 1.5 do end -- a slow load
return { name = "tick", run = function() log.info("tick") end }
LUA
# Start in the second half of a minute, so the first fire time comes soon.
/usr/bin/python3 -c '
import time
s = time.time() % 60
if not 25 <= s <= 45:
    time.sleep((25 - s) % 60)'
"$TOCSIN" daemon 2>daemon.log &
pid=$!
_started+=($pid)
# Until 4 s past the next minute.
/usr/bin/python3 -c 'import time; time.sleep(60 - time.time() % 60 + 4)'
kill -TERM $pid
wait $pid || fail "daemon exit $?: $(cat daemon.log)"
n=$(grep -c '"msg":"tick"' daemon.log)
[ "$n" = 2 ] || fail "$n runs of 2 cron schedules over one minute boundary: $(grep 'tick\|started' daemon.log)"
echo "cron once per minute ok"
