-- http.serve: a server in the runbook's own run, driven by the http client
-- of the same run: routes (exact, prefix, any method, HEAD), request fields,
-- JSON round trip, 404/400/500/413, keep-alive, 200 concurrent clients,
-- handlers doing I/O, srv:close() and a server ending with its task.
local base = env("TEST_HTTP")

local hits = 0
local routes = {
  ["GET /api/health"] = function()
    hits = hits + 1
    return { status = 200, json = { ok = true } }
  end,
  ["GET /api/*"] = function(req) return { json = { prefix = true, path = req.path } } end,
  ["GET /api/deep/*"] = function(req) return { json = { deeper = true, path = req.path } } end,
  ["* /any"] = function(req) return { body = "any " .. req.method } end,
  ["GET /req"] = function(req)
    return { json = { method = req.method, path = req.path, query = req.query,
                      headers = req.headers, remote = req.remote, port = req.remote_port } }
  end,
  ["POST /echo"] = function(req)
    return { status = 201, headers = { ["X-Reply"] = "yes", ["X-Num"] = 7 }, json = req:json() }
  end,
  ["PUT /raw"] = function(req)
    return { body = req.body, headers = { ["Content-Type"] = "application/octet-stream" } }
  end,
  ["GET /text"] = function() return "plain text" end,
  ["GET /empty"] = function() return { status = 204 } end,
  ["GET /boom"] = function() error("kaboom") end,
  ["GET /boom-table"] = function() error({ code = 42 }) end,
  ["GET /bad-return"] = function() return 42 end,
  ["GET /bad-status"] = function() return { status = "nope" } end,
  ["GET /bad-header"] = function() return { headers = { ["X-Evil"] = "a\r\nInjected: 1" }, body = "x" } end,
  ["GET /slow"] = function(req)
    time.sleep(tonumber(req.query.s) or 0.2)
    return { json = { n = tonumber(req.query.n) } }
  end,
  ["GET /upstream"] = function()
    -- a handler is a task: it may use any primitive
    local res = assert(http.get(base .. "/json"))
    return { json = { upstream = res.status } }
  end,
  ["GET /conn"] = function(req) return { json = { port = req.remote_port } } end,
}
local srv = assert(http.serve { listen = "127.0.0.1:0", routes = routes })
assert(math.type(srv.port) == "integer" and srv.port > 0, "srv.port: " .. tostring(srv.port))
local url = "http://127.0.0.1:" .. srv.port
assert(srv.url == url, srv.url)

-- routes
local res = assert(http.get(url .. "/api/health"))
assert(res.status == 200 and res:json().ok == true, res.body)
assert(res.headers["content-type"] == "application/json", tostring(res.headers["content-type"]))
assert(tonumber(res.headers["content-length"]) == #res.body)
assert(res.headers.date and res.headers.date:match("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$"),
  tostring(res.headers.date))
assert(hits == 1)
res = assert(http.get(url .. "/api/other/thing"))
assert(res.status == 200 and res:json().prefix and res:json().path == "/api/other/thing", res.body)
res = assert(http.get(url .. "/api"))
assert(res.status == 200 and res:json().prefix, "prefix route matches its own root")
res = assert(http.get(url .. "/api/deep/x"))
assert(res:json().deeper, "the longer prefix wins")
res = assert(http.get(url .. "/apix"))
assert(res.status == 404, "a prefix matches whole segments only")
for _, m in ipairs { "GET", "POST", "DELETE", "PATCH" } do
  res = assert(http.request { method = m, url = url .. "/any" })
  assert(res.status == 200 and res.body == "any " .. m, res.body)
end
res = assert(http.post(url .. "/api/health", "x"))
assert(res.status == 404, "method mismatch is unmatched")
res = assert(http.head(url .. "/text"))
assert(res.status == 200 and res.body == "" and res.headers["content-length"] == "10", "HEAD via GET")

-- 404 is JSON
res = assert(http.get(url .. "/nowhere"))
assert(res.status == 404 and res:json().error == "not found", res.body)

-- request fields: query decoded, headers lower-case
res = assert(http.get(url .. "/req?a=1&b=x%20y&c=a+b&empty=&flag&%C3%A9=%E2%9C%93",
  { headers = { ["X-Custom-Thing"] = "Hello", ["X-Two"] = "2" } }))
local r = res:json()
assert(r.method == "GET" and r.path == "/req", res.body)
assert(r.query.a == "1" and r.query.b == "x y" and r.query.c == "a b", res.body)
assert(r.query.empty == "" and r.query.flag == "" and r.query["é"] == "✓", res.body)
assert(r.headers["x-custom-thing"] == "Hello" and r.headers["x-two"] == "2", res.body)
assert(r.headers.host and r.remote == "127.0.0.1" and r.port > 0, res.body)
res = assert(http.get(url .. "/api/a%20b"))
assert(res:json().path == "/api/a b", "path is percent-decoded: " .. res.body)

-- JSON round trip, status and headers of the response
local doc = { name = "tocsin", list = { 1, 2, 3 }, nested = { ok = true, s = "é\"\n" } }
res = assert(http.post(url .. "/echo", doc))
assert(res.status == 201, res.status)
assert(res.headers["x-reply"] == "yes" and res.headers["x-num"] == "7")
local back = res:json()
assert(back.name == "tocsin" and #back.list == 3 and back.list[3] == 3)
assert(back.nested.ok == true and back.nested.s == "é\"\n")
-- a binary body comes back byte for byte
local bin = {}
for i = 0, 255 do bin[#bin + 1] = string.char(i) end
bin = table.concat(bin):rep(64)
res = assert(http.put(url .. "/raw", bin))
assert(res.status == 200 and res.body == bin and res.headers["content-type"] == "application/octet-stream")
res = assert(http.get(url .. "/text"))
assert(res.body == "plain text" and res.headers["content-type"]:find("text/plain", 1, true))
res = assert(http.get(url .. "/empty"))
assert(res.status == 204 and res.body == "")

-- errors in handlers: 500 with a JSON body, the server goes on
res = assert(http.get(url .. "/boom"))
assert(res.status == 500, res.status)
assert(res:json().error:find("kaboom", 1, true), res.body)
res = assert(http.get(url .. "/boom-table"))
assert(res.status == 500, res.status)
res = assert(http.get(url .. "/bad-return"))
assert(res.status == 500 and res:json().error:find("returned number", 1, true), res.body)
res = assert(http.get(url .. "/bad-status"))
assert(res.status == 500 and res:json().error:find("status", 1, true), res.body)
res = assert(http.get(url .. "/bad-header"))
assert(res.status == 500 and res.headers["injected"] == nil, res.body)
res = assert(http.post(url .. "/echo", "{not json", { headers = { ["Content-Type"] = "application/json" } }))
assert(res.status == 400 and res:json().error:find("invalid JSON", 1, true), res.body)
res = assert(http.get(url .. "/api/health"))
assert(res.status == 200, "the server survives failing handlers")

-- handlers are tasks: they can do I/O
if base then
  res = assert(http.get(url .. "/upstream"))
  assert(res.status == 200 and res:json().upstream == 200, res.body)
end

-- keep-alive: many requests, (almost) one connection
local ports = {}
local nports = 0
for _ = 1, 50 do
  local c = assert(http.get(url .. "/conn")):json()
  if not ports[c.port] then
    ports[c.port] = true
    nports = nports + 1
  end
end
assert(nports <= 2, ("50 sequential requests used %d connections"):format(nports))

-- body limits: default 1 MiB, and max_body
res = assert(http.post(url .. "/echo", ("x"):rep(2 * 1024 * 1024)))
assert(res.status == 413, "2 MiB body: " .. res.status)
local small = assert(http.serve { routes = { ["POST /"] = function(req) return { body = #req.body .. "" } end },
  max_body = "1k" })
local surl = "http://127.0.0.1:" .. small.port
res = assert(http.post(surl .. "/", ("y"):rep(1024)))
assert(res.status == 200 and res.body == "1024", res.body)
res = assert(http.post(surl .. "/", ("y"):rep(1025)))
assert(res.status == 413 and res:json().error:find("too large", 1, true), res.status)
res = assert(http.post(surl .. "/", ("y"):rep(10)))
assert(res.status == 200 and res.body == "10", "the server goes on after a 413")
small:close()

-- 200 concurrent clients, each request handled by its own task (sleeping)
local N = 200
local t0 = time.monotonic()
local ts = {}
for i = 1, N do
  ts[i] = task.spawn(function()
    local rr, err = http.get(url .. "/slow", { query = { n = i, s = 0.3 }, timeout = 60 })
    if not rr then return nil, err end
    return rr.status, rr:json().n
  end)
end
for i = 1, N do
  local ok, status, n = ts[i]:wait()
  assert(ok and status == 200 and n == i, ("client %d: %s %s"):format(i, tostring(status), tostring(n)))
end
local took = time.monotonic() - t0
-- one after the other this would take 60 s
assert(took < 30, ("200 concurrent 0.3 s requests took %.1f s"):format(took))

-- bad arguments raise; a busy port is an error value
assert(not pcall(http.serve, { routes = { ["/nomethod"] = function() end } }))
assert(not pcall(http.serve, { routes = { ["GET /a/*/b"] = function() end } }))
assert(not pcall(http.serve, { routes = { ["GET /x"] = "not a function" } }))
assert(not pcall(http.serve, { listen = "nohost", routes = {} }))
-- the limits' options: checked, not ignored
assert(not pcall(http.serve, { max_connections = 0, routes = {} }))
assert(not pcall(http.serve, { max_connections = 1.5, routes = {} }))
assert(not pcall(http.serve, { max_inflight = "lots", routes = {} }))
assert(not pcall(http.serve, { request_timeout = "soon", routes = {} }))
local limited = assert(http.serve { max_connections = 2, max_inflight = "1KiB", request_timeout = "5s",
  routes = { ["POST /len"] = function(req) return tostring(#req.body) end } })
res = assert(http.post(limited.url .. "/len", string.rep("b", 1000)))
assert(res.status == 200 and res.body == "1000", res.status)
res = assert(http.post(limited.url .. "/len", string.rep("b", 2000)))
assert(res.status == 503 and res:json().error:find("in flight"), res.status)
limited:close()
local dup, err = http.serve { listen = "127.0.0.1:" .. srv.port, routes = {} }
assert(dup == nil and err.kind == "connect", "listening twice on a port: " .. tostring(err))

-- a server ends with the task that started it
local inner_port
local owner = task.spawn(function()
  local s = assert(http.serve { routes = { ["GET /"] = function() return "inner" end } })
  inner_port = s.port
  time.sleep(3600)
end)
while not inner_port do time.sleep(0.01) end
res = assert(http.get("http://127.0.0.1:" .. inner_port .. "/"))
assert(res.body == "inner")
owner:cancel()
local gone, gerr = http.get("http://127.0.0.1:" .. inner_port .. "/", { timeout = 5 })
assert(gone == nil and gerr.kind == "connect", "server of a cancelled task still answers")

-- srv:close() inside a handler: its own answer still goes out, then the
-- connection closes and new connections are refused
local closer
closer = assert(http.serve { routes = {
  ["POST /close"] = function()
    closer:close()
    time.sleep(0.05)
    return { body = "closing" }
  end,
} })
res = assert(http.post(closer.url .. "/close", "x"))
assert(res.status == 200 and res.body == "closing" and res.headers.connection == "close")
gone, gerr = http.get(closer.url .. "/close", { timeout = 5 })
assert(gone == nil and gerr.kind == "connect")
assert(closer:wait(5) == true)

-- srv:wait() returns once the server is closed
local waiter = task.spawn(function() return srv:wait() end)
local ok_wait, timeout_err = srv:wait(0.05)
assert(ok_wait == nil and timeout_err.kind == "timeout")

-- srv:close(): then connecting fails
srv:close()
local w_ok, w_res = waiter:wait(5)
assert(w_ok == true and w_res == true, "srv:wait() after close")
local after, cerr = http.get(url .. "/api/health", { timeout = 5 })
assert(after == nil and cerr.kind == "connect", "after close: " .. tostring(after and after.status or cerr))
srv:close() -- twice is fine
print(("http_serve ok: %d concurrent requests in %.2f s"):format(N, took))
