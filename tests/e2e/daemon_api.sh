#!/usr/bin/env bash
# tocsin daemon's API and its life: health, runs started over the API with
# params, an approval answered over the API, incidents acknowledged and
# resolved over the API, JSON errors with the right status for malformed
# requests (bad JSON, a 10 MiB body, a 100 KiB header, a half-sent request
# held open, unknown routes, wrong methods, missing or wrong token), JSON
# log lines, and SIGTERM letting a run started before it complete (exit 0).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = secret("API_TOKEN"), runbooks = { "runbooks" },
         params = { who = "config" }, grace = "20s" }
LUA
cat >runbooks/hello.lua <<'LUA'
return { name = "hello", params = { who = "nobody", n = 1 }, run = function(ctx)
  log.info("hello " .. ctx.params.who .. " " .. ctx.params.n .. " via " .. ctx.trigger)
end }
LUA
cat >runbooks/ask.lua <<'LUA'
return { name = "ask", run = function()
  local ok = confirm("restart the backend?", { timeout = 30 })
  log.info("answered " .. tostring(ok))
end }
LUA
cat >runbooks/slow.lua <<'LUA'
return { name = "slow", severity = "P2", run = function()
  local inc = assert(incident.open { title = "Fila lenta" })
  time.sleep(1.5)
  log.info("slow done " .. inc.id)
end }
LUA
export API_TOKEN=t0ken-s3cret
start_daemon
auth=(-H "Authorization: Bearer t0ken-s3cret")
code() { curl -s -o body -w '%{http_code}' "$@"; }
[ "$(code "$base/healthz")" = 200 ] || fail "healthz: $(cat body)"
grep -q '"runbooks":3' body || fail "healthz: $(cat body)"

# Runs over the API: params from the request over the config's.
[ "$(code -X POST "${auth[@]}" -d '{"runbook":"hello","params":{"n":7}}' "$base/runs")" = 202 ] || fail "POST /runs: $(cat body)"
id=$(/usr/bin/python3 -c 'import json; print(json.load(open("body"))["id"])')
for _ in $(seq 50); do grep -q '"hello config 7 via api"' daemon.log && break; sleep 0.05; done
grep -q '"msg":"hello config 7 via api"' daemon.log || fail "run log: $(cat daemon.log)"
[ "$(code "$base/runs/$id")" = 200 ] || fail "GET /runs/ID: $(cat body)"
grep -q '"record":"run"' body || fail "run record: $(cat body)"
[ "$(code -X POST "${auth[@]}" -d '{"runbook":"nope"}' "$base/runs")" = 404 ] || fail "unknown runbook: $(cat body)"
[ "$(code -X POST "${auth[@]}" -d '{"runbook":"hello","params":[1,2]}' "$base/runs")" = 400 ] || fail "params array: $(cat body)"

# An approval over the API.
code -X POST "${auth[@]}" -d '{"runbook":"ask"}' "$base/runs" >/dev/null
ask=$(/usr/bin/python3 -c 'import json; print(json.load(open("body"))["id"])')
for _ in $(seq 50); do code "$base/runs/$ask" >/dev/null; grep -q '"question"' body && break; sleep 0.05; done
grep -q '"question":"restart the backend?"' body || fail "pending question: $(cat body)"
[ "$(code -X POST "$base/runs/$ask/approve")" = 401 ] || fail "approve without token: $(cat body)"
[ "$(code -X POST "${auth[@]}" "$base/runs/$ask/approve")" = 200 ] || fail "approve: $(cat body)"
for _ in $(seq 50); do grep -q '"answered true"' daemon.log && break; sleep 0.05; done
grep -q '"msg":"answered true"' daemon.log || fail "approval not received: $(cat daemon.log)"
[ "$(code -X POST "${auth[@]}" "$base/runs/$ask/approve")" = 404 ] || fail "approve an ended run: $(cat body)"

# Incidents over the API (the slow run opens one).
code -X POST "${auth[@]}" -d '{"runbook":"slow"}' "$base/runs" >/dev/null
for _ in $(seq 50); do code "$base/incidents" >/dev/null; grep -q 'INC-1' body && break; sleep 0.05; done
grep -q '"title":"Fila lenta"' body || fail "GET /incidents: $(cat body)"
[ "$(code -X POST "${auth[@]}" -d '{"by":"alice"}' "$base/incidents/INC-1/ack")" = 200 ] || fail "ack: $(cat body)"
grep -q '"status":"acknowledged"' body || fail "ack: $(cat body)"
[ "$(code -X POST "${auth[@]}" -d '{"by":"bob"}' "$base/incidents/INC-1/ack")" = 409 ] || fail "ack twice: $(cat body)"
[ "$(code -X POST "${auth[@]}" "$base/incidents/INC-9/ack")" = 404 ] || fail "ack unknown: $(cat body)"
[ "$(code "$base/incidents/INC-1")" = 200 ] || fail "GET incident: $(cat body)"
/usr/bin/python3 - <<'PY' || fail "incident: $(cat body)"
import json
b = json.load(open("body"))
assert b["incident"]["status"] == "acknowledged", b
assert any(t["kind"] == "acknowledged" and t["actor"] == "alice" for t in b["timeline"]), b
PY

# Malformed requests get their status and the daemon keeps serving.
[ "$(code -X POST "${auth[@]}" -d '{bad json' "$base/runs")" = 400 ] || fail "bad JSON: $(cat body)"
grep -q '"error"' body || fail "no JSON error: $(cat body)"
head -c 10485760 /dev/zero | tr '\0' 'a' >big
[ "$(code -X POST "${auth[@]}" --data-binary @big "$base/runs")" = 413 ] || fail "10 MiB body: $(cat body)"
[ "$(code -H "X-Big: $(head -c 102400 /dev/zero | tr '\0' 'b')" "$base/healthz")" = 431 ] || fail "100 KiB header"
[ "$(code "$base/nope")" = 404 ] || fail "unknown route: $(cat body)"
[ "$(code -X DELETE "$base/runs")" = 405 ] || fail "wrong method: $(cat body)"
[ "$(code -X POST -H "Authorization: Bearer wrong" -d '{}' "$base/runs")" = 401 ] || fail "wrong token"
[ "$(code -X POST -d '{}' "$base/runs")" = 401 ] || fail "no token"
# A half-sent request held open does not block others.
/usr/bin/python3 - "$port" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"run")
time.sleep(3)
PY
half=$!
sleep 0.2
[ "$(code "$base/healthz")" = 200 ] || fail "healthz while a request is half-sent"
wait $half
grep -q 't0ken-s3cret' daemon.log && fail "the API token reached the log"

# SIGTERM: a run started before it completes; the daemon exits 0.
code -X POST "${auth[@]}" -d '{"runbook":"slow"}' "$base/runs" >/dev/null
sleep 0.3
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 0 ] || fail "daemon exited $rc: $(tail -5 daemon.log)"
grep -q '"msg":"slow done INC-1"' daemon.log || fail "the run did not complete: $(tail -5 daemon.log)"
/usr/bin/python3 - <<'PY' || fail "log lines are not JSON objects"
import json
for line in open("daemon.log"):
    o = json.loads(line)
    assert "time" in o and "level" in o and "msg" in o, o
PY
echo "daemon api ok"
