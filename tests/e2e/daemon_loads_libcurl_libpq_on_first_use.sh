#!/usr/bin/env bash
# libcurl and libpq (and the two dozen libraries they pull in: GnuTLS,
# OpenSSL, Kerberos, LDAP...) are loaded on first use, not at start: an idle
# daemon maps neither (the idle-RSS target of issue 9 rests on this); the first
# run that makes an HTTP call maps libcurl, and that call works; the first
# sql.open maps libpq. `tocsin run` of a script with neither maps neither.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
start_testserver
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "tok", runbooks = { "runbooks" } }
LUA
cat >runbooks/fetch.lua <<LUA
return { name = "fetch", run = function()
  local r = assert(http.get("$TEST_HTTP/status/200"))
  log.info("fetched " .. r.status)
end }
LUA
cat >runbooks/db.lua <<'LUA'
return { name = "db", run = function()
  local db = sql.open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
  log.info("opened " .. type(db))
end }
LUA
start_daemon
curl -sf "$base/healthz" >/dev/null || fail "daemon not up: $(cat daemon.log)"
maps() { grep -c "$1" "/proc/$pid/maps"; }
[ "$(maps libcurl)" = 0 ] || fail "idle daemon maps libcurl: $(grep libcurl /proc/$pid/maps)"
[ "$(maps libpq)" = 0 ] || fail "idle daemon maps libpq"
[ "$(maps libgnutls)" = 0 ] || fail "idle daemon maps libgnutls"

curl -s -X POST -H "Authorization: Bearer tok" -d '{"runbook":"fetch"}' "$base/runs" >/dev/null
for _ in $(seq 100); do grep -q '"fetched 200"' daemon.log && break; sleep 0.05; done
grep -q '"msg":"fetched 200"' daemon.log || fail "HTTP after lazy load: $(cat daemon.log)"
[ "$(maps libcurl)" -gt 0 ] || fail "libcurl not mapped after an HTTP call"
[ "$(maps libpq)" = 0 ] || fail "an HTTP call mapped libpq"

curl -s -X POST -H "Authorization: Bearer tok" -d '{"runbook":"db"}' "$base/runs" >/dev/null
for _ in $(seq 100); do grep -q '"opened userdata"' daemon.log && break; sleep 0.05; done
grep -q '"msg":"opened userdata"' daemon.log || fail "sql.open after lazy load: $(cat daemon.log)"
[ "$(maps libpq)" -gt 0 ] || fail "libpq not mapped after sql.open"

# tocsin run: a script with no HTTP and no SQL maps neither.
echo 'time.sleep(3)' >plain.lua
"$TOCSIN" run plain.lua --yes >run.out 2>&1 &
rpid=$!
_started+=($rpid)
for _ in $(seq 100); do grep -q liblua "/proc/$rpid/maps" 2>/dev/null && break; sleep 0.02; done
sleep 0.3
grep -q liblua "/proc/$rpid/maps" || fail "tocsin run not started: $(cat run.out)"
! grep -E "libcurl|libpq" "/proc/$rpid/maps" || fail "tocsin run of a plain script maps libcurl or libpq"
exit 0
