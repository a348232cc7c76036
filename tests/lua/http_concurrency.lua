-- http: 1,000 tasks each doing a GET at once all complete, with the right
-- answers, and the process stays usable afterwards.
local base = assert(env("TEST_HTTP"), "TEST_HTTP not set")
local N = 1000
local tasks = {}
for i = 1, N do
  tasks[i] = task.spawn(function(n)
    local res, err = http.get(base .. "/echo", { query = { i = n }, timeout = 120 })
    if not res then return nil, err end
    return res.status, res:json().query.i
  end, i)
end
local ok_count = 0
for i = 1, N do
  local ok, status, qi = tasks[i]:wait()
  assert(ok, tostring(status))
  assert(status == 200, ("task %d: %s %s"):format(i, tostring(status), tostring(qi)))
  assert(qi == tostring(i), ("task %d got %s"):format(i, tostring(qi)))
  ok_count = ok_count + 1
end
assert(ok_count == N)
local res = assert(http.get(base .. "/stats"))
local stats = res:json()
assert(stats.requests >= N, stats.requests)
print(("http_concurrency ok: %d requests, %d connections"):format(stats.requests, stats.connections))
