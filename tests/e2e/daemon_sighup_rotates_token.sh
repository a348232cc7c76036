#!/usr/bin/env bash
# SIGHUP reloads the config, api_token included: after a rotation the new
# token is accepted and the old one refused (the daemon kept the token it
# started with until a restart).
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
config() {
  cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "$1", runbooks = { "runbooks" } }
LUA
}
config old-t0ken
echo 'return { name = "hello", run = function() log.info("hello") end }' >runbooks/hello.lua
start_daemon
post() { curl -s -o body -w '%{http_code}' -X POST -H "Authorization: Bearer $1" -d '{"runbook":"hello"}' "$base/runs"; }
[ "$(post old-t0ken)" = 202 ] || fail "before: $(cat body)"
config new-t0ken
kill -HUP $pid
for _ in $(seq 100); do grep -q '"config reloaded"' daemon.log && break; sleep 0.05; done
grep -q '"config reloaded"' daemon.log || fail "no reload: $(cat daemon.log)"
[ "$(post new-t0ken)" = 202 ] || fail "the new token is refused: $(cat body)"
[ "$(post old-t0ken)" = 401 ] || fail "the old token is still accepted: $(cat body)"
kill -TERM $pid
wait $pid || fail "daemon exit $?"
grep -q 'new-t0ken\|old-t0ken' daemon.log && fail "a token is in the log: $(cat daemon.log)"
echo "token rotation ok"
