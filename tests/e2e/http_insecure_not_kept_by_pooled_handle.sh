#!/usr/bin/env bash
# A request with insecure = true leaves nothing behind on its pooled libcurl
# handle: the next request (same task, same handle) to a self-signed server
# is refused again (err.kind "tls").
. "$SRC/tests/e2e/lib.bash"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
start_testserver --cert "$WORK/cert.pem" --key "$WORK/key.pem"

cat >"$WORK/tls.lua" <<'LUA'
local base = env("TEST_HTTPS")
for _ = 1, 3 do
  local res, err = http.get(base .. "/json", { insecure = true, timeout = 5 })
  assert(res and res.status == 200, "insecure = true refused: " .. tostring(err))
  res, err = http.get(base .. "/json", { timeout = 5 })
  assert(res == nil and err.kind == "tls", "insecure kept by the next request: " .. tostring(err))
end
print("tls ok")
LUA
TEST_HTTPS="https://127.0.0.1:$TESTSERVER_PORT" "$TOCSIN" run "$WORK/tls.lua" >"$WORK/out" 2>&1 ||
  { cat "$WORK/out"; fail "run failed"; }
grep -q "tls ok" "$WORK/out" || fail "no tls ok"
echo "http_insecure_not_kept_by_pooled_handle ok"
