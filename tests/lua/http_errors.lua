-- http: operational failures are `nil, err` with a kind: a refused
-- connection, a timeout (measured), a name that does not resolve.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")

-- port 1 on loopback: nothing listens there
local res, err = http.get("http://127.0.0.1:1/", { timeout = 5 })
assert(res == nil and err, "expected a failure")
assert(err.kind == "connect", tostring(err))
assert(type(err.message) == "string" and err.message:match("127%.0%.0%.1"), err.message)
assert(tostring(err):match("^connect: "), tostring(err))

-- /slow never answers: timeout=1 gives kind timeout after about 1 s
local t0 = time.monotonic()
res, err = http.get(base .. "/slow", { timeout = 1 })
local elapsed = time.monotonic() - t0
assert(res == nil and err and err.kind == "timeout", tostring(err))
assert(elapsed >= 0.9 and elapsed <= 1.1, ("timeout took %.3fs"):format(elapsed))

-- durations as strings work too
t0 = time.monotonic()
res, err = http.post(base .. "/slow", "x", { timeout = "500ms" })
elapsed = time.monotonic() - t0
assert(err and err.kind == "timeout" and elapsed >= 0.45 and elapsed <= 0.8, elapsed)

-- an invalid host name: dns (".invalid" never resolves, RFC 6761)
res, err = http.get("http://no-such-host.invalid/", { timeout = 5 })
assert(res == nil and err.kind == "dns", tostring(err))

-- unsupported scheme: protocol
res, err = http.get("file:///etc/passwd")
assert(res == nil and err.kind == "protocol", tostring(err))

-- max_body: a larger response is refused with kind limit
res, err = http.get(base .. "/json", { max_body = 10 })
assert(res == nil and err.kind == "limit", tostring(err))

-- a connection reset by the server: protocol, with the system's reason
res, err = http.get(base .. "/reset", { timeout = 5 })
assert(res == nil and err.kind == "protocol", tostring(err))
assert(err.message:match("reset"), err.message)

-- the engine still works after failures
res = assert(http.get(base .. "/json"))
assert(res.status == 200)
print("http_errors ok")
