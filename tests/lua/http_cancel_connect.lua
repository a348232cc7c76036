-- Cancelling transfers at every stage (connecting, sending a 100 KB body,
-- waiting) leaves the client working: curl closes a socket that is still
-- connecting without telling us, and its watcher must go with it (libuv
-- aborted on the dead fd before).
local srv = http.serve{ routes = {
  ["GET /slow"] = function() time.sleep(0.05); return { status = 200, body = "s" } end,
  ["POST /echo"] = function(req) return { json = { n = #req.body } } end,
} }
for _ = 1, 3 do
  for _, d in ipairs({ 0, 0.0005, 0.001, 0.003, 0.01, 0.03, 0.06 }) do
    local ts = {}
    for i = 1, 4 do
      ts[i] = task.spawn(function()
        if i % 2 == 0 then return http.post(srv.url .. "/echo", string.rep("x", 100000)) end
        return http.get(srv.url .. "/slow")
      end)
    end
    if d > 0 then time.sleep(d) end
    for i = 1, 4 do ts[i]:cancel() end
    local r, e = http.get(srv.url .. "/slow")
    assert(r and r.status == 200, tostring(e))
  end
end
local r = assert(http.post(srv.url .. "/echo", string.rep("y", 1000)))
assert(r:json().n == 1000)
srv:close()
print("cancel at every stage ok")
