#!/usr/bin/env bash
# The daemon runs an `every = "1s"` schedule 10 times in 10 s (±1); an
# edited runbook changes the next run's behaviour without a restart; a
# saved syntax error is refused, logged with file:line, and the previous
# version keeps running; SIGHUP reloads the config (new params); a broken
# config on SIGHUP is refused and the old one keeps serving.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
config() {
  cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" }, params = { color = "$1" },
         schedules = { { every = "1s", runbook = "tick" } } }
LUA
}
config blue
echo 'return { name = "tick", run = function(ctx) log.info("tick v1 " .. ctx.params.color) end }' >runbooks/tick.lua
"$TOCSIN" daemon 2>daemon.log &
pid=$!
_started+=($pid)
t0=$(date +%s.%N)
sleep 3.5
echo 'return { name = "tick", run = function(ctx) log.info("tick v2 " .. ctx.params.color) end }' >runbooks/tick.lua.new
mv runbooks/tick.lua.new runbooks/tick.lua
sleep 3
echo 'return { name = "tick", run = function(ctx) log.info("tick v3" end }' >runbooks/tick.lua
/usr/bin/python3 -c "import time; time.sleep(max(0, $t0 + 10.2 - time.time()))"
n=$(grep -c '"msg":"tick v' daemon.log)
[ "$n" -ge 9 ] && [ "$n" -le 11 ] || fail "$n runs in 10 s: $(cat daemon.log)"
grep -q '"msg":"tick v2 blue"' daemon.log || fail "the edit was not picked up: $(cat daemon.log)"
grep -q 'reload refused.*tick.lua:1:' daemon.log || fail "the broken edit was not logged with file:line"
last=$(grep '"msg":"tick v' daemon.log | tail -1)
echo "$last" | grep -q 'tick v2 blue' || fail "the previous version stopped serving: $last"
grep -q 'tick v3' daemon.log && fail "the broken version ran"
# SIGHUP: the new config's params reach the next run.
echo 'return { name = "tick", run = function(ctx) log.info("tick v4 " .. ctx.params.color) end }' >runbooks/tick.lua
config green
kill -HUP $pid
for _ in $(seq 60); do grep -q '"msg":"tick v4 green"' daemon.log && break; sleep 0.1; done
grep -q '"msg":"tick v4 green"' daemon.log || fail "SIGHUP: $(tail -5 daemon.log)"
echo 'return {' >tocsin.lua
kill -HUP $pid
sleep 1.5
grep -q 'config reload refused' daemon.log || fail "a broken config was not refused: $(tail -3 daemon.log)"
tail -1 daemon.log | grep -q '"msg":"tick v4 green"\|run finished' || fail "the daemon stopped serving: $(tail -3 daemon.log)"
kill -TERM $pid
wait $pid || fail "daemon exit $?"
echo "schedule and reload ok"
