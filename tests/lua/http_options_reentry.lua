-- An options table whose __index calls http itself.  The nested
-- call (which cannot wait there) used to release the outer call's pooled
-- request and rewrite the shared URL buffer under it: the outer request
-- went to the nested URL and the same curl handle sat twice in the pool
-- (a later request crashed in http_multi's check_done).
local base = env("TEST_HTTP")

local function hostile(extra)
  return setmetatable({}, { __index = function(_, k)
    local ok, err = pcall(http.get, base .. "/status/418")
    assert(not ok and tostring(err):find("cannot wait for I/O here"), tostring(err))
    return extra[k]
  end })
end

local res, err = http.get(base .. "/echo?outer=1", hostile({ headers = { ["X-Outer"] = "yes" } }))
assert(res, tostring(err))
assert(res.status == 200, "outer request sent elsewhere: " .. tostring(res.status))
local echo = res:json()
assert(echo.path == "/echo", tostring(echo.path))
assert(echo.headers["x-outer"] == "yes", "outer headers lost")

local pres, perr = http.post(base .. "/echo", "b", hostile({ query = { q = "1" }, timeout = 5 }))
assert(pres and pres.status == 200, tostring(perr))
assert(pres:json().body == "b")

-- The pool is consistent afterwards: sequential and concurrent requests.
for _ = 1, 3 do
  local r, e = http.get(base .. "/json")
  assert(r and r.status == 200, tostring(e))
end
local ts = {}
for i = 1, 6 do
  ts[i] = task.spawn(function() return http.get(base .. "/echo?i=" .. i) end)
end
for i = 1, 6 do
  local ok, r, e = ts[i]:wait()
  assert(ok and r, tostring(r or e))
  assert(r:json().query.i == tostring(i), "response mixed up")
end
