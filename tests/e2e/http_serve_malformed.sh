#!/usr/bin/env bash
# http.serve from outside, over raw sockets: malformed requests get 400 and
# a closed connection, oversized headers 431, oversized bodies 413 (also with
# Expect: 100-continue), pipelined requests are answered in order even when
# their handlers finish out of order, HTTP/1.0 closes, chunked bodies arrive;
# a failing handler's error is logged redacted and the client never sees the
# secret; the server keeps serving throughout and the run ends cleanly.
set -u
: "${TOCSIN:?}" "${SRC:?}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- run output:"; cat "$work/out" 2>/dev/null; exit 1; }

cat >"$work/serve.lua" <<'LUA'
local token = secret("TOCSIN_SERVE_TEST_SECRET")
local srv
srv = assert(http.serve {
  listen = "127.0.0.1:0",
  idle_timeout = 1,
  routes = {
    ["GET /slow"] = function(req)
      time.sleep(tonumber(req.query.s) or 0)
      return { body = "n=" .. req.query.n }
    end,
    ["POST /len"] = function(req) return { body = tostring(#req.body) } end,
    ["GET /leak"] = function() error("cannot reach db with password " .. token) end,
    ["POST /quit"] = function()
      task.spawn(function() time.sleep(0.05); srv:close() end)
      return { body = "bye" }
    end,
  },
})
print("PORT " .. srv.port)
srv:wait()
print("server closed")
LUA

TOCSIN_SERVE_TEST_SECRET=hunter2-very-secret "$TOCSIN" run "$work/serve.lua" >"$work/out" 2>&1 &
pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$work/out" 2>/dev/null | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || fail "the runbook did not print its port"

"$PY" - "$port" <<'PY' || fail "raw socket checks"
import socket, sys, time
port = int(sys.argv[1])

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def read_all(s):
    """Reads until the server closes (fails if it does not within the timeout)."""
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d

def read_response(s, buf=b""):
    """One response: (status, headers, body, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        assert d, "closed before a response: %r" % buf
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(65536)
        assert d, "closed in a body"
        rest += d
    return status, hdrs, rest[:n], rest[n:]

def expect_error(raw, code, what):
    s = conn()
    s.sendall(raw)
    data = read_all(s)  # the server must answer and close
    s.close()
    assert data.startswith(b"HTTP/1.1 %d " % code), "%s: got %r" % (what, data[:200])
    assert b"connection: close" in data.lower(), what
    assert b'{"error":' in data, what

def ok_get(path="/slow?n=ok"):
    s = conn()
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    st, h, body, _ = read_response(s)
    s.close()
    assert st == 200, (st, body)
    return body

expect_error(b"GARBAGE\r\n\r\n", 400, "garbage request line")
ok_get()
expect_error(b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n", 400, "header without colon")
expect_error(b"GET /slow HTTP/9.9\r\n\r\n", 505, "unsupported version")
expect_error(b"GET /slow HTTP/1.x\r\n\r\n", 400, "bad version")
expect_error(b"\x00\x01\x02\xff\xfe binary junk\r\n\r\n", 400, "binary junk")
expect_error(b"POST /len HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "bad content-length")
expect_error(b"POST /len HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
             "two content-lengths")
expect_error(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "CONNECT")
expect_error(b"GET /sl%00ow HTTP/1.1\r\nHost: x\r\n\r\n", 400, "NUL in the path")
expect_error(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n", 431, "huge header")
expect_error(b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n",
             431, "too many headers")
expect_error(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" + b"z" * 100000,
             413, "body over the limit (content-length)")
# a chunked body over the limit, found while reading it
expect_error(b"POST /len HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
             b"".join(b"10000\r\n" + b"q" * 0x10000 + b"\r\n" for _ in range(20)) + b"0\r\n\r\n",
             413, "chunked body over the limit")
ok_get()

# a half-sent request then silence: other connections are served meanwhile,
# and the server answers 408 and closes after idle_timeout (1 s here); an
# idle kept-alive connection is closed without a word
idle = conn()
idle.sendall(b"GET /slow?n=1 HTTP/1.1\r\nHo")
ok_get()
kept = conn()
kept.sendall(b"GET /slow?n=1 HTTP/1.1\r\nHost: x\r\n\r\n")
read_response(kept)
t0 = time.time()
stalled = read_all(idle)
assert stalled.startswith(b"HTTP/1.1 408 "), "a stalled request: %r" % stalled[:100]
assert read_all(kept) == b"", "an idle connection got data"
assert time.time() - t0 < 5, "idle connections were not closed in time"
idle.close()
kept.close()

# pipelining: three requests in one packet, slowest first: answers in order
s = conn()
s.sendall(b"GET /slow?n=1&s=0.3 HTTP/1.1\r\nHost: x\r\n\r\n"
          b"GET /slow?n=2&s=0.1 HTTP/1.1\r\nHost: x\r\n\r\n"
          b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
          b"GET /slow?n=4 HTTP/1.1\r\nHost: x\r\n\r\n")
rest = b""
got = []
for _ in range(4):
    st, h, body, rest = read_response(s, rest)
    assert st == 200, st
    got.append(body)
assert got == [b"n=1", b"n=2", b"5", b"n=4"], got
# and the connection stays usable (keep-alive)
s.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
st, h, body, rest = read_response(s, rest)
assert st == 404 and h["content-type"] == "application/json", (st, h)
s.sendall(b"GET /slow?n=5 HTTP/1.1\r\nHost: x\r\n\r\n")
st, h, body, rest = read_response(s, rest)
assert st == 200 and body == b"n=5"
s.close()

# a request split into single bytes
s = conn()
for b in b"GET /slow?n=bytes HTTP/1.1\r\nHost: x\r\n\r\n":
    s.send(bytes([b]))
st, h, body, _ = read_response(s)
assert st == 200 and body == b"n=bytes", (st, body)
s.close()

# Expect: 100-continue, accepted then refused
s = conn()
s.sendall(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
st, h, body, rest = read_response(s)
assert st == 100, st
s.sendall(b"abcd")
st, h, body, rest = read_response(s, rest)
assert st == 200 and body == b"4", (st, body)
s.close()
expect_error(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n",
             413, "expect with a body over the limit")

# chunked request body
s = conn()
s.sendall(b"POST /len HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
st, h, body, _ = read_response(s)
assert st == 200 and body == b"7", (st, body)
s.close()

# HTTP/1.0: answered, then closed; with keep-alive: kept
s = conn()
s.sendall(b"GET /slow?n=10 HTTP/1.0\r\n\r\n")
data = read_all(s)
assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"n=10"), data
s.close()
s = conn()
s.sendall(b"GET /slow?n=11 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
st, h, body, rest = read_response(s)
assert st == 200 and h.get("connection") == "keep-alive", h
s.sendall(b"GET /slow?n=12 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
st, h, body, rest = read_response(s, rest)
assert body == b"n=12"
s.close()

# Connection: close from the client
s = conn()
s.sendall(b"GET /slow?n=13 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = read_all(s)
assert b"n=13" in data and b"connection: close" in data.lower()
s.close()

# a client that goes away while its handler runs
s = conn()
s.sendall(b"GET /slow?n=gone&s=0.2 HTTP/1.1\r\nHost: x\r\n\r\n")
s.close()
time.sleep(0.3)

# the secret in a handler's error never reaches the client
s = conn()
s.sendall(b"GET /leak HTTP/1.1\r\nHost: x\r\n\r\n")
st, h, body, _ = read_response(s)
s.close()
assert st == 500, st
assert b"hunter2" not in body and b"***" in body, body

print(ok_get())
PY

# curl: big body refused cleanly (curl sends Expect: 100-continue over 1 MiB)
head -c 3000000 /dev/zero >"$work/big"
code=$(curl -s -o "$work/big.out" -w '%{http_code}' --data-binary @"$work/big" "http://127.0.0.1:$port/len")
[ "$code" = 413 ] || fail "curl with a 3 MB body got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$work/big" "http://127.0.0.1:$port/len")
[ "$code" = 413 ] || [ "$code" = 000 ] || fail "curl without Expect got $code"
body=$(curl -s "http://127.0.0.1:$port/slow?n=after")
[ "$body" = "n=after" ] || fail "server not serving after the checks: $body"
kill -0 "$pid" 2>/dev/null || fail "the runbook died"

# a clean end: /quit closes the server, srv:wait() returns, the run succeeds
curl -s -X POST "http://127.0.0.1:$port/quit" >/dev/null
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "the runbook did not end after srv:close()"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "the run exited $rc"
grep -q "server closed" "$work/out" || fail "srv:wait() did not return"
grep -q "hunter2" "$work/out" && fail "the secret appears in the run's output"
grep -q "the handler for GET /leak failed" "$work/out" || fail "the handler's error was not logged"
grep -q 'password \*\*\*' "$work/out" || fail "the logged error is not redacted as expected"
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$work/out" && fail "sanitizer report"

# the run ending closes the server: a request in flight gets 503 (or the
# connection closes), the process exits at once instead of waiting for the
# handler, and the port is free afterwards
cat >"$work/short.lua" <<'LUA'
local srv = assert(http.serve { routes = {
  ["GET /slow"] = function() time.sleep(60); return "late" end,
} })
print("PORT " .. srv.port)
time.sleep(0.5)
LUA
"$TOCSIN" run "$work/short.lua" >"$work/out" 2>&1 &
pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$work/out" 2>/dev/null | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || fail "the short runbook did not print its port"
code=$(curl -s -o /dev/null -m 20 -w '%{http_code}' "http://127.0.0.1:$port/slow")
[ "$code" = 503 ] || [ "$code" = 000 ] || fail "in-flight request at run end got $code"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "the run did not end with its server"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "the short run exited $rc"
curl -s -m 5 "http://127.0.0.1:$port/slow" && fail "the port still answers after the run"
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$work/out" && fail "sanitizer report"
echo "http_serve_malformed ok"
