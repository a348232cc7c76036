#!/usr/bin/env bash
# 2,000 concurrent requests, one connection each (no per-host cap), succeed
# when the soft open-file limit is 1,024 and the hard one allows more: tocsin
# raises its soft limit to the hard one at start (before, they failed as
# "Couldn't connect to server"), and its children see the raised limit.
. "$SRC/tests/e2e/lib.bash"

hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 4200 ]; then
  fail "the hard open-file limit ($hard) leaves no room above 1,024 to test"
fi
start_testserver

cat >"$WORK/tocsin.lua" <<'LUA'
return { http = { max_per_host = 0 } }
LUA
cat >"$WORK/many.lua" <<'LUA'
local base = env("TEST_HTTP")
local want = env("HARD_LIMIT")
local sh = assert(shell.sh("ulimit -n"))
assert(sh.stdout:match("^%S+") == want,
  ("a child's soft limit is %s, not the hard %s"):format(sh.stdout, want))
local before = assert(http.get(base .. "/stats")):json()
local N = 2000
local ts = {}
for i = 1, N do
  ts[i] = task.spawn(function()
    local res, err = http.get(base .. "/json", { timeout = 120 })
    if not res then return nil, err end
    return res.status
  end)
end
local failed, first = 0, nil
for i = 1, N do
  local ok, status, err = ts[i]:wait()
  if not (ok and status == 200) then
    failed = failed + 1
    first = first or tostring(err or status)
  end
end
assert(failed == 0, ("%d of %d requests failed, first: %s"):format(failed, N, tostring(first)))
local after = assert(http.get(base .. "/stats")):json()
local conns = after.connections - before.connections
-- with no cap every request had its own connection: well past 1,024 descriptors
assert(conns > 1100, ("only %d connections: the soft limit was never reached"):format(conns))
print(("%d requests over %d connections ok"):format(N, conns))
LUA

(ulimit -Sn 1024 && HARD_LIMIT=$hard "$TOCSIN" run "$WORK/many.lua" --config "$WORK/tocsin.lua" --yes) \
  >"$WORK/out" 2>&1 || { tail -20 "$WORK/out"; fail "tocsin run failed under ulimit -Sn 1024"; }
grep -q "2000 requests over" "$WORK/out" || { cat "$WORK/out"; fail "no summary"; }
echo "http_connections_past_soft_fd_limit ok"
