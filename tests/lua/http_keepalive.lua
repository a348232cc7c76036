-- http: connections are reused (keep-alive) across calls and across tasks;
-- observed from the server side through /conn and /stats.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")

local before = assert(http.get(base .. "/stats")):json()
local first = assert(http.get(base .. "/conn")):json()
for _ = 1, 199 do
  local c = assert(http.get(base .. "/conn")):json()
  assert(c.conn == first.conn, ("a new connection: %d then %d"):format(first.conn, c.conn))
end
local last = assert(http.get(base .. "/conn")):json()
assert(last.conn == first.conn and last.requests >= first.requests + 200, json.encode(last))

-- across tasks: 10 tasks in turn, each doing 10 requests, share the connection
for _ = 1, 10 do
  local t = task.spawn(function()
    for _ = 1, 10 do assert(http.get(base .. "/json")) end
  end)
  assert(t:wait())
end
-- 8 tasks at once need at most 8 connections, then reuse them
local ts = {}
for i = 1, 8 do
  ts[i] = task.spawn(function()
    for _ = 1, 20 do assert(http.get(base .. "/json")) end
  end)
end
for i = 1, 8 do assert(ts[i]:wait()) end

local after = assert(http.get(base .. "/stats")):json()
local new_conns = after.connections - before.connections
local reqs = after.requests - before.requests
assert(reqs >= 462, reqs)
assert(new_conns <= 9, ("%d connections for %d requests"):format(new_conns, reqs))
print(("http_keepalive ok: %d requests over %d connections"):format(reqs, new_conns))

