#!/usr/bin/env bash
# http.serve against slow and greedy clients: request_timeout is a deadline
# for the whole request that bytes trickling in do not push back (a client
# sending one byte at a time, or half a request then silence, is cut off
# after it), while a kept-alive connection between requests and a request
# sent in a few pieces inside the deadline are served; max_connections
# turns the next connection away at once with a 503, and frees its slot
# when a connection closes.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/http_serve_lib.bash"

cat >"$WORK/slow.lua" <<'LUA'
local a = assert(http.serve { request_timeout = 1, idle_timeout = 10, routes = {
  ["GET /x"] = function() return "x" end,
} })
local b = assert(http.serve { max_connections = 3, routes = {
  ["GET /x"] = function() return "y" end,
} })
print("PORT2 " .. b.port)
print("PORT " .. a.port)
a:wait()
b:close()
LUA
serve_start "$WORK/slow.lua"
PORT2=$(sed -n 's/^PORT2 \([0-9]*\)$/\1/p' "$WORK/run.out")

"$PY" - "$PORT" "$PORT2" <<'PY' || fail "slow client checks"
import select, socket, sys, time
port, port2 = int(sys.argv[1]), int(sys.argv[2])

def conn(p=port):
    return socket.create_connection(("127.0.0.1", p), timeout=10)

def closed_within(s, limit):
    """Seconds until the server ends the connection (an answer then EOF, or a reset)."""
    t0 = time.time()
    s.settimeout(limit)
    try:
        while s.recv(65536):
            pass
    except socket.timeout:
        raise AssertionError("still open after %.1fs" % limit)
    except ConnectionResetError:
        pass
    return time.time() - t0

def get(s, path="/x"):
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith((b"x", b"y")):
        d = s.recv(65536)
        assert d, "closed: %r" % data
        data += d
    return data

# one byte every 0.2 s, the headers never ending: cut off after about 1 s
s = conn()
t0 = time.time()
msg = b"GET /x HTTP/1.1\r\n" + b"X-Slow: y\r\n" * 100
cut = None
for b in msg:
    try:
        s.send(bytes([b]))
    except (BrokenPipeError, ConnectionResetError):
        cut = time.time() - t0
        break
    r, _, _ = select.select([s], [], [], 0.2)
    if r:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            data = b""
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data
        cut = time.time() - t0
        break
    if time.time() - t0 > 6:
        break
assert cut is not None and cut < 3, "a one-byte-at-a-time client was not cut off (%s)" % cut
s.close()

# half a request, then silence: closed after the deadline, not idle_timeout
s = conn()
s.sendall(b"GET /x HTTP/1.1\r\nHo")
el = closed_within(s, 4)
assert 0.8 < el < 3, el
s.close()

# a request in three pieces within the deadline is served
s = conn()
for piece in (b"GET /x HT", b"TP/1.1\r\nHost:", b" x\r\n\r\n"):
    s.sendall(piece)
    time.sleep(0.2)
data = b""
while not data.endswith(b"x"):
    d = s.recv(100)
    assert d, data
    data += d
assert data.startswith(b"HTTP/1.1 200"), data
# and the connection, idle longer than request_timeout, still serves
time.sleep(1.5)
assert get(s).startswith(b"HTTP/1.1 200")
s.close()

# max_connections = 3: three are served, the fourth gets 503 at once
held = [conn(port2) for _ in range(3)]
for h in held:
    assert get(h).startswith(b"HTTP/1.1 200")
t0 = time.time()
extra = conn(port2)
extra.settimeout(3)
try:
    data = extra.recv(65536)
except ConnectionResetError:
    data = b""
assert time.time() - t0 < 1, "the connection over the limit was not turned away at once"
assert data == b"" or data.startswith(b"HTTP/1.1 503"), data
extra.close()
held.pop().close()
time.sleep(0.3)
s = conn(port2)
assert get(s).startswith(b"HTTP/1.1 200"), "a freed slot is not reused"
s.close()
for h in held:
    h.close()
print("ok")
PY
kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/run.out"; fail "the run died"; }
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$WORK/run.out" && fail "sanitizer report"
echo "http_serve_slow_clients ok"
