#!/usr/bin/env bash
# http over TLS: a self-signed certificate is refused by default (err.kind
# "tls"), accepted with insecure = true; keep-alive works over TLS too.
. "$SRC/tests/e2e/lib.bash"
work=$WORK
fail() { echo "FAIL: $*"; cat "$work/out" 2>/dev/null; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
start_testserver --cert "$work/cert.pem" --key "$work/key.pem"

cat >"$work/tls.lua" <<'LUA'
local base = env("TEST_HTTPS")
local res, err = http.get(base .. "/json", { timeout = 5 })
assert(res == nil and err.kind == "tls", "self-signed accepted: " .. tostring(err))
local first
for i = 1, 5 do
  res, err = http.get(base .. "/conn", { insecure = true, timeout = 5 })
  assert(res and res.status == 200, tostring(err))
  local c = res:json()
  first = first or c.conn
  assert(c.conn == first and c.requests == i, "TLS connection not reused: " .. res.body)
end
print("tls ok")
LUA
TEST_HTTPS="https://127.0.0.1:$TESTSERVER_PORT" "$TOCSIN" run "$work/tls.lua" >"$work/out" 2>&1 || fail "run failed"
grep -q "tls ok" "$work/out" || fail "no tls ok"
echo "http_tls ok"
