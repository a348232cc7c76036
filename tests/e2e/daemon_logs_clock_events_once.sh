#!/usr/bin/env bash
# The daemon logs each event of the incident clock's runs once: the clock's
# runs are logged by the daemon's event subscriber like every run, and were
# logged a second time through the clock's own on_event.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "t0k", runbooks = { "runbooks" } }
LUA
cat >runbooks/opener.lua <<'LUA'
return { name = "opener", run = function()
  assert(incident.open { title = "Fila lenta", severity = "P3" })
end }
LUA
start_daemon
curl -s -o body -X POST -H "Authorization: Bearer t0k" -d '{"runbook":"opener"}' "$base/runs" ||
  fail "POST /runs: $(cat daemon.log)"
for _ in $(seq 200); do grep -q '"did":"opened' daemon.log && break; sleep 0.05; done
grep -q '"did":"opened' daemon.log || fail "the opening was not fired: $(cat daemon.log)"
sleep 0.3
kill -TERM $pid
wait $pid || fail "the daemon exited $?"
/usr/bin/python3 - daemon.log <<'PY' || fail "$(cat daemon.log)"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
clock = [l for l in lines if l.get("runbook") == "tocsin-clock"]
assert clock, "no clock run logged"
seen = collections.Counter((l["run"], l["msg"], json.dumps(l.get("fields"))) for l in clock)
twice = [k for k, n in seen.items() if n > 1]
assert not twice, "logged more than once: %r" % twice
# The clock's protocol lines ("done ID TEXT") are not log lines of their own:
# "incident clock" with "did" says it once.
proto = [l for l in clock if l["msg"].startswith(("done ", "draft "))]
assert not proto, "protocol lines logged: %r" % proto
assert [l for l in lines if l["msg"] == "incident clock" and l["did"].startswith("opened")]
PY
echo "clock events logged once"
