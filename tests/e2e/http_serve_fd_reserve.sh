#!/usr/bin/env bash
# File descriptors stay available to the runbook while clients flood its
# server: with `ulimit -n 256` and 300 idle clients connected, the server
# keeps a reserve (it turns connections away instead of taking the last
# descriptors), so a handler's own http.get and shell.run still work.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/http_serve_lib.bash"
start_testserver

cat >"$WORK/flood.lua" <<'LUA'
local srv = assert(http.serve { routes = {
  ["GET /ping"] = function() return { json = { pong = true } } end,
  ["GET /probe"] = function()
    local res, err = http.get(env("TEST_HTTP") .. "/json")
    local sh, serr = shell.run { "echo", "hi" }
    return { json = { http = res and res.status or err.kind, shell = sh and sh.stdout or serr.kind } }
  end,
} })
print("PORT " .. srv.port)
srv:wait()
LUA
SERVE_PRE="ulimit -n 256" serve_start "$WORK/flood.lua"

"$PY" - "$PORT" <<'PY' || fail "flood checks"
import json, socket, sys, time
port = int(sys.argv[1])

def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=10)

def get(s, path):
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        assert d, "closed: %r" % data
        data += d
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            n = int([l.split(b":")[1] for l in head.split(b"\r\n")
                     if l.lower().startswith(b"content-length:")][0])
            if len(body) >= n:
                return head, body[:n]

control = conn()
head, body = get(control, "/ping")
assert json.loads(body) == {"pong": True}, body

flood = []
for _ in range(300):
    flood.append(conn())
time.sleep(1)
head, body = get(control, "/probe")
assert json.loads(body) == {"http": 200, "shell": "hi\n"}, "under the flood: %r" % body
# the connections over the budget were turned away, not left hanging
turned = 0
for s in flood:
    s.settimeout(0.01)
    try:
        d = s.recv(100)
        turned += d == b"" or d.startswith(b"HTTP/1.1 503")
    except socket.timeout:
        pass
    except ConnectionResetError:
        turned += 1
assert turned >= 300 - 256, turned
for s in flood:
    s.close()
time.sleep(0.3)
s = conn()
head, body = get(s, "/probe")
assert json.loads(body)["http"] == 200, body
print("turned away", turned)
PY
kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/run.out"; fail "the run died"; }
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$WORK/run.out" && fail "sanitizer report"
echo "http_serve_fd_reserve ok"
