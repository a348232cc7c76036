#!/usr/bin/env bash
# 10,000 idle connections to the daemon's API (opened, nothing sent) cannot
# lock clients out: over the connection limit the oldest idle one is closed
# to make room, so a client connecting after them is served at once; a
# connection in the middle of a request is never the one closed.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
ulimit -n 20000 2>/dev/null || ulimit -n 12000 2>/dev/null || true
[ "$(ulimit -n)" -ge 10300 ] || { echo "SKIP-like: RLIMIT_NOFILE $(ulimit -n) too low"; fail "need 10300 descriptors"; }
mkdir -p runbooks
port=$(free_port)
printf 'return { listen = "127.0.0.1:%s", runbooks = { "runbooks" } }\n' "$port" >tocsin.lua
"$TOCSIN" daemon 2>daemon.log &
pid=$!
_started+=($pid)
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
/usr/bin/python3 - "$port" <<'PY' || fail "idle connections: $(tail -3 daemon.log)"
import socket, sys, time
port = int(sys.argv[1])
def get(s):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data
# A request begun and not finished: it must survive the flood.
busy = socket.create_connection(("127.0.0.1", port))
busy.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
idle = []
for _ in range(10000):
    idle.append(socket.create_connection(("127.0.0.1", port)))
time.sleep(0.5)
t0 = time.time()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
r = get(s)
assert r.startswith(b"HTTP/1.1 200"), r
assert time.time() - t0 < 1, time.time() - t0
busy.settimeout(5)
busy.sendall(b"\r\n")
r = busy.recv(4096)
assert r.startswith(b"HTTP/1.1 200"), r
closed = 0
for c in idle:
    c.settimeout(0.001)
    try:
        closed += c.recv(1) == b""
    except (socket.timeout, BlockingIOError):
        pass
    except ConnectionResetError:
        closed += 1
assert closed >= 10000 - 1024, closed
print("idle closed:", closed)
PY
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "daemon RSS after the flood: ${rss} kB"
kill -TERM $pid
wait $pid || fail "daemon exit $?"
echo "idle connections ok"
