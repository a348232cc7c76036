#!/usr/bin/env bash
# Request bodies in flight are bounded (max_inflight; by default a quarter
# of the run's memory limit, at most 64 MiB): 40 concurrent 1 MiB POSTs to a
# run limited to 32 MiB get 200 or 503, never kill the server, and the run
# ends cleanly afterwards.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/http_serve_lib.bash"

cat >"$WORK/bodies.lua" <<'LUA'
return { limits = { memory = "32MiB" }, run = function()
  local srv
  srv = assert(http.serve { routes = {
    ["POST /len"] = function(req)
      time.sleep(0.5)
      return tostring(#req.body)
    end,
    ["POST /quit"] = function() task.spawn(function() srv:close() end); return "bye" end,
  } })
  print("PORT " .. srv.port)
  assert(srv:wait())
end }
LUA
serve_start "$WORK/bodies.lua"

"$PY" - "$PORT" <<'PY' || { cat "$WORK/run.out"; fail "concurrent bodies"; }
import socket, sys, threading
port = int(sys.argv[1])
MiB = 1 << 20
results = []

def post(n=MiB):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"POST /len HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % n + b"b" * n)
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            if data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n%d" % n):
                break
        s.close()
        results.append(data[:12])
    except OSError as e:
        results.append(repr(e).encode())

threads = [threading.Thread(target=post) for _ in range(40)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = sum(r == b"HTTP/1.1 200" for r in results)
busy = sum(r == b"HTTP/1.1 503" for r in results)
print("200:", ok, "503:", busy)
assert ok + busy == 40, results
assert ok >= 1 and busy >= 1, results
# still serving
post(1000)
assert results[-1] == b"HTTP/1.1 200", results[-1]
PY
curl -s -m 10 -X POST "http://127.0.0.1:$PORT/quit" >/dev/null
serve_end 0
echo "http_serve_inflight ok"
