#!/usr/bin/env bash
# GET /runs/ID shows the question a run waits on with secret() values
# redacted, as the run's log lines and records are (it was returned as
# asked: a secret in the question reached any API client without a token).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "t0k", runbooks = { "runbooks" } }
LUA
cat >runbooks/ask.lua <<'LUA'
return { name = "ask", run = function()
  confirm("rotate the password to " .. secret("DB_PASSWORD") .. "?", { timeout = 30 })
end }
LUA
export DB_PASSWORD=hunter2-very-secret
start_daemon
curl -s -o body -X POST -H "Authorization: Bearer t0k" -d '{"runbook":"ask"}' "$base/runs" || fail "POST /runs"
id=$(/usr/bin/python3 -c 'import json; print(json.load(open("body"))["id"])')
for _ in $(seq 100); do curl -s -o body "$base/runs/$id"; grep -q '"question"' body && break; sleep 0.05; done
grep -q '"question":"rotate the password to \*\*\*?"' body || fail "GET /runs/ID: $(cat body)"
grep -q hunter2 body && fail "the secret is in the API's answer: $(cat body)"
curl -s -o /dev/null -X POST -H "Authorization: Bearer t0k" "$base/runs/$id/deny"
kill -TERM $pid
wait $pid || fail "daemon exit $?"
grep -q hunter2 daemon.log && fail "the secret is in the log: $(cat daemon.log)"
echo "question redacted ok"
