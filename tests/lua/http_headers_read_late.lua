-- http: res.headers is made from the response's raw header lines when first
-- read; it is the same plain table as ever (lower-case names, values
-- trimmed), read once or many times, before or after a garbage collection,
-- from pairs(res) as well as res.headers; a runbook may set it itself.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")

local res = assert(http.get(base .. "/echo", { headers = { ["X-Token"] = "abc" } }))
collectgarbage()
collectgarbage()
local h = res.headers
assert(type(h) == "table" and getmetatable(h) == nil, "not a plain table")
assert(rawget(res, "headers") == h and res.headers == h, "made more than once")
assert(h["content-type"] == "application/json", tostring(h["content-type"]))
assert(tonumber(h["content-length"]) == #res.body)
assert(h["x-echo"] == "1" and h["x-multi"] == "a")
assert(h.server:match("^tocsin%-testserver/1"), tostring(h.server))
local n = 0
for k, v in pairs(h) do
  assert(k == k:lower() and type(v) == "string" and v == v:match("^%s*(.-)%s*$"), k)
  n = n + 1
end
assert(n >= 5, n)

-- pairs(res) before res.headers was read sees it too
res = assert(http.get(base .. "/json"))
local seen = {}
for k, v in pairs(res) do seen[k] = v end
assert(type(seen.headers) == "table" and seen.headers["content-type"] == "application/json",
  "pairs(res) missed headers")
assert(seen.status == 200 and seen.body == res.body and seen.url and seen.time and seen.ok == true)

-- set before being read: what the runbook set
res = assert(http.get(base .. "/json"))
res.headers = { mine = "yes" }
assert(res.headers.mine == "yes" and res.headers["content-type"] == nil)
res = assert(http.get(base .. "/json"))
res.headers = nil
assert(res.headers == nil, "res.headers came back after being set to nil")

-- HEAD and a followed redirect: the last response's headers
res = assert(http.head(base .. "/json"))
assert(res.headers["content-type"] == "application/json" and res.body == "")
res = assert(http.get(base .. "/redirect", { follow = true }))
assert(res.status == 200 and res.headers.location == nil and res.headers["content-type"] == "application/json")

-- many responses, most never read, some read late: each keeps its own
local kept = {}
for i = 1, 300 do
  local r = assert(http.get(base .. "/echo", { query = { i = i } }))
  if i % 3 == 0 then kept[#kept + 1] = { r = r, i = i } end
end
collectgarbage()
for _, k in ipairs(kept) do
  assert(k.r.headers["content-length"] == tostring(#k.r.body), k.i)
  assert(k.r:json().query.i == tostring(k.i))
end
print("http_headers_read_late ok")
