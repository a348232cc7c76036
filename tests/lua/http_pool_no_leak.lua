-- http: a request on a pooled libcurl handle starts from the handle's own
-- options, whatever the request before it on that handle set: method,
-- body, headers, redirects, decoding, credentials, body limit, timeout.
-- One task, one request at a time: each request reuses the previous one's
-- handle.  A plain GET sends no Accept-Encoding (only when asked).
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")
local echo = base .. "/echo"

local function plain_get(after)
  local res = assert(http.get(echo))
  local e = res:json()
  local h = e.headers
  assert(e.method == "GET", after .. ": method " .. e.method)
  assert(e.body == "", after .. ": body " .. e.body)
  assert(h["content-length"] == nil and h["content-type"] == nil and h["x-a"] == nil,
    after .. ": headers " .. json.encode(h))
  assert(h["accept-encoding"] == nil, after .. ": accept-encoding " .. tostring(h["accept-encoding"]))
  assert(h["authorization"] == nil, after .. ": authorization " .. tostring(h["authorization"]))
  assert(h["user-agent"]:match("^tocsin/"), after .. ": user-agent " .. tostring(h["user-agent"]))
  assert(e.raw_query == "", after .. ": query " .. e.raw_query)
  return e
end

plain_get("first")

local res = assert(http.post(echo, { a = 1 }, { headers = { ["X-A"] = "1" }, query = { q = 1 } }))
local e = res:json()
assert(e.method == "POST" and e.headers["x-a"] == "1" and e.body == '{"a":1}', res.body)
plain_get("POST with a JSON body, a header and a query")

res = assert(http.head(echo))
assert(res.status == 200 and res.body == "")
local after_head = plain_get("HEAD")
assert(after_head.path == "/echo")

assert(http.delete(echo))
plain_get("DELETE")

e = assert(http.put(echo)):json()
assert(e.method == "PUT" and e.headers["content-length"] == "0", json.encode(e))
plain_get("PUT without a body")

e = assert(http.request { method = "GET", url = echo, body = "xyz" }):json()
assert(e.method == "GET" and e.body == "xyz", json.encode(e))
plain_get("GET with a body")

e = assert(http.request { method = "OPTIONS", url = echo }):json()
assert(e.method == "OPTIONS", e.method)
plain_get("OPTIONS")

res = assert(http.get(base .. "/redirect", { follow = true }))
assert(res.status == 200, "follow = true: " .. res.status)
res = assert(http.get(base .. "/redirect"))
assert(res.status == 302, "follow leaked into the next request: " .. res.status)

e = assert(http.get(echo, { compressed = true })):json()
assert(e.headers["accept-encoding"], "compressed = true sent no Accept-Encoding")
plain_get("compressed = true")

e = assert(http.get(echo, { headers = { ["Accept-Encoding"] = "identity", ["User-Agent"] = "probe" } })):json()
assert(e.headers["accept-encoding"] == "identity" and e.headers["user-agent"] == "probe", json.encode(e.headers))
plain_get("an Accept-Encoding and a User-Agent header")

local authed = base:gsub("^http://", "http://user:pw@")
e = assert(http.get(authed .. "/echo")):json()
assert(e.headers["authorization"], "no credentials sent from the URL")
plain_get("a URL with credentials")

local r2, err = http.get(base .. "/json", { max_body = 5 })
assert(not r2 and err.kind == "limit", tostring(err))
res = assert(http.get(base .. "/json"))
assert(res:json().n == 42, "max_body leaked: " .. #res.body)

assert(http.get(base .. "/json", { timeout = 0.2 }))
local t0 = time.monotonic()
r2, err = http.get(base .. "/slow", { timeout = 0.8 })
local took = time.monotonic() - t0
assert(not r2 and err.kind == "timeout", tostring(err))
assert(took >= 0.7, ("the previous request's timeout applied: %.2f s"):format(took))
plain_get("a timeout")

print("http_pool_no_leak ok")
