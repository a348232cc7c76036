-- http: status, headers and JSON round trip through /echo; every method;
-- query encoding; res:json(); non-2xx is a result; follow=false vs true.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")

-- GET /json: status, lower-case headers, body, time, url, res:json()
local res, err = http.get(base .. "/json")
assert(res, tostring(err))
assert(res.status == 200, "status " .. tostring(res.status))
assert(res.headers["content-type"] == "application/json", tostring(res.headers["content-type"]))
assert(tonumber(res.headers["content-length"]) == #res.body)
assert(type(res.time) == "number" and res.time >= 0 and res.time < 5)
assert(res.url == base .. "/json", res.url)
local doc = res:json()
assert(doc.ok == true and doc.n == 42 and doc.items[3] == 3 and doc.nested.a == "b")

-- custom headers reach the server; our User-Agent is sent
res = assert(http.get(base .. "/echo", { headers = { ["X-Token"] = "abc", ["X-Num"] = 7 } }))
doc = res:json()
assert(doc.method == "GET")
assert(doc.headers["x-token"] == "abc", json.encode(doc.headers))
assert(doc.headers["x-num"] == "7")
assert(doc.headers["user-agent"]:match("^tocsin/"), doc.headers["user-agent"])
assert(res.headers["x-echo"] == "1")

-- every method, with and without bodies
for _, m in ipairs({ "post", "put", "patch" }) do
  -- a table is sent as JSON
  res = assert(http[m](base .. "/echo", { a = 1, list = { 1, 2 } }))
  doc = res:json()
  assert(doc.method == m:upper(), m .. " got " .. doc.method)
  assert(doc.headers["content-type"] == "application/json")
  local sent = json.decode(doc.body)
  assert(sent.a == 1 and sent.list[2] == 2)
  -- a string is sent as is
  res = assert(http[m](base .. "/echo", "raw=text", { headers = { ["Content-Type"] = "text/plain" } }))
  doc = res:json()
  assert(doc.body == "raw=text" and doc.headers["content-type"] == "text/plain")
end
res = assert(http.delete(base .. "/echo"))
assert(res:json().method == "DELETE")
res = assert(http.head(base .. "/json"))
assert(res.status == 200 and res.body == "" and res.headers["content-type"] == "application/json")

-- http.request with every kind of field
res = assert(http.request {
  method = "patch", url = base .. "/echo", json = { x = "y" },
  headers = { Accept = "application/json" }, query = { q = "1" }, timeout = 5,
})
doc = res:json()
assert(doc.method == "PATCH" and json.decode(doc.body).x == "y" and doc.query.q == "1")
assert(doc.headers["accept"] == "application/json")
res = assert(http.request { url = base .. "/echo", body = "plain", method = "POST" })
assert(res:json().body == "plain")
res = assert(http.request { url = base .. "/json" })
assert(res.status == 200)

-- query encoding: reserved characters, spaces, unicode, arrays, booleans, numbers
res = assert(http.get(base .. "/echo", { query = {
  q = "a b&c=d/e?f#g", u = "ção", list = { "x", "y" }, flag = true, n = 5, empty = "",
} }))
doc = res:json()
assert(doc.query.q == "a b&c=d/e?f#g", doc.query.q)
assert(doc.query.u == "ção")
assert(doc.query.list[1] == "x" and doc.query.list[2] == "y")
assert(doc.query.flag == "true" and doc.query.n == "5" and doc.query.empty == "")
-- sorted keys, %-encoding as curl_easy_escape does it
assert(doc.raw_query:match("^empty=&flag=true&list=x&list=y&n=5&q=a%%20b%%26c%%3Dd%%2Fe%%3Ff%%23g&u="),
  doc.raw_query)
-- appended to an existing query
res = assert(http.get(base .. "/echo?pre=1", { query = { post = 2 } }))
assert(res:json().raw_query == "pre=1&post=2", res:json().raw_query)

-- a non-2xx status is a result, not an error
for _, code in ipairs({ 404, 500, 503 }) do
  res, err = http.get(base .. "/status/" .. code)
  assert(res and not err, tostring(err))
  assert(res.status == code and res.ok == false)
end

-- follow=false (default) shows the redirect; follow=true reaches /json
res = assert(http.get(base .. "/redirect"))
assert(res.status == 302 and res.headers["location"] == "/json")
res = assert(http.get(base .. "/redirect", { follow = true }))
assert(res.status == 200 and res.url == base .. "/json", res.url)
assert(res:json().service == "testserver")

-- res:json() raises on a body that is not JSON
res = assert(http.head(base .. "/json"))
local ok, e = pcall(res.json, res)
assert(not ok and tostring(e):match("JSON"), tostring(e))

-- programming mistakes raise
assert(not pcall(http.get, {}))
assert(not pcall(http.get))
assert(not pcall(http.get, base, "not a table"))
assert(not pcall(http.request, { method = "GET" }))
assert(not pcall(http.get, base, { headers = { ["X-Bad"] = "a\r\nInjected: 1" } }))
assert(not pcall(http.get, base, { timeout = {} }))
print("http_basic ok")
