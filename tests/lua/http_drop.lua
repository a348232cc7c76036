-- http: a server that drops an idle kept-alive connection without notice:
-- the next request notices and carries on over a new connection.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")
for _ = 1, 3 do
  local d = assert(http.get(base .. "/drop")):json()
  time.sleep(0.4)   -- the server closes it 100 ms after answering
  local c = assert(http.get(base .. "/conn")):json()
  assert(c.conn ~= d.conn and c.requests == 1, json.encode(c))
  -- this one is kept alive and reused
  local c2 = assert(http.get(base .. "/conn")):json()
  assert(c2.conn == c.conn and c2.requests == 2, json.encode(c2))
end
print("http_drop ok")
