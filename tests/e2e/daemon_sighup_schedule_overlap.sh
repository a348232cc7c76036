#!/usr/bin/env bash
# A scheduled run alive across a SIGHUP still counts for its schedule's
# overlap policy, and its end does not count against another schedule.
# A: `every = 2s` of a run of 1 s, SIGHUP while a run is alive: the schedule
# goes on firing (its count of running runs went to -1: every tick was
# skipped as "still going", forever).  B: `every = 1s` of a run of 2.5 s,
# overlap skip: never two runs alive at once, before or after a SIGHUP.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
start() {
  cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" },
         schedules = { { every = "$1", runbook = "work" } } }
LUA
  echo "return { name = 'work', run = function() log.info('working'); time.sleep($2); log.info('worked') end }" >runbooks/work.lua
  "$TOCSIN" daemon 2>daemon.log &
  pid=$!
  _started+=($pid)
}
stop() {
  kill -TERM $pid
  wait $pid || fail "daemon exit $?: $(cat daemon.log)"
}
count() { grep -c "\"msg\":\"$1\"" daemon.log; }

start 2s 1
for _ in $(seq 100); do [ "$(count working)" -ge 1 ] && break; sleep 0.05; done
[ "$(count working)" -ge 1 ] || fail "A: no scheduled run: $(cat daemon.log)"
kill -HUP $pid
sleep 6
n=$(count working)
stop
[ "$n" -ge 3 ] || fail "A: $n scheduled runs in 7 s with a SIGHUP (the schedule stopped): $(cat daemon.log)"

start 1s 2.5
for _ in $(seq 100); do [ "$(count working)" -ge 1 ] && break; sleep 0.05; done
sleep 0.5
kill -HUP $pid
sleep 7
stop
/usr/bin/python3 - daemon.log <<'PY' || fail "B: $(cat daemon.log)"
import json, sys
alive = top = 0
for l in open(sys.argv[1]):
    m = json.loads(l).get("msg")
    if m == "working":
        alive += 1
    elif m == "worked":
        alive -= 1
    top = max(top, alive)
assert top == 1, "%d runs of an overlap=skip schedule were alive at once" % top
PY
echo "schedule overlap across SIGHUP ok"
